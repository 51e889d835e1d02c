// The node:crypto backend for @vcr/proofs: OpenSSL's SHA-256 and Ed25519,
// several times faster than pure JavaScript, for the replica's hot paths.
//
// It gives the same bytes and the same verdicts as the noble backend: the
// shared rule (ed25519-rule.ts) runs the encoding checks first, and OpenSSL's
// verify is the cofactorless equation on the exact bytes (it recomputes
// encode([S]B - [k]A) and compares it with R), which is what
// `ed25519VerifyPrechecked` promises. Tests: node-backend.test.ts against
// docs/vectors/ed25519.json with both backends.

import { createPrivateKey, createPublicKey, hash, type KeyObject, sign, verify } from 'node:crypto';
import { abytes, assert, bytesToHex, concatBytes, type CryptoBackend, equalBytes, type Signer } from '@vcr/proofs';

/** DER of SubjectPublicKeyInfo { id-Ed25519 (1.3.101.112), BIT STRING of 32 bytes } up to the key (RFC 8410). */
const SPKI_ED25519_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
/** DER of a PKCS#8 OneAsymmetricKey { v1, id-Ed25519, OCTET STRING { OCTET STRING of the 32-byte seed } } up to the seed. */
const PKCS8_ED25519_PREFIX = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
);

/**
 * Public KeyObjects kept for reuse. A replica verifies the same few membership
 * keys over and over, and parsing DER into an OpenSSL key costs about as much
 * as a verification. Bounded, so a flood of fresh keys from clients cannot grow it.
 */
// 4,096: every client key of a busy replica (the benchmark's 256 clients plus the replicas' keys
// thrashed a 256-entry LRU into a miss on every check), at a few hundred bytes each.
export const publicKeyCacheEntriesMax = 4_096;
const publicKeyCache = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  const cacheKey = bytesToHex(publicKey);
  const cached = publicKeyCache.get(cacheKey);
  if (cached !== undefined) {
    // Map keeps insertion order: re-inserting marks the entry most recently used.
    publicKeyCache.delete(cacheKey);
    publicKeyCache.set(cacheKey, cached);
    return cached;
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: Buffer.from(concatBytes(SPKI_ED25519_PREFIX, publicKey)), format: 'der', type: 'spki' });
  } catch {
    // OpenSSL refused the key bytes; no equation can hold for them.
    return undefined;
  }
  publicKeyCache.set(cacheKey, keyObject);
  if (publicKeyCache.size > publicKeyCacheEntriesMax) {
    const oldest = publicKeyCache.keys().next();
    if (oldest.done !== true) publicKeyCache.delete(oldest.value);
  }
  return keyObject;
}

/** Test hook: how many public keys are cached now (never above the bound). */
export function nodePublicKeyCacheSize(): number {
  return publicKeyCache.size;
}

/**
 * Where the parts of a short multi-part input (a Merkle node: prefix, left,
 * right) are laid side by side for one hash call, instead of a new array per
 * call. hash() is synchronous and copies nothing out of it, so one buffer
 * serves every call. The views of its first bytes are made once per length
 * (a subarray per call cost a tenth of a node hash).
 */
const scratch = Buffer.allocUnsafe(1024);
const scratchViews: Buffer[] = [];

function joined(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  if (length > scratch.length) return concatBytes(...parts);
  let offset = 0;
  for (const part of parts) {
    scratch.set(part, offset);
    offset += part.length;
  }
  let view = scratchViews[length];
  if (view === undefined) {
    view = scratch.subarray(0, length);
    scratchViews[length] = view;
  }
  return view;
}

/**
 * The digest asked for as a 'binary' (latin1) string (one character per byte, exact for
 * every byte value) and copied into a new Uint8Array: hash() allocating a
 * Buffer for its output cost more than hashing a 65-byte Merkle node
 * (about 2.1 against 0.9 us per call on the bench machine).
 */
function digestOf(input: Uint8Array): Uint8Array {
  const text = hash('sha256', input, 'binary');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = text.charCodeAt(i);
  return out;
}

export const nodeBackend: CryptoBackend = {
  name: 'node',
  sha256(...parts) {
    // One-shot crypto.hash (Node 20.12+): no Hash object per call, which costs more than the
    // hashing itself for the short inputs of Merkle nodes and leaves.
    return digestOf(parts.length === 1 ? (parts[0] as Uint8Array) : joined(parts));
  },
  ed25519VerifyPrechecked(signature, message, publicKey) {
    const keyObject = publicKeyObject(publicKey);
    if (keyObject === undefined) return false;
    return verify(null, message, keyObject, signature);
  },
};

/**
 * A signer backed by an OpenSSL private key made from a 32-byte RFC 8032 seed.
 * The seed goes into the KeyObject and the DER copy is wiped; only the public
 * key and the `sign` closure leave this function. Signatures are byte-identical
 * to `createMemorySigner(seed)` (Ed25519 signing is deterministic).
 */
export function createNodeSigner(seed: Uint8Array): Signer {
  abytes(seed, 32, 'seed');
  const pkcs8 = concatBytes(PKCS8_ED25519_PREFIX, seed);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.length), format: 'der', type: 'pkcs8' });
  } finally {
    pkcs8.fill(0);
  }
  const spki = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  assert(
    spki.length === SPKI_ED25519_PREFIX.length + 32 && equalBytes(spki.subarray(0, SPKI_ED25519_PREFIX.length), SPKI_ED25519_PREFIX),
    'node:crypto exported an unexpected Ed25519 SPKI encoding',
  );
  const publicKey = spki.slice(SPKI_ED25519_PREFIX.length);
  return {
    publicKey,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
}
