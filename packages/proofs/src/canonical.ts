// The one canonical encoding of everything hashed or signed: deterministic
// CBOR in the DAG-CBOR profile (RFC 8949 with shortest-form integers, map keys
// sorted length-first then bytewise, no indefinite lengths, no tags, no
// undefined), narrowed further to an integer-only data model:
//   null | boolean | integer | string | bytes | array | map with string keys.
// Integers are bigint, or JS numbers that are safe integers (the same value
// encodes the same either way). Floats are refused: they have no place in
// anything signed. Spec and vectors: docs/encoding.md, docs/vectors/canonical.json.

import * as dagCbor from '@ipld/dag-cbor';
import { limits } from './limits';

export type CanonicalValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | Uint8Array
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

const U64_MAX = (1n << 64n) - 1n;

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

function check(value: unknown, path: string, depth: number): void {
  if (depth > limits.canonicalDepthMax) throw new TypeError(`canonical: nesting deeper than ${limits.canonicalDepthMax} at ${path}`);
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (!isWellFormedText(value)) throw new TypeError(`canonical: ${path} has a lone surrogate`);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical: ${path} is not a safe integer (floats are not encodable)`);
    if (Object.is(value, -0)) throw new TypeError(`canonical: ${path} is -0`);
    return;
  }
  if (typeof value === 'bigint') {
    if (value > U64_MAX || value < -U64_MAX - 1n) throw new TypeError(`canonical: ${path} does not fit in 64 bits`);
    return;
  }
  if (value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => check(item, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      // A decoded "__proto__" key is a prototype-pollution trap for any code that copies the map later.
      if (key === '__proto__' || !isWellFormedText(key)) throw new TypeError(`canonical: ${path} has a forbidden key`);
      if (item === undefined) throw new TypeError(`canonical: ${path}.${key} is undefined`);
      check(item, `${path}.${key}`, depth + 1);
    }
    return;
  }
  throw new TypeError(`canonical: ${path} has an unencodable type (${typeof value})`);
}

/** Encodes a trusted, well-typed value. Throws TypeError on values outside the data model (a bug). */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  check(value, '$', 0);
  return dagCbor.encode(value);
}

export type DecodeCanonicalResult =
  | { ok: true; value: CanonicalValue }
  | { ok: false; reason: 'too-large' | 'malformed' | 'non-canonical' | 'outside-data-model' };

/**
 * Decodes untrusted bytes. Accepts exactly the bytes `encodeCanonical` would
 * produce for the decoded value, so each value has one encoding.
 */
export function decodeCanonical(untrustedBytes: Uint8Array): DecodeCanonicalResult {
  if (!(untrustedBytes instanceof Uint8Array) || untrustedBytes.length > limits.canonicalBytesMax) return { ok: false, reason: 'too-large' };
  let value: unknown;
  try {
    value = dagCbor.decode(untrustedBytes);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  try {
    check(value, '$', 0);
  } catch {
    return { ok: false, reason: 'outside-data-model' };
  }
  const again = dagCbor.encode(value);
  if (again.length !== untrustedBytes.length || !again.every((b, i) => b === untrustedBytes[i])) return { ok: false, reason: 'non-canonical' };
  return { ok: true, value: value as CanonicalValue };
}
