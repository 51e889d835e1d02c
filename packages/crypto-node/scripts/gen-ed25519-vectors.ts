// Writes docs/vectors/ed25519.json: the Ed25519 vectors every backend and
// every second implementation must judge exactly as the project's rule does
// (packages/proofs/src/ed25519-rule.ts: strict encodings, no small-order
// keys, cofactorless equation).
//
// Run from the repository root:
//   npx tsx packages/crypto-node/scripts/gen-ed25519-vectors.ts
//
// Output is deterministic (every "random" scalar is derived from a label), so
// running it again must leave the file unchanged. The generator checks itself
// and throws instead of writing when anything disagrees:
//   - RFC 8032 vectors are re-derived with noble (public key and signature);
//   - every vector carries the verdict we intend, and the rule's verdict
//     (checkEd25519 with nobleBackend) must equal it;
//   - constructed cases also assert the property they were built for (for
//     example "the cofactored equation holds but the cofactorless does not").
// Tests that consume the file: packages/crypto-node/src/node-backend.test.ts.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import {
  bytesToHex,
  checkEd25519,
  concatBytes,
  ED25519_L,
  ED25519_P,
  type Ed25519Rejection,
  equalBytes,
  hexToBytes,
  nobleBackend,
  utf8,
} from '@vcr/proofs';

ed.hashes.sha512 = sha512;

type Expect = 'accept' | Ed25519Rejection;

interface Vector {
  name: string;
  publicKey: string;
  message: string;
  signature: string;
  expect: Expect;
  source: string;
  comment: string;
}

const Point = ed.Point;
type Point = ed.Point;
const B = Point.BASE;
const L = ED25519_L;

function fail(message: string): never {
  throw new Error(`gen-ed25519-vectors: ${message}`);
}

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

function le32(n: bigint): Uint8Array {
  if (n < 0n || n >= 1n << 256n) fail(`le32 out of range: ${n}`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A reproducible scalar in [1, L) for a label, so reruns write the same file. */
function labelScalar(label: string): bigint {
  const n = leToBigint(sha512(utf8(`vcr/ed25519-vectors/${label}`))) % L;
  return n === 0n ? 1n : n;
}

/** k = SHA-512(R || A || M) mod L, on the exact bytes given (RFC 8032 5.1.7 step 2). */
function challenge(rBytes: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return leToBigint(sha512(concatBytes(rBytes, publicKey, message))) % L;
}

function mul(point: Point, scalar: bigint): Point {
  const n = ((scalar % L) + L) % L;
  return point.multiply(n, false);
}

/** The cofactorless equation [S]B = R + [k]A, on decoded points (the rule's step 5 without the encoding checks). */
function cofactorlessHolds(rBytes: Uint8Array, s: bigint, publicKey: Uint8Array, message: Uint8Array): boolean {
  const k = challenge(rBytes, publicKey, message);
  const A = Point.fromBytes(publicKey, true);
  return equalBytes(mul(B, s).subtract(mul(A, k)).toBytes(), rBytes);
}

/** The cofactored equation [8][S]B = [8]R + [8][k]A, which noble's verify uses in both modes. */
function cofactoredHolds(rBytes: Uint8Array, s: bigint, publicKey: Uint8Array, message: Uint8Array): boolean {
  const k = challenge(rBytes, publicKey, message);
  const A = Point.fromBytes(publicKey, true);
  const R = Point.fromBytes(rBytes, true);
  return R.add(mul(A, k)).subtract(mul(B, s)).clearCofactor().is0();
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

function signature(rBytes: Uint8Array, s: bigint): Uint8Array {
  return concatBytes(rBytes, le32(s));
}

// ---------------------------------------------------------------------------
// The torsion subgroup, derived here from first principles (not copied from the
// rule's table, which the tests compare against it): [L]P for a point P of full
// order 8L is a generator of the 8 points of order dividing 8.

function torsionGenerator(): Point {
  for (let y = 2n; y < 1000n; y++) {
    let P: Point;
    try {
      P = Point.fromBytes(le32(y));
    } catch {
      continue;
    }
    const T = P.multiply(L - 1n, false).add(P); // [L]P, written so the scalar stays below L
    if (!T.clearCofactor().is0()) fail('[L]P is not in the torsion subgroup');
    if (!T.double().double().is0()) return T; // order exactly 8
  }
  return fail('no torsion generator found');
}

const T8 = torsionGenerator();
const TORSION: Point[] = [];
{
  let acc = Point.ZERO;
  for (let i = 0; i < 8; i++) {
    TORSION.push(acc);
    acc = acc.add(T8);
  }
  if (!acc.is0()) fail('T8 does not have order 8');
}

function orderOf(T: Point): number {
  let acc = T;
  for (let n = 1; n <= 8; n++) {
    if (acc.is0()) return n;
    acc = acc.add(T);
  }
  return fail('torsion point of order above 8');
}

// ---------------------------------------------------------------------------
// RFC 8032 section 7.1 (Ed25519), typed from the RFC; each is re-derived below.

interface RfcCase {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}

const TEST_1024_MESSAGE =
  '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0';

const RFC_8032: RfcCase[] = [
  {
    name: 'TEST 1',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST 1024',
    secretKey: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message: TEST_1024_MESSAGE,
    signature:
      '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
  {
    name: 'TEST SHA(abc)',
    secretKey: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

// ---------------------------------------------------------------------------

const vectors: Vector[] = [];

function add(
  name: string,
  fields: { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array },
  expect: Expect,
  source: string,
  comment: string,
): void {
  if (vectors.some((v) => v.name === name)) fail(`duplicate vector name ${name}`);
  const verdict = checkEd25519(nobleBackend, fields.signature, fields.message, fields.publicKey) ?? 'accept';
  if (verdict !== expect) fail(`${name}: intended ${expect}, but the rule says ${verdict}`);
  vectors.push({
    name,
    publicKey: bytesToHex(fields.publicKey),
    message: bytesToHex(fields.message),
    signature: bytesToHex(fields.signature),
    expect,
    source,
    comment,
  });
}

for (const c of RFC_8032) {
  const secretKey = hexToBytes(c.secretKey);
  const publicKey = hexToBytes(c.publicKey);
  const message = hexToBytes(c.message);
  const sig = hexToBytes(c.signature);
  if (!equalBytes(ed.getPublicKey(secretKey), publicKey)) fail(`RFC 8032 ${c.name}: public key mistyped`);
  if (!equalBytes(ed.sign(message, secretKey), sig)) fail(`RFC 8032 ${c.name}: signature or message mistyped`);
  if (c.name === 'TEST 1024' && message.length !== 1023) fail('RFC 8032 TEST 1024: message is not 1023 bytes');
  if (c.name === 'TEST SHA(abc)' && !equalBytes(message, sha512(utf8('abc')))) fail('RFC 8032 TEST SHA(abc): message is not SHA-512("abc")');
  const slug = c.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/-$/, '');
  add(`rfc8032-${slug}`, { publicKey, message, signature: sig }, 'accept', `RFC 8032 section 7.1 ${c.name}`, 'Published vector; re-signed with noble from the secret key.');
}

// One ordinary key pair for the constructed cases.
const seed = sha256(utf8('vcr/ed25519-vectors/key-1'));
const { scalar: a, point: A, pointBytes: pub } = ed.utils.getExtendedPublicKey(seed);
const message = utf8('vcr ed25519 edge cases');
const goodSig = ed.sign(message, seed);
const goodR = goodSig.slice(0, 32);
const goodS = leToBigint(goodSig.subarray(32));
const CONSTRUCTED = 'constructed with the noble Point API (gen-ed25519-vectors.ts)';

/** A signature by the key scalar `secret` on bytes `publicKeyBytes` with nonce scalar r and an arbitrary R point. */
function signWith(secret: bigint, publicKeyBytes: Uint8Array, rBytes: Uint8Array, r: bigint, msg: Uint8Array): Uint8Array {
  const k = challenge(rBytes, publicKeyBytes, msg);
  return signature(rBytes, (r + k * secret) % L);
}

add('valid', { publicKey: pub, message, signature: goodSig }, 'accept', CONSTRUCTED, 'An ordinary signature (noble sign) of a 22-byte message.');
add(
  'zero-length-message',
  { publicKey: pub, message: new Uint8Array(0), signature: ed.sign(new Uint8Array(0), seed) },
  'accept',
  CONSTRUCTED,
  'An ordinary signature of the empty message.',
);
add(
  'zero-length-message-wrong-signature',
  { publicKey: pub, message: new Uint8Array(0), signature: goodSig },
  'equation-failed',
  CONSTRUCTED,
  'The empty message with the signature of a non-empty one.',
);
{
  const other = flipBit(message, message.length * 8 - 8);
  add('wrong-message', { publicKey: pub, message: other, signature: goodSig }, 'equation-failed', CONSTRUCTED, 'The last message byte changed by one bit.');
  add(
    'message-with-extra-byte',
    { publicKey: pub, message: concatBytes(message, Uint8Array.of(0)), signature: goodSig },
    'equation-failed',
    CONSTRUCTED,
    'A zero byte appended to the signed message.',
  );
}

add('flipped-bit-r-low', { publicKey: pub, message, signature: flipBit(goodSig, 0) }, 'equation-failed', CONSTRUCTED, 'Bit 0 of R flipped.');
add('flipped-bit-r-sign', { publicKey: pub, message, signature: flipBit(goodSig, 255) }, 'equation-failed', CONSTRUCTED, 'The sign bit of R flipped: -R instead of R.');
add('flipped-bit-s-low', { publicKey: pub, message, signature: flipBit(goodSig, 256) }, 'equation-failed', CONSTRUCTED, 'Bit 0 of S flipped (S stays below L).');
add('flipped-bit-s-top', { publicKey: pub, message, signature: flipBit(goodSig, 511) }, 'non-canonical-s', CONSTRUCTED, 'Bit 255 of S set: S >= 2^255 > L.');
add('flipped-bit-public-key', { publicKey: flipBit(pub, 3), message, signature: goodSig }, 'equation-failed', CONSTRUCTED, 'Bit 3 of the public key flipped.');

// S malleability (RFC 8032 5.1.7 step 1 requires 0 <= S < L).
add(
  'non-canonical-s-plus-l',
  { publicKey: pub, message, signature: signature(goodR, goodS + L) },
  'non-canonical-s',
  CONSTRUCTED,
  'The valid signature with S replaced by S + L: the same equation holds mod L, so a verifier without the S < L check accepts a second signature.',
);
add('s-equals-l', { publicKey: pub, message, signature: signature(goodR, L) }, 'non-canonical-s', CONSTRUCTED, 'S = L exactly, the smallest non-canonical S.');
add('s-all-ones', { publicKey: pub, message, signature: signature(goodR, (1n << 256n) - 1n) }, 'non-canonical-s', CONSTRUCTED, 'S = 2^256 - 1.');
{
  const s = goodS + 8n * L; // still below 2^256
  if (s >= 1n << 256n) fail('S + 8L does not fit');
  add('non-canonical-s-plus-8l', { publicKey: pub, message, signature: signature(goodR, s) }, 'non-canonical-s', CONSTRUCTED, 'S + 8L: still fits in 256 bits.');
}

// Lengths.
add('signature-63-bytes', { publicKey: pub, message, signature: goodSig.slice(0, 63) }, 'bad-signature-length', CONSTRUCTED, 'The valid signature truncated by one byte.');
add('signature-65-bytes', { publicKey: pub, message, signature: concatBytes(goodSig, Uint8Array.of(0)) }, 'bad-signature-length', CONSTRUCTED, 'The valid signature with a zero byte appended.');
add('signature-empty', { publicKey: pub, message, signature: new Uint8Array(0) }, 'bad-signature-length', CONSTRUCTED, 'No signature bytes.');
add('public-key-31-bytes', { publicKey: pub.slice(0, 31), message, signature: goodSig }, 'bad-public-key-length', CONSTRUCTED, 'The public key truncated by one byte.');
add('public-key-33-bytes', { publicKey: concatBytes(pub, Uint8Array.of(0)), message, signature: goodSig }, 'bad-public-key-length', CONSTRUCTED, 'The public key with a zero byte appended.');
add(
  'both-lengths-wrong',
  { publicKey: pub.slice(0, 31), message, signature: goodSig.slice(0, 63) },
  'bad-signature-length',
  CONSTRUCTED,
  'Precedence: the signature length is checked first.',
);

// Non-canonical public keys. A "forgery" (R, S) = ([S]B, S) satisfies the
// cofactorless equation for any key whose point kills k: for the identity, for
// every k. A verifier that reduces y mod p (OpenSSL) accepts these.
function forgeForTorsionKey(label: string, keyBytes: Uint8Array, keyPoint: Point, msg: Uint8Array): Uint8Array {
  for (let i = 0; i < 1000; i++) {
    const s = labelScalar(`${label}/${i}`);
    const rBytes = mul(B, s).toBytes();
    const k = challenge(rBytes, keyBytes, msg);
    if (mul(keyPoint, k).is0()) {
      const sig = signature(rBytes, s);
      if (!cofactorlessHolds(rBytes, s, keyBytes, msg)) fail(`${label}: forged signature does not satisfy the equation`);
      return sig;
    }
  }
  return fail(`${label}: no forgery found`);
}

const identityPlusP = le32(1n + ED25519_P); // y = p + 1 reduces to y = 1: the identity
add(
  'non-canonical-public-key-identity-y-plus-p',
  { publicKey: identityPlusP, message, signature: forgeForTorsionKey('pk-y-plus-p', identityPlusP, Point.ZERO, message) },
  'non-canonical-public-key',
  CONSTRUCTED,
  'A = y=p+1 (2^255-18), a non-canonical encoding of the identity; with R = [S]B the equation holds for every message, so a verifier that reduces y mod p accepts this forgery.',
);
const identitySignBit = hexToBytes('0100000000000000000000000000000000000000000000000000000000000080');
add(
  'non-canonical-public-key-identity-sign-bit',
  { publicKey: identitySignBit, message, signature: forgeForTorsionKey('pk-identity-sign-bit', identitySignBit, Point.ZERO, message) },
  'non-canonical-public-key',
  CONSTRUCTED,
  'A = identity with the sign bit set (x = 0 is "negative zero"); the same universal forgery as above.',
);
{
  const minusOne = TORSION.find((T) => orderOf(T) === 2) ?? fail('no point of order 2');
  const minusOneSignBit = minusOne.toBytes();
  minusOneSignBit[31] = (minusOneSignBit[31] as number) | 0x80;
  add(
    'non-canonical-public-key-order-2-sign-bit',
    { publicKey: minusOneSignBit, message, signature: forgeForTorsionKey('pk-minus-one-sign-bit', minusOneSignBit, minusOne, message) },
    'non-canonical-public-key',
    CONSTRUCTED,
    'A = (0, -1) with the sign bit set; signature chosen so [k]A is the identity.',
  );
}
add(
  'non-canonical-public-key-y-equals-p',
  { publicKey: le32(ED25519_P), message, signature: goodSig },
  'non-canonical-public-key',
  CONSTRUCTED,
  'A with y = p, which reduces to y = 0 (a point of order 4).',
);
{
  // y + p for the smallest y >= 2 that is on the curve: a non-canonical encoding of a point of large order.
  let y = 2n;
  while (y < 19n) {
    try {
      Point.fromBytes(le32(y));
      break;
    } catch {
      y++;
    }
  }
  if (y >= 19n) fail('no small y on the curve');
  const P = Point.fromBytes(le32(y));
  if (P.isSmallOrder()) fail('small-y point is small order');
  const encoded = le32(y + ED25519_P);
  if (!Point.fromBytes(encoded, true).equals(P)) fail('y + p does not decode to the same point under ZIP-215');
  add(
    'non-canonical-public-key-large-order-y-plus-p',
    { publicKey: encoded, message, signature: goodSig },
    'non-canonical-public-key',
    CONSTRUCTED,
    `A with y = ${y} + p, a non-canonical encoding of a valid point of large order.`,
  );
}
add(
  'public-key-all-ones',
  { publicKey: new Uint8Array(32).fill(0xff), message, signature: goodSig },
  'non-canonical-public-key',
  CONSTRUCTED,
  'A = ff..ff: y = 2^255 - 1 >= p with the sign bit set.',
);

// Small-order public keys: each of the 8, each with a signature that
// satisfies the cofactorless equation (so only rule 4 rejects it).
TORSION.forEach((T, i) => {
  const keyBytes = T.toBytes();
  add(
    `small-order-public-key-${i}`,
    { publicKey: keyBytes, message, signature: forgeForTorsionKey(`small-order-${i}`, keyBytes, T, message) },
    'small-order-public-key',
    CONSTRUCTED,
    `A = [${i}]T for a generator T of the torsion subgroup (order ${orderOf(T)}); R = [S]B with [k]A = identity, so the equation holds without any secret key.`,
  );
});

// Mixed-order public key A' = A + T (T of order 8). With k not a multiple of
// 8, [S]B - [k]A' = R - [k]T != R: the cofactorless equation fails while the
// cofactored one holds. noble's verify (both modes) is cofactored and accepts;
// OpenSSL and this project's rule reject. This is the consensus-split case.
{
  const mixed = A.add(T8);
  const mixedBytes = mixed.toBytes();
  if (mixed.isSmallOrder() || mixed.isTorsionFree()) fail('A + T is not mixed-order');
  const build = (label: string, wantKillsTorsion: boolean): Uint8Array => {
    for (let i = 0; i < 1000; i++) {
      const r = labelScalar(`${label}/${i}`);
      const rBytes = mul(B, r).toBytes();
      const k = challenge(rBytes, mixedBytes, message);
      if (mul(T8, k).is0() === wantKillsTorsion) return signWith(a, mixedBytes, rBytes, r, message);
    }
    return fail(`${label}: no suitable nonce`);
  };
  const split = build('mixed-order-split', false);
  const splitR = split.subarray(0, 32);
  const splitS = leToBigint(split.subarray(32));
  if (cofactorlessHolds(splitR, splitS, mixedBytes, message)) fail('mixed-order split: cofactorless holds');
  if (!cofactoredHolds(splitR, splitS, mixedBytes, message)) fail('mixed-order split: cofactored fails');
  if (!ed.verify(split, message, mixedBytes, { zip215: false })) fail('mixed-order split: noble strict does not accept');
  add(
    'mixed-order-public-key-cofactored-only',
    { publicKey: mixedBytes, message, signature: split },
    'equation-failed',
    CONSTRUCTED,
    "A' = A + T with T of order 8, signed with A's secret; k is not a multiple of 8, so the cofactored equation holds and the cofactorless one fails. noble verify (zip215 true or false) accepts, OpenSSL rejects: the consensus split our rule settles.",
  );
  const agreed = build('mixed-order-agreed', true);
  if (!cofactorlessHolds(agreed.subarray(0, 32), leToBigint(agreed.subarray(32)), mixedBytes, message)) fail('mixed-order agreed: cofactorless fails');
  add(
    'mixed-order-public-key-k-multiple-of-8',
    { publicKey: mixedBytes, message, signature: agreed },
    'accept',
    CONSTRUCTED,
    "The same mixed-order key A' = A + T; here k is a multiple of 8, so [k]T vanishes and both equations hold. The rule does not reject mixed-order keys, only small-order ones.",
  );
}

// R with a torsion component: R' = [r]B + T, S = r + k'a with k' = H(R' || A || M).
// [S]B - [k']A = [r]B != R' (cofactorless fails), but [8](R' - [r]B) = 0 (cofactored holds).
{
  const r = labelScalar('r-torsion');
  const rPrime = mul(B, r).add(T8).toBytes();
  const sig = signWith(a, pub, rPrime, r, message);
  const s = leToBigint(sig.subarray(32));
  if (cofactorlessHolds(rPrime, s, pub, message)) fail('R torsion: cofactorless holds');
  if (!cofactoredHolds(rPrime, s, pub, message)) fail('R torsion: cofactored fails');
  if (!ed.verify(sig, message, pub, { zip215: false })) fail('R torsion: noble strict does not accept');
  add(
    'r-with-torsion-cofactored-only',
    { publicKey: pub, message, signature: sig },
    'equation-failed',
    CONSTRUCTED,
    "R' = [r]B + T with T of order 8 and S = r + k'a: the cofactored equation holds, the cofactorless one fails. noble verify accepts, OpenSSL rejects.",
  );
  const shifted = concatBytes(Point.fromBytes(goodR).add(T8).toBytes(), goodSig.subarray(32));
  add(
    'r-with-torsion-s-unchanged',
    { publicKey: pub, message, signature: shifted },
    'equation-failed',
    CONSTRUCTED,
    'The valid signature with R replaced by R + T and S unchanged; k changes, so both equations fail.',
  );
}

// Non-canonical R. With S = k*a, [S]B - [k]A is the identity, so these satisfy
// the equation on decoded points; only a byte comparison or the encoding check rejects them.
function signWithIdentityR(rBytes: Uint8Array): Uint8Array {
  const k = challenge(rBytes, pub, message);
  return signature(rBytes, (k * a) % L);
}
{
  const rBytes = identityPlusP;
  const sig = signWithIdentityR(rBytes);
  if (!cofactoredHolds(rBytes, leToBigint(sig.subarray(32)), pub, message)) fail('non-canonical R: equation on points fails');
  add(
    'non-canonical-r-identity-y-plus-p',
    { publicKey: pub, message, signature: sig },
    'non-canonical-r',
    CONSTRUCTED,
    'R = y=p+1, a non-canonical identity, and S = k*a, so [S]B = R + [k]A on decoded points; ZIP-215 accepts, strict decoding and byte comparison reject.',
  );
}
{
  const rBytes = identitySignBit;
  const sig = signWithIdentityR(rBytes);
  add(
    'non-canonical-r-identity-sign-bit',
    { publicKey: pub, message, signature: sig },
    'non-canonical-r',
    CONSTRUCTED,
    'R = identity with the sign bit set (negative zero) and S = k*a.',
  );
}
add(
  'non-canonical-r-all-ones',
  { publicKey: pub, message, signature: concatBytes(new Uint8Array(32).fill(0xff), goodSig.subarray(32)) },
  'non-canonical-r',
  CONSTRUCTED,
  'R = ff..ff: y = 2^255 - 1 >= p.',
);

// Encodings that are canonical but are not points.
{
  const offCurve = le32(2n);
  let decodes = true;
  try {
    Point.fromBytes(offCurve, true);
  } catch {
    decodes = false;
  }
  if (decodes) fail('y = 2 is on the curve');
  add(
    'public-key-not-on-curve',
    { publicKey: offCurve, message, signature: goodSig },
    'equation-failed',
    CONSTRUCTED,
    'A = y=2: canonical bytes, but no x satisfies the curve equation; decoding fails in the backend.',
  );
  add(
    'r-not-on-curve',
    { publicKey: pub, message, signature: concatBytes(offCurve, goodSig.subarray(32)) },
    'equation-failed',
    CONSTRUCTED,
    'R = y=2, not a curve point; no [S]B - [k]A can encode to it.',
  );
}

// Rule order: S is checked before the key encoding and before small order.
add(
  'precedence-s-before-small-order-key',
  { publicKey: TORSION[0]?.toBytes() ?? fail('no identity'), message, signature: signature(goodR, L) },
  'non-canonical-s',
  CONSTRUCTED,
  'S = L under the identity key: the S check comes first.',
);
add(
  'precedence-public-key-before-r',
  { publicKey: identityPlusP, message, signature: concatBytes(identityPlusP, goodSig.subarray(32)) },
  'non-canonical-public-key',
  CONSTRUCTED,
  'Both A and R non-canonical: the public key check comes first.',
);
add(
  'precedence-r-before-small-order-key',
  { publicKey: TORSION[1]?.toBytes() ?? fail('no torsion point'), message, signature: concatBytes(identityPlusP, goodSig.subarray(32)) },
  'non-canonical-r',
  CONSTRUCTED,
  'A small-order key and a non-canonical R: the R check comes before the small-order check.',
);

const out = fileURLToPath(new URL('../../../docs/vectors/ed25519.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to ${out}`);
