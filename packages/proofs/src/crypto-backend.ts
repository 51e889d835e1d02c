// The crypto backend seam. The browser and the SDK use the @noble backend; the
// replica may plug in node:crypto (package @vcr/crypto-node) for speed. Both
// must give identical bytes and identical verdicts: the shared Ed25519 rule in
// ed25519-rule.ts runs before any backend is asked, and the backends only
// evaluate the cofactorless equation on inputs that passed it.

export interface CryptoBackend {
  readonly name: string;
  /** SHA-256 of the concatenation of the parts. */
  sha256(...parts: readonly Uint8Array[]): Uint8Array;
  /**
   * The cofactorless RFC 8032 equation [S]B = R + [k]A, checked by encoding
   * [S]B - [k]A and comparing it to the R bytes. Called only with inputs that
   * passed `checkEd25519Encodings` (S < L, canonical A and R, A not small order).
   */
  ed25519VerifyPrechecked(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** A key handle: it signs and reports its public key, and never hands out key bytes. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}
