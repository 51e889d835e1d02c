// Every bound on input that grows, in one place (the package's formats, the
// client request, signed notes, the peer wire and the epochs page). Checked
// before any crypto work.

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
  // The peer wire forms (peer-wire.ts): bounds of a block and of the PBFT
  // messages, which the consensus core enforces with the same values
  // (consensusLimits names these, it does not restate them).
  /** Requests in one batch. */
  batchRequestsMax: 256,
  /** Sum of request payload sizes in one batch. */
  batchBytesMax: 1024 * 1024,
  /** Sequence numbers in flight above the stable checkpoint (high - low watermark): prepared certificates in a view change, pre-prepares in a new view. */
  watermarkWindowMax: 1024,
  /** Messages in a view change, new view, checkpoint proof: bounded by the window and the membership. */
  viewChangesMax: 64,
  /**
   * HTTP body limit for one peer message or one committed block, checked by
   * the transport before JSON.parse. A pre-prepare with a full batch
   * (batchBytesMax of payload, hex-doubled, plus per-request overhead) is
   * about 2.3 MiB, so it fits with room. A view change or new view that
   * carries many full prepared batches can be larger than this; such a
   * message is refused whole by the transport, not cut short.
   */
  peerBodyBytesMax: 8 * 1024 * 1024,
} as const;

export const clientRequestLimits = {
  /** One request's payload. */
  payloadBytesMax: 64 * 1024,
  /** Client ids are short strings (a 64-character hex key in practice). */
  clientIdBytesMax: 128,
  /** How many epochs before the ordering block's epoch a request's signature may be for (requestSigningEpochs). */
  signedEpochsBehindMax: 1n,
} as const;

/** Bounds of signed notes and witness cosignatures (signed-note.ts, tlog-*.ts). */
export const noteLimits = {
  /** A whole note (text and signature lines); a checkpoint with 64 cosignatures is under 8 KiB. */
  noteBytesMax: 64 * 1024,
  /** Signature lines read from one note (the spec asks verifiers to accept at least 16; Go's note stops at 100). */
  signaturesMax: 100,
  /** Key names are identifiers, not text. */
  keyNameBytesMax: 256,
  /** cosignature/v1 timestamps MUST NOT exceed 2^63 - 1. */
  timestampMax: (1n << 63n) - 1n,
} as const;
