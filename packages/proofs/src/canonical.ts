// The one canonical encoding of everything hashed or signed: deterministic
// CBOR in the DAG-CBOR profile (RFC 8949 with shortest-form integers, map keys
// sorted length-first then bytewise, no indefinite lengths, no tags, no
// undefined), narrowed further to an integer-only data model:
//   null | boolean | integer | string | bytes | array | map with string keys.
// Integers are bigint, or JS numbers that are safe integers (the same value
// encodes the same either way). Floats are refused: they have no place in
// anything signed. Spec and vectors: docs/encoding.md, docs/vectors/canonical.json.
// The bytes are written by canonical-encoder.ts and read by canonical-decoder.ts,
// both checked against @ipld/dag-cbor, the reference, in canonical.test.ts.

import { decodeRaw } from './canonical-decoder';
import { encodeCanonicalBytes } from './canonical-encoder';
import { limits } from './limits';

export { isWellFormedText, isWellFormedTextWithoutNative } from './canonical-encoder';

export type CanonicalValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | Uint8Array
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

/** Encodes a trusted, well-typed value. Throws TypeError on values outside the data model (a bug). */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  return encodeCanonicalBytes(value);
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
  const decoded = decodeRaw(untrustedBytes);
  if (!decoded.ok) return decoded;
  const value = decoded.value;
  let again: Uint8Array;
  try {
    again = encodeCanonicalBytes(value);
  } catch {
    return { ok: false, reason: 'outside-data-model' };
  }
  if (again.length !== untrustedBytes.length || !again.every((b, i) => b === untrustedBytes[i])) return { ok: false, reason: 'non-canonical' };
  return { ok: true, value: value as CanonicalValue };
}
