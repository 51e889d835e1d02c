// The two DER values the PKCS#11 keystore exchanges with a token for Ed25519
// (PKCS#11 3.0 section 2.3.5, "Edwards Elliptic curve"; RFC 8410 section 3):
//   CKA_EC_PARAMS  the curve, as the DER OBJECT IDENTIFIER 1.3.101.112 (id-Ed25519)
//   CKA_EC_POINT   the public key, as a DER OCTET STRING of the 32-byte RFC 8032 encoding
// A token may name the curve instead (PKCS#11 3.0: CKA_EC_PARAMS of an Edwards
// key is an OID or a PrintableString curve name); SoftHSM2 2.6 answers the
// private key's CKA_EC_PARAMS with PrintableString "edwards25519" although it was
// generated from the OID. Both exact byte strings are read as Ed25519.
// Nothing else is accepted: a token that answers in another shape (raw 32 bytes,
// a long-form length, Ed448) is refused, not guessed at.

import { equalBytes } from '@vcr/proofs';

/** DER OBJECT IDENTIFIER 1.3.101.112: tag 06, length 03, then 43·40+1 = 0x2b, 101 = 0x65, 112 = 0x70. */
export const ED25519_EC_PARAMS_DER: Uint8Array = Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x70);

/** DER PrintableString "edwards25519": tag 13, length 0c. */
export const ED25519_CURVE_NAME_DER: Uint8Array = Uint8Array.of(0x13, 0x0c, ...new TextEncoder().encode('edwards25519'));

const OCTET_STRING_TAG = 0x04;
const ED25519_PUBLIC_KEY_BYTES = 32;

/** True if `params` is exactly the DER OID of Ed25519, or exactly its DER curve name. */
export function isEd25519EcParams(params: Uint8Array): boolean {
  return equalBytes(params, ED25519_EC_PARAMS_DER) || equalBytes(params, ED25519_CURVE_NAME_DER);
}

/** `04 20` followed by the 32-byte public key. */
export function encodeEd25519EcPoint(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new RangeError(`an Ed25519 public key is 32 bytes, got ${publicKey.length}`);
  const out = new Uint8Array(2 + ED25519_PUBLIC_KEY_BYTES);
  out[0] = OCTET_STRING_TAG;
  out[1] = ED25519_PUBLIC_KEY_BYTES;
  out.set(publicKey, 2);
  return out;
}

export type EcPointDecoding = { ok: true; publicKey: Uint8Array } | { ok: false; reason: 'bad-length' | 'not-octet-string' | 'bad-der-length' };

/**
 * The 32-byte public key inside a CKA_EC_POINT value, strictly: exactly 34
 * bytes, tag 04, short-form length 32. A copy, so the caller may keep it.
 */
export function decodeEd25519EcPoint(untrustedValue: Uint8Array): EcPointDecoding {
  if (untrustedValue.length !== 2 + ED25519_PUBLIC_KEY_BYTES) return { ok: false, reason: 'bad-length' };
  if (untrustedValue[0] !== OCTET_STRING_TAG) return { ok: false, reason: 'not-octet-string' };
  if (untrustedValue[1] !== ED25519_PUBLIC_KEY_BYTES) return { ok: false, reason: 'bad-der-length' };
  return { ok: true, publicKey: Uint8Array.from(untrustedValue.subarray(2)) };
}
