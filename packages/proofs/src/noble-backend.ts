// The @noble backend: pure JavaScript, runs in browsers and in Node.

import * as ed from '@noble/ed25519';
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js';
import { type CryptoBackend, type Signer } from './crypto-backend';
import { abytes, concatBytes } from './bytes';
import { leToBigint } from './ed25519-rule';

// noble's synchronous API needs a SHA-512 implementation wired in.
ed.hashes.sha512 = sha512;

const L = ed.Point.CURVE().n;

function equationHolds(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  let A: ed.Point;
  try {
    A = ed.Point.fromBytes(publicKey, false);
    // R must decode to a curve point, as in RFC 8032 5.1.7 step 1.
    ed.Point.fromBytes(signature.subarray(0, 32), false);
  } catch {
    return false;
  }
  const S = leToBigint(signature.subarray(32, 64));
  const k = leToBigint(sha512(concatBytes(signature.subarray(0, 32), publicKey, message))) % L;
  // Cofactorless: encode([S]B - [k]A) and compare with R's bytes (as OpenSSL does).
  const SB = S === 0n ? ed.Point.ZERO : ed.Point.BASE.multiply(S, false);
  const kA = k === 0n ? ed.Point.ZERO : A.multiply(k, false);
  const candidate = SB.subtract(kA).toBytes();
  const R = signature.subarray(0, 32);
  for (let i = 0; i < 32; i++) if (candidate[i] !== R[i]) return false;
  return true;
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  sha256(...parts) {
    if (parts.length === 1) return nobleSha256(parts[0] as Uint8Array);
    const h = nobleSha256.create();
    for (const part of parts) h.update(part);
    return h.digest();
  },
  ed25519VerifyPrechecked: equationHolds,
};

/**
 * An in-memory signer from a 32-byte RFC 8032 seed. For tests, the browser
 * and the in-memory keystore; production keys live behind a keystore handle.
 */
export function createMemorySigner(seed: Uint8Array): Signer {
  const secret = abytes(seed, 32, 'seed').slice();
  const publicKey = ed.getPublicKey(secret);
  return {
    publicKey,
    sign: (message) => ed.sign(message, secret),
  };
}

export function ed25519PublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(abytes(seed, 32, 'seed'));
}
