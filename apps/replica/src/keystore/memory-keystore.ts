// The in-memory keystore: keys live only as node:crypto signer closures in this
// process and vanish with it. For tests, the simulator and local development;
// a replica that must keep its identity across restarts uses the encrypted-file
// or PKCS#11 keystore.

import { randomBytes } from 'node:crypto';
import { createNodeSigner } from '@vcr/crypto-node';
import { abytes } from '@vcr/proofs';
import { checkLabel, createKeyHandle, type KeyHandle, type KeyStore, KeyStoreError } from './keystore';

export class MemoryKeyStore implements KeyStore {
  readonly kind = 'memory' as const;
  readonly #handles = new Map<string, KeyHandle>();

  open(label: string): KeyHandle {
    checkLabel(label);
    const handle = this.#handles.get(label);
    if (handle === undefined) throw new KeyStoreError('not-found', `no key labelled '${label}' in the memory keystore`);
    return handle;
  }

  generate(label: string): KeyHandle {
    this.#checkFree(label);
    const seed = randomBytes(32);
    try {
      return this.#add(label, seed);
    } finally {
      seed.fill(0);
    }
  }

  /**
   * Adds a key made from a known 32-byte RFC 8032 seed. For tests and local
   * development only (fixed identities, vectors): a seed that exists outside
   * the keystore defeats the point of one. The caller's buffer is not kept
   * and not modified; wiping it is the caller's business.
   */
  importSeed(label: string, seed: Uint8Array): KeyHandle {
    abytes(seed, 32, 'seed');
    this.#checkFree(label);
    return this.#add(label, seed);
  }

  list(): string[] {
    return [...this.#handles.keys()].sort();
  }

  #checkFree(label: string): void {
    checkLabel(label);
    if (this.#handles.has(label)) throw new KeyStoreError('exists', `a key labelled '${label}' already exists in the memory keystore`);
  }

  #add(label: string, seed: Uint8Array): KeyHandle {
    const handle = createKeyHandle(label, createNodeSigner(seed));
    this.#handles.set(label, handle);
    return handle;
  }
}
