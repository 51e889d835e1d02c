// Every bound of the core in one place; checked before signature work. The
// bounds of the wire forms (batch, view change, new view) are @vcr/proofs'
// limits, named here, not restated.

import { clientRequestLimits, limits as proofLimits, viewChangeDefaults } from '@vcr/proofs';

export const consensusLimits = {
  /** Requests in one batch. */
  batchRequestsMax: proofLimits.batchRequestsMax,
  /** Sum of request payload sizes in one batch. */
  batchBytesMax: proofLimits.batchBytesMax,
  /** One request's payload (the client request format's limit, @vcr/proofs). */
  requestPayloadBytesMax: clientRequestLimits.payloadBytesMax,
  /** Client ids are short strings. */
  clientIdBytesMax: clientRequestLimits.clientIdBytesMax,
  /** Requests waiting to be ordered, per replica. */
  pendingRequestsMax: 10_000,
  /** Requests one client may have waiting; clients send one at a time (exactly-once by increasing ids). */
  pendingPerClientMax: 8,
  /** How far ahead of the block time a request id may point (request-ids.ts): a wrong id locks its client out for at most this long. */
  requestIdAheadMsMax: 5 * 60_000,
  /** Sequence numbers in flight above the stable checkpoint (high - low watermark). */
  watermarkWindowMax: proofLimits.watermarkWindowMax,
  /** Messages in a view change, new view, checkpoint proof: bounded by the window and the membership. */
  viewChangesMax: proofLimits.viewChangesMax,
  /** Pre-prepares buffered ahead of the one being executed. */
  futurePrePreparesMax: 1024,
  /** View numbers a message may run ahead of ours before it is ignored as noise. */
  futureViewMax: 64n,
  /** Blocks accepted in one state-transfer answer. */
  transferBlocksMax: 512,
  /** The view-change timeout never grows past this. */
  viewChangeTimeoutMsMax: 60_000,
} as const;

export interface CoreConfig {
  chainId: string;
  /** This replica's id in the membership. */
  replicaId: string;
  /** Checkpoint every K sequence numbers. */
  checkpointInterval: number;
  /** High watermark = stable checkpoint + window; a multiple of the checkpoint interval. */
  watermarkWindow: number;
  batchRequestsMax: number;
  batchBytesMax: number;
  /**
   * Proposed but uncommitted blocks the primary allows at once. Small on purpose: while blocks are
   * in flight, requests pile up and go out together in the next batch, so per-block costs (votes,
   * signatures, an fsync) are shared by many requests under load; idle, a request still goes out at once.
   */
  pipelineDepth: number;
  /** The primary proposes an empty block after this long without a proposal. */
  heartbeatIntervalMs: number;
  /** Base view-change timeout; doubles per failed view, resets on progress. */
  viewChangeTimeoutMs: number;
  /** Backups refuse a proposed timestamp further than this from their own clock. */
  timestampWindowMs: number;
  /** How long to wait for a missing block before asking peers again. */
  fetchRetryMs: number;
}

export const defaultCoreConfig: Omit<CoreConfig, 'chainId' | 'replicaId'> = {
  checkpointInterval: viewChangeDefaults.checkpointInterval,
  watermarkWindow: viewChangeDefaults.watermarkWindow,
  batchRequestsMax: 128,
  batchBytesMax: 512 * 1024,
  pipelineDepth: 2,
  heartbeatIntervalMs: 2_000,
  viewChangeTimeoutMs: 3_000,
  timestampWindowMs: 5_000,
  fetchRetryMs: 500,
};
