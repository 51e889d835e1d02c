// Byte helpers shared by every module. Validators check and return, in the
// style of noble's `abytes`, so call sites stay one line.

export type Bytes = Uint8Array;

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Lexicographic byte order: negative when a < b. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const HEX = '0123456789abcdef';

/** The two hex digits of each byte value: one lookup per byte instead of two and a concatenation. */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) => HEX[b >> 4]! + HEX[b & 15]!);

export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_PAIRS[bytes[i] as number];
  return out;
}

/** The value of each hex digit by char code below 128, -1 for every other code: lowercase digits only, or both cases. */
function hexTable(upperToo: boolean): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let d = 0; d < 16; d++) {
    table[HEX.charCodeAt(d)] = d;
    if (upperToo) table[HEX.toUpperCase().charCodeAt(d)] = d;
  }
  return table;
}

const HEX_VALUES = hexTable(true);
const LOWERCASE_HEX_VALUES = hexTable(false);

/**
 * A table lookup per digit: a verified read decodes some forty hashes and
 * signatures, and parseInt on a slice per byte was a tenth of the SDK's time for one.
 */
function decodeHex(hex: string, table: Int8Array): Uint8Array | undefined {
  if (typeof hex !== 'string' || hex.length % 2 !== 0) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const highCode = hex.charCodeAt(2 * i);
    const lowCode = hex.charCodeAt(2 * i + 1);
    const high = highCode < 128 ? (table[highCode] as number) : -1;
    const low = lowCode < 128 ? (table[lowCode] as number) : -1;
    if (high < 0 || low < 0) return undefined;
    out[i] = (high << 4) | low;
  }
  return out;
}

/** Strict lowercase-or-uppercase hex, even length; returns undefined on anything else. */
export function tryHexToBytes(hex: string): Uint8Array | undefined {
  return decodeHex(hex, HEX_VALUES);
}

/** Strict lowercase hex (the wire form, wire.ts), even length; returns undefined on anything else. */
export function tryLowercaseHexToBytes(hex: string): Uint8Array | undefined {
  return decodeHex(hex, LOWERCASE_HEX_VALUES);
}

export function hexToBytes(hex: string): Uint8Array {
  const out = tryHexToBytes(hex);
  if (out === undefined) throw new TypeError('invalid hex string');
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = i + 1 < bytes.length ? (bytes[i + 1] as number) : 0;
    const c = i + 2 < bytes.length ? (bytes[i + 2] as number) : 0;
    const n = (a << 16) | (b << 8) | c;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? B64[n & 63]! : '=';
  }
  return out;
}

/** Strict, padded standard base64; returns undefined on anything non-canonical. */
export function tryBase64ToBytes(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const ch = text[i + j]!;
      n = (n << 6) | (ch === '=' ? 0 : B64.indexOf(ch));
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  // Reject non-zero padding bits so every byte string has exactly one encoding.
  if (bytesToBase64(out) !== text) return undefined;
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function tryUtf8Decode(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function u64be(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 64n) throw new RangeError('u64 out of range');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, false);
  return out;
}

/** Checks that a value is a Uint8Array of the given length and returns it. */
export function abytes(value: unknown, length?: number, what = 'bytes'): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what}: expected Uint8Array`);
  if (length !== undefined && value.length !== length) throw new TypeError(`${what}: expected ${length} bytes, got ${value.length}`);
  return value;
}
