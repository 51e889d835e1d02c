// Every bound on input that grows, in one place. Checked before any crypto work.

export const limits = {
  /** Hash and Merkle node size. */
  hashBytes: 32,
  /** Largest Merkle log size a proof may talk about (2^62 keeps index math exact). */
  logSizeMax: 1n << 62n,
  /** A log inclusion or consistency proof never needs more nodes than this for logSizeMax. */
  logProofNodesMax: 64,
  /** Sparse Merkle map depth: the key hash is 256 bits. */
  mapDepthMax: 256,
  /** Map keys are UTF-8 strings of at most this many bytes. */
  mapKeyBytesMax: 512,
  /** Map values are canonical bytes of at most this size. */
  mapValueBytesMax: 64 * 1024,
  /** Chain ids are short printable strings. */
  chainIdBytesMax: 64,
  /** Domain tags are short ASCII strings. */
  domainTagBytesMax: 64,
  /** Replicas in one membership. */
  membershipSizeMax: 64,
  /** Signature entries in one certificate (a membership never needs more). */
  certificateSignaturesMax: 64,
  /** Epoch-chain links walked in one verification call, and in one walk of the epoch chain (epoch-walk.ts). */
  epochChainLinksMax: 1024,
  /**
   * Links in one page of `GET /v1/epochs`: the most a replica serves and a
   * verifier asks for (epochs-page.ts). Shared by the server and every client.
   */
  epochsPageLinksMax: 64,
  /** Nesting depth accepted by the canonical decoder. */
  canonicalDepthMax: 32,
  /** Largest canonical encoding accepted by the decoder. */
  canonicalBytesMax: 4 * 1024 * 1024,
} as const;
