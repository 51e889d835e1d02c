// The one Ed25519 verification rule of this project ("strict, cofactorless"):
//   1. signature is 64 bytes, public key 32 bytes;
//   2. S < L (RFC 8032 5.1.7 step 1; rejects the S + L malleability);
//   3. A and R are canonical encodings: y < p, and not x = 0 with the sign bit set;
//   4. A is not one of the 8 small-order points (a key that "signs" anything);
//   5. the cofactorless equation [S]B = R + [k]A holds, compared on encodings.
// OpenSSL (node:crypto) implements 5 but differs from noble's strict branch
// (cofactored) on R or A with a torsion component; running 1-4 here and 5 in
// both backends makes every implementation agree bit for bit.
// (ZIP-215 would accept more; we chose RFC 8032 strictness, see docs/encoding.md.)

import { type CryptoBackend } from './crypto-backend';
import { bytesToHex } from './bytes';

/** L = 2^252 + 27742317777372353535851937790883648493, the prime group order. */
export const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;
/** p = 2^255 - 19, the field prime. */
export const ED25519_P = (1n << 255n) - 19n;

/** Little-endian bytes as an unsigned integer (Ed25519 encodes scalars and field elements this way). */
export function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/**
 * The canonical encodings of the eight points of order dividing 8. With
 * non-canonical encodings refused by rule 3, these are the only encodings of
 * small-order points (tested against noble's isSmallOrder).
 */
export const SMALL_ORDER_ENCODINGS: ReadonlySet<string> = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
]);

export type Ed25519Rejection =
  | 'bad-signature-length'
  | 'bad-public-key-length'
  | 'non-canonical-s'
  | 'non-canonical-public-key'
  | 'non-canonical-r'
  | 'small-order-public-key'
  | 'equation-failed';

/** L and p - 1 as 32 little-endian bytes, for comparisons without big integers (the hot path checks every signature). */
const L_BYTES = bigintToLe32(ED25519_L);
const P_MINUS_1_BYTES = bigintToLe32(ED25519_P - 1n);

function bigintToLe32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Compares two 32-byte little-endian integers, the top byte of `a` masked by `topMask`: -1, 0 or 1. */
function compareLe32(a: Uint8Array, b: Uint8Array, topMask = 0xff): number {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 ? (a[i] as number) & topMask : (a[i] as number);
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** y (the low 255 bits) below p, and no sign bit on x = 0 (y = 1 or y = p - 1). */
function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  const signBit = (bytes[31] as number) >> 7;
  // y >= p is y in [p, 2^255): with p = 2^255 - 19, the same as y > p - 1.
  const vsPMinus1 = compareLe32(bytes, P_MINUS_1_BYTES, 0x7f);
  if (vsPMinus1 > 0) return false;
  if (signBit === 1 && (vsPMinus1 === 0 || isYOne(bytes))) return false;
  return true;
}

function isYOne(bytes: Uint8Array): boolean {
  if (bytes[0] !== 1 || ((bytes[31] as number) & 0x7f) !== 0) return false;
  for (let i = 1; i < 31; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Rules 1 to 4; cheap byte arithmetic, no curve operations. */
export function checkEd25519Encodings(signature: Uint8Array, publicKey: Uint8Array): Ed25519Rejection | undefined {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return 'bad-signature-length';
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return 'bad-public-key-length';
  if (compareLe32(signature.subarray(32, 64), L_BYTES) >= 0) return 'non-canonical-s';
  if (!isCanonicalPointEncoding(publicKey)) return 'non-canonical-public-key';
  if (!isCanonicalPointEncoding(signature.subarray(0, 32))) return 'non-canonical-r';
  if (SMALL_ORDER_ENCODINGS.has(bytesToHex(publicKey))) return 'small-order-public-key';
  return undefined;
}

/** The full rule; the answer is the same whichever backend is used. */
export function checkEd25519(
  backend: CryptoBackend,
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): Ed25519Rejection | undefined {
  const rejection = checkEd25519Encodings(signature, publicKey);
  if (rejection !== undefined) return rejection;
  return backend.ed25519VerifyPrechecked(signature, message, publicKey) ? undefined : 'equation-failed';
}

export function verifyEd25519(backend: CryptoBackend, signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return checkEd25519(backend, signature, message, publicKey) === undefined;
}
