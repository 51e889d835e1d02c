// Reads untrusted bytes into a value of the data model (docs/encoding.md
// section 1.2): definite lengths, major types 0 to 5, and only false, true
// and null of major type 7. Every length is checked against the bytes left
// before anything is allocated, and nesting is bounded, so a liar's sizes
// cost nothing. It does not judge canonical form (shortest arguments, key
// order, duplicate keys): decodeCanonical re-encodes what this returns and
// accepts only the same bytes. Written for the narrow data model instead of
// @ipld/dag-cbor's token decoder, which was a visible share of a replica's
// busy time under write load; random and mutated inputs are compared with it
// in canonical.test.ts.

import { limits } from './limits';

export type RawDecodeResult = { ok: true; value: unknown } | { ok: false; reason: 'malformed' | 'outside-data-model' };

class Refused extends Error {
  constructor(readonly reason: 'malformed' | 'outside-data-model') {
    super(reason);
  }
}
const malformed = new Refused('malformed');
const outside = new Refused('outside-data-model');

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

class Reader {
  at = 0;
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get left(): number {
    return this.bytes.length - this.at;
  }

  need(n: number): void {
    if (n > this.left) throw malformed;
  }

  /** The argument of an initial byte's additional information: a number when safe, else a bigint. */
  argument(info: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.need(1);
        return this.bytes[this.at++] as number;
      case 25: {
        this.need(2);
        const v = this.view.getUint16(this.at);
        this.at += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.view.getUint32(this.at);
        this.at += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getBigUint64(this.at);
        this.at += 8;
        return v <= MAX_SAFE ? Number(v) : v;
      }
      default:
        // 28 to 30 are reserved; 31 is an indefinite length.
        throw malformed;
    }
  }

  /** A length: at most the bytes left times `perItem` items, each at least one byte. */
  length(info: number, bytesPerItem: number): number {
    const n = this.argument(info);
    if (typeof n === 'bigint' || n * bytesPerItem > this.left) throw malformed;
    return n;
  }
}

/** Map keys and short ids are ASCII, read here without a TextDecoder call (which costs more for them). */
const SHORT_TEXT = 16;

function shortAscii(bytes: Uint8Array, at: number, n: number): string | undefined {
  let text = '';
  for (let i = at; i < at + n; i++) {
    const b = bytes[i] as number;
    if (b > 0x7f) return undefined;
    text += String.fromCharCode(b);
  }
  return text;
}

function item(r: Reader, depth: number): unknown {
  if (depth > limits.canonicalDepthMax) throw outside;
  r.need(1);
  const initial = r.bytes[r.at++] as number;
  const major = initial >> 5;
  const info = initial & 31;
  switch (major) {
    case 0:
      return r.argument(info);
    case 1: {
      const n = r.argument(info);
      return typeof n === 'number' && n < Number.MAX_SAFE_INTEGER ? -1 - n : -1n - BigInt(n);
    }
    case 2: {
      const n = r.length(info, 1);
      const out = r.bytes.slice(r.at, r.at + n);
      r.at += n;
      return out;
    }
    case 3: {
      const n = r.length(info, 1);
      const text = n <= SHORT_TEXT ? shortAscii(r.bytes, r.at, n) : undefined;
      if (text !== undefined) {
        r.at += n;
        return text;
      }
      try {
        const decoded = utf8.decode(r.bytes.subarray(r.at, r.at + n));
        r.at += n;
        return decoded;
      } catch {
        throw malformed;
      }
    }
    case 4: {
      const n = r.length(info, 1);
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = item(r, depth + 1);
      return out;
    }
    case 5: {
      const n = r.length(info, 2);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        r.need(1);
        if ((r.bytes[r.at] as number) >> 5 !== 3) throw outside;
        const key = item(r, depth + 1) as string;
        // Assigning "__proto__" would set the prototype; the data model forbids the key anyway.
        if (key === '__proto__') throw outside;
        out[key] = item(r, depth + 1);
      }
      return out;
    }
    case 6:
      throw outside;
    default:
      if (initial === 0xf4) return false;
      if (initial === 0xf5) return true;
      if (initial === 0xf6) return null;
      // Floats, undefined, other simple values, and the break byte of indefinite lengths.
      throw initial === 0xff ? malformed : outside;
  }
}

/** One data item filling `bytes` exactly, in the data model; canonical form is judged by the caller. */
export function decodeRaw(bytes: Uint8Array): RawDecodeResult {
  const r = new Reader(bytes);
  try {
    const value = item(r, 0);
    if (r.left !== 0) return { ok: false, reason: 'malformed' };
    return { ok: true, value };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.reason };
    throw error;
  }
}
