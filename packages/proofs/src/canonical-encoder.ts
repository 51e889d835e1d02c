// The canonical encoder (docs/encoding.md section 1): the data-model checks and
// the bytes in one walk, written for the narrow data model. @ipld/dag-cbor's
// general encoder builds a token list, sorts map entries through encoded
// tokens and copies through several buffers; it was about a tenth of a
// replica's busy time under write load. Its bytes stay the reference: a
// property test compares the two on random values, and the vectors in
// docs/vectors/canonical.json pin both.

import { limits } from './limits';

const U64_MAX = (1n << 64n) - 1n;
const TWO_32 = 0x1_0000_0000;

const textEncoder = new TextEncoder();

/** ES2024's String.prototype.isWellFormed (Node 20, current browsers); a regular expression where it is missing. */
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A string with a lone surrogate would encode to the same bytes as U+FFFD: refuse it, so encoding
 * stays injective. Checked for every string that is encoded or decoded, so without building its
 * UTF-8 bytes.
 */
export function isWellFormedText(text: string): boolean {
  return nativeIsWellFormed !== undefined ? nativeIsWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

/** The rule without the native method, for tests of browsers that lack it. */
export function isWellFormedTextWithoutNative(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** A map's keys in canonical order (length of the UTF-8 bytes first, then bytewise), with those bytes. */
interface MapShape {
  keys: string[];
  encoded: Uint8Array[];
}

/** Shapes by their key list; maps of a few shapes are encoded over and over (headers, requests, leaves). */
const shapes = new Map<string, MapShape>();
const SHAPES_MAX = 512;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** The shape of a map with these keys; throws `outside` for a key the data model forbids. */
function shapeOf(keys: string[]): MapShape {
  // Length-prefixed, so no two key lists share a cache key.
  let id = '';
  for (const k of keys) id += `${k.length}:${k}`;
  const known = shapes.get(id);
  if (known !== undefined) return known;
  // A decoded "__proto__" key is a prototype-pollution trap for any code that copies the map later.
  for (const k of keys) if (k === '__proto__' || !isWellFormedText(k)) throw outside;
  const entries = keys.map((k) => ({ k, b: textEncoder.encode(k) }));
  entries.sort((x, y) => compareBytes(x.b, y.b));
  const shape = { keys: entries.map((e) => e.k), encoded: entries.map((e) => e.b) };
  if (shapes.size >= SHAPES_MAX) shapes.clear();
  shapes.set(id, shape);
  return shape;
}

class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  at = 0;

  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** An initial byte of `major` with the argument `n` (0 <= n < 2^53) in shortest form. */
  head(major: number, n: number): void {
    this.ensure(9);
    const m = major << 5;
    if (n < 24) this.buf[this.at++] = m | n;
    else if (n < 0x100) {
      this.buf[this.at++] = m | 24;
      this.buf[this.at++] = n;
    } else if (n < 0x10000) {
      this.buf[this.at++] = m | 25;
      this.view.setUint16(this.at, n);
      this.at += 2;
    } else if (n < TWO_32) {
      this.buf[this.at++] = m | 26;
      this.view.setUint32(this.at, n);
      this.at += 4;
    } else {
      this.buf[this.at++] = m | 27;
      this.view.setUint32(this.at, Math.floor(n / TWO_32));
      this.view.setUint32(this.at + 4, n % TWO_32);
      this.at += 8;
    }
  }

  /** The same for a bigint argument 0 <= n < 2^64. */
  headBig(major: number, n: bigint): void {
    if (n < 0x20000000000000n) return this.head(major, Number(n));
    this.ensure(9);
    this.buf[this.at++] = (major << 5) | 27;
    this.view.setBigUint64(this.at, n);
    this.at += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  text(s: string): void {
    const n = s.length;
    // ASCII (keys, ids, hex) is one byte per code unit: write it directly; otherwise encodeInto.
    this.ensure(9 + n);
    const start = this.at;
    this.head(3, n);
    const body = this.at;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      this.buf[body + i++] = c;
    }
    if (i === n) {
      this.at = body + n;
      return;
    }
    this.at = start;
    this.ensure(9 + 3 * n);
    const utf8Start = this.at + 9;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(utf8Start));
    this.head(3, written);
    this.buf.copyWithin(this.at, utf8Start, utf8Start + written);
    this.at += written;
  }
}

/** Thrown on the fast path; the slow walk in `describeFailure` then names the path. */
class OutsideDataModel extends Error {}
const outside = new OutsideDataModel();

function encodeValue(w: Writer, value: unknown, depth: number): void {
  if (depth > limits.canonicalDepthMax) throw outside;
  switch (typeof value) {
    case 'boolean':
      w.ensure(1);
      w.buf[w.at++] = value ? 0xf5 : 0xf4;
      return;
    case 'string':
      if (!isWellFormedText(value)) throw outside;
      return w.text(value);
    case 'number':
      if (!Number.isSafeInteger(value) || Object.is(value, -0)) throw outside;
      return value >= 0 ? w.head(0, value) : w.head(1, -1 - value);
    case 'bigint':
      if (value > U64_MAX || value < -U64_MAX - 1n) throw outside;
      return value >= 0n ? w.headBig(0, value) : w.headBig(1, -1n - value);
    case 'object': {
      if (value === null) {
        w.ensure(1);
        w.buf[w.at++] = 0xf6;
        return;
      }
      if (value instanceof Uint8Array) {
        w.head(2, value.length);
        return w.bytes(value);
      }
      if (Array.isArray(value)) {
        w.head(4, value.length);
        for (let i = 0; i < value.length; i++) encodeValue(w, value[i], depth + 1);
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) throw outside;
      const record = value as Record<string, unknown>;
      const shape = shapeOf(Object.keys(record));
      w.head(5, shape.keys.length);
      for (let i = 0; i < shape.keys.length; i++) {
        const key = shape.keys[i] as string;
        const k = shape.encoded[i] as Uint8Array;
        w.head(3, k.length);
        w.bytes(k);
        encodeValue(w, record[key], depth + 1);
      }
      return;
    }
  }
  throw outside;
}

/** The first value outside the data model, by its path: the error message of a failed encode. */
function describeFailure(value: unknown, path: string, depth: number): string | undefined {
  if (depth > limits.canonicalDepthMax) return `${path} is nested deeper than ${limits.canonicalDepthMax}`;
  if (value === null || typeof value === 'boolean' || value instanceof Uint8Array) return undefined;
  if (typeof value === 'string') return isWellFormedText(value) ? undefined : `${path} has a lone surrogate`;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return `${path} is not a safe integer (floats are not encodable)`;
    return Object.is(value, -0) ? `${path} is -0` : undefined;
  }
  if (typeof value === 'bigint') return value > U64_MAX || value < -U64_MAX - 1n ? `${path} does not fit in 64 bits` : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = describeFailure(value[i], `${path}[${i}]`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (key === '__proto__' || !isWellFormedText(key)) return `${path} has a forbidden key`;
      if (item === undefined) return `${path}.${key} is undefined`;
      const found = describeFailure(item, `${path}.${key}`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return `${path} has an unencodable type (${typeof value})`;
}

/** One writer reused across calls (encoding never yields); a call made while it is in use gets its own. */
let shared: Writer | undefined = new Writer();
const SHARED_BYTES_MAX = 1 << 20;

/** Encodes a value of the data model; throws TypeError naming the path of the first value outside it. */
export function encodeCanonicalBytes(value: unknown): Uint8Array {
  const w = shared ?? new Writer();
  shared = undefined;
  try {
    w.at = 0;
    encodeValue(w, value, 0);
    return w.buf.slice(0, w.at);
  } catch (error) {
    if (error !== outside) throw error;
    throw new TypeError(`canonical: ${describeFailure(value, '$', 0) ?? '$ is outside the data model'}`);
  } finally {
    // A writer grown by one large value is not kept.
    if (w.buf.length <= SHARED_BYTES_MAX) shared = w;
  }
}
