// Events and effects of the PBFT core, and the executor contract. The peer
// messages and the committed block are formats: they live in @vcr/proofs
// (peer-message.ts) and are re-exported here for the core's modules.

import type { CertificateSignature, ClientRequest, EpochLink, Membership } from '@vcr/proofs';

/** A client request as ordered by consensus (format: @vcr/proofs client-request.ts). Its meaning is the executor's business. */
export type { ClientRequest } from '@vcr/proofs';

export type { CheckpointMessage as Checkpoint, CheckpointProof, Commit, CommittedBlock, EpochAccept, NewView, PeerMessage, PrePrepare, Prepare, PreparedCertificate, ViewChange } from '@vcr/proofs';
import type { CheckpointProof, CommittedBlock, NewView, PeerMessage, PreparedCertificate } from '@vcr/proofs';

export interface ClientReply {
  clientId: string;
  requestId: bigint;
  /** Canonical bytes of the result; opaque to the core. */
  result: Uint8Array;
}

export interface EquivocationEvidence {
  replicaId: string;
  epoch: bigint;
  view: bigint;
  seq: bigint;
  phase: 'pre-prepare' | 'prepare' | 'commit' | 'checkpoint';
  first: PeerMessage;
  second: PeerMessage;
}

export type CoreEvent =
  | { type: 'tick'; nowMs: number }
  | { type: 'request'; request: ClientRequest }
  | { type: 'message'; message: PeerMessage }
  /** Blocks fetched from a peer in answer to a fetch-blocks effect; untrusted, verified by the core. */
  | { type: 'blocks'; blocks: CommittedBlock[] };

/**
 * What the host must do, in array order. Ordering rules:
 * - `persist-view` and `persist-vote` must be durable before any later `send`/`broadcast`
 *   (an honest replica must never contradict a vote it made before a crash);
 * - `commit` must be durable before the `reply` effects that follow it.
 */
export type Effect =
  | { type: 'broadcast'; message: PeerMessage }
  | { type: 'send'; to: string; message: PeerMessage }
  /** Persist the view; `newView` is the NEW-VIEW that installed it, needed to re-enter the view after a restart. */
  | { type: 'persist-view'; view: bigint; newView?: NewView }
  | { type: 'persist-vote'; vote: VoteRecord }
  /** A prepared certificate, durable before the COMMIT that follows it: a restarted replica must still report it in view changes. */
  | { type: 'persist-prepared'; certificate: PreparedCertificate }
  /** `replies` are the results of the requests this block executed, in order (one log leaf each); `leaves` those leaves, when the executor made them. */
  | { type: 'commit'; block: CommittedBlock; replies: ClientReply[]; leaves?: readonly ExecutedLeaf[] }
  | { type: 'reply'; reply: ClientReply }
  | { type: 'fetch-blocks'; fromSeq: bigint }
  /** A new stable checkpoint: persist it with the blocks so a restart resumes from the right window. */
  | { type: 'stable-checkpoint'; checkpoint: CheckpointProof }
  | { type: 'evidence'; evidence: EquivocationEvidence }
  /** A peer message whose signature verified against its sender's key (kept by the host for audit; it may still be refused). */
  | { type: 'verified'; message: PeerMessage }
  | { type: 'view-change-started'; view: bigint; reason: string }
  | { type: 'view-entered'; view: bigint }
  /**
   * The block at `startSeq` (certified by the old membership) ended the epoch: from here on
   * `membership` votes, starting in view 0. `member` is false when this replica has no vote in it
   * (not listed, or its key is not available to `signerFor`): it then follows by state transfer.
   * Persist it with the block, durable before later sends. `removed` is true when this replica
   * was listed in the epoch that ended and is not listed in this one: the certified block that
   * ended the epoch (verified like every block) removed it. It has no vote from here on, and the
   * host must make sure it never signs again (docs/protocol.md, "Removed while behind").
   */
  | { type: 'epoch-entered'; membership: Membership; startSeq: bigint; startHash: Uint8Array; member: boolean; removed: boolean }
  /** A complete epoch link (old quorum and new quorum): keep it and serve it to clients walking the chain. */
  | { type: 'epoch-link'; link: EpochLink }
  | { type: 'rejected'; reason: RejectReason; from: string | undefined };

/** A vote this replica signed; restored after a restart so it never signs a conflicting one. */
export interface VoteRecord {
  phase: 'pre-prepare' | 'prepare' | 'commit';
  view: bigint;
  seq: bigint;
  headerHash: Uint8Array;
}

export type RejectReason =
  | 'malformed'
  | 'oversized'
  | 'unknown-sender'
  | 'wrong-epoch'
  | 'bad-signature'
  | 'not-primary'
  | 'old-view'
  | 'future-view'
  | 'outside-window'
  | 'bad-batch'
  | 'bad-request'
  /** A client request whose id is beyond the request id window (request-ids.ts). */
  | 'request-id-ahead'
  | 'bad-header'
  | 'bad-timestamp'
  | 'roots-mismatch'
  | 'conflicting-pre-prepare'
  | 'bad-certificate'
  | 'bad-new-view'
  | 'bad-view-change'
  | 'bad-block'
  | 'bad-epoch-accept'
  /** Signed in this epoch with the key the sender had in the previous one: a rotated-out key. */
  | 'retired-key'
  | 'not-member'
  | 'duplicate';

/** The deterministic state machine the core orders requests for (the registry, or a test one). */
export interface Executor<S> {
  /** Applies a batch on top of `state` (never mutating it) and returns the new state and its roots. */
  apply(state: S, input: { seq: bigint; batch: readonly ClientRequest[]; timestampMs: bigint }): ExecutionResult<S>;
  /** The cached reply for a request already executed in `state`: 'unknown' when not executed yet. */
  replyFor(state: S, clientId: string, requestId: bigint): ClientReply | 'superseded' | 'unknown';
}

export interface ExecutionResult<S> {
  state: S;
  stateRoot: Uint8Array;
  logRoot: Uint8Array;
  logSize: bigint;
  replies: ClientReply[];
  /**
   * The log leaves this batch appended, one per reply in the same order, with their leaf hashes,
   * when the executor has them: handed to the host with the commit so it stores what execution
   * already made instead of rebuilding and rehashing it. Opaque to the core.
   */
  leaves?: readonly ExecutedLeaf[];
  /** Set when this batch ends the epoch: the membership of the next epoch (its hash goes in the header). */
  nextMembership?: Membership;
}

export interface ExecutedLeaf {
  data: Uint8Array;
  hash: Uint8Array;
}

export type { CertificateSignature };
