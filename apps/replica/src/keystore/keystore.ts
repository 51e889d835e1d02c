// The keystore seam (DESIGN section 5, "Keystore (HSM-style)"). A keystore
// hands out key handles that sign and report their public key; no code outside
// a keystore backend ever holds private key bytes. Domain separation is applied
// on top of a handle by `signInDomain` from @vcr/proofs, so every backend
// (memory, encrypted file, PKCS#11) signs exactly the bytes it is given.

import type { Signer } from '@vcr/proofs';

/** A signing key held by a keystore. It exposes its label, its public key and `sign`, nothing else. */
export interface KeyHandle extends Signer {
  readonly label: string;
}

export interface KeyStore {
  readonly kind: 'memory' | 'encrypted-file' | 'pkcs11';
  /** The handle of an existing key; throws KeyStoreError 'not-found' if there is none. */
  open(label: string): KeyHandle;
  /** Makes a fresh key under a new label; throws KeyStoreError 'exists' if the label is taken. */
  generate(label: string): KeyHandle;
  /** The labels of all stored keys, sorted. */
  list(): string[];
}

export type KeyStoreErrorCode =
  /** No key has this label. */
  | 'not-found'
  /** `generate` on a label that already has a key. */
  | 'exists'
  /** Decryption failed: a wrong passphrase, or an encrypted file that was altered or moved to another label. */
  | 'bad-passphrase'
  /** The stored key is malformed or inconsistent (bad JSON, wrong fields, public key mismatch). */
  | 'corrupt'
  /** The operating system refused a read or write. */
  | 'io'
  /** The keystore was configured wrongly: an invalid label, no passphrase, scrypt cost out of range. */
  | 'config';

/** An operational keystore failure. `cause` carries the underlying error when there is one. */
export class KeyStoreError extends Error {
  override name = 'KeyStoreError';
  readonly code: KeyStoreErrorCode;

  constructor(code: KeyStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export const keystoreLimits = {
  /** Labels become file names (and PKCS#11 CKA_LABELs): short, and no separators or leading dot. */
  labelLengthMax: 64,
} as const;

const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isValidLabel(label: string): boolean {
  return typeof label === 'string' && label.length <= keystoreLimits.labelLengthMax && LABEL_PATTERN.test(label);
}

/** Checks a label before it is used as a map key or a file name; throws 'config' otherwise. */
export function checkLabel(label: string): string {
  if (!isValidLabel(label)) {
    throw new KeyStoreError(
      'config',
      `invalid key label ${JSON.stringify(String(label))}: use 1-${keystoreLimits.labelLengthMax} characters [A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
  return label;
}

/**
 * Wraps a signer as a handle. The handle is frozen, its only own properties are
 * `label`, `publicKey` and `sign`, and the private key stays in the signer's
 * closure. `publicKey` returns a fresh copy, so one caller cannot alter the key
 * another caller sees.
 */
export function createKeyHandle(label: string, signer: Signer): KeyHandle {
  const publicKey = Uint8Array.from(signer.publicKey);
  const sign = (message: Uint8Array): Uint8Array => signer.sign(message);
  return Object.freeze({
    label,
    get publicKey(): Uint8Array {
      return publicKey.slice();
    },
    sign,
  });
}
