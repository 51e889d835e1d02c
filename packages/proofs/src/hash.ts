// Content hashes of canonical values: SHA-256(canonical(value)).
import { type CanonicalValue, encodeCanonical } from './canonical';
import { type CryptoBackend } from './crypto-backend';

export function hashCanonical(backend: CryptoBackend, value: CanonicalValue): Uint8Array {
  return backend.sha256(encodeCanonical(value));
}
