// What each signature covers and the signing and checking of peer messages
// are formats: they live in @vcr/proofs (peer-signatures.ts), re-exported
// here for the core's modules.

export { batchHash, signingPayload, type SigningContext, signMessage, verifyMessageSignature, verifyMessageWithKey } from '@vcr/proofs';
export { requestSigningMessage, requestToCanonical } from '@vcr/proofs';
export type { CheckpointMessage as Checkpoint, Commit, EpochAccept, NewView, PrePrepare, Prepare, ViewChange } from '@vcr/proofs';
