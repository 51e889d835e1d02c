// The messages replicas sign and send each other (the six PBFT messages and
// EPOCH-ACCEPT) and the committed block state transfer ships: formats, so
// they live here with the other formats (docs/protocol.md section 3), and the
// consensus core, the replica, the console and the audit tools share them.
// Every peer message carries its epoch and its sender, and is signed over
// the kind's signing payload (peer-signatures.ts) in the domain (kind,
// chainId, epoch).

import type { Certificate } from './certificate';
import type { ClientRequest } from './client-request';
import type { BlockHeader } from './header';

export interface SignedFields {
  epoch: bigint;
  from: string;
  signature: Uint8Array;
}

/** PBFT 4.2: the primary assigns a sequence number and proposes the header it executed. */
export interface PrePrepare extends SignedFields {
  type: 'pre-prepare';
  view: bigint;
  seq: bigint;
  header: BlockHeader;
  batch: ClientRequest[];
}

export interface Prepare extends SignedFields {
  type: 'prepare';
  view: bigint;
  seq: bigint;
  headerHash: Uint8Array;
}

/** Signed over { headerHash, height, view }: a quorum of one view is the block's certificate. */
export interface Commit extends SignedFields {
  type: 'commit';
  view: bigint;
  seq: bigint;
  headerHash: Uint8Array;
}

/** PBFT's CHECKPOINT message (named apart from the C2SP checkpoint of tlog-checkpoint.ts; consensus calls it Checkpoint). */
export interface CheckpointMessage extends SignedFields {
  type: 'checkpoint';
  seq: bigint;
  headerHash: Uint8Array;
}

/** A pre-prepare and quorum - 1 matching prepares from distinct backups, all of one view. */
export interface PreparedCertificate {
  prePrepare: PrePrepare;
  prepares: Prepare[];
}

/** A stable checkpoint: quorum matching checkpoint messages. seq 0 is genesis and needs no proof. */
export interface CheckpointProof {
  seq: bigint;
  headerHash: Uint8Array;
  proof: CheckpointMessage[];
}

/** PBFT 4.4: move to `newView`, carrying the stable checkpoint and every prepared certificate above it. */
export interface ViewChange extends SignedFields {
  type: 'view-change';
  newView: bigint;
  checkpoint: CheckpointProof;
  prepared: PreparedCertificate[];
}

export interface NewView extends SignedFields {
  type: 'new-view';
  view: bigint;
  viewChanges: ViewChange[];
  prePrepares: PrePrepare[];
}

/**
 * A member of epoch e + 1 accepts the hand-over (DESIGN section 6): signed with kind
 * "epoch-accept" over { lastHeaderHash, nextMembershipHash } (@vcr/proofs epochAcceptMessage),
 * so a quorum of these is the new-membership half of the epoch link clients walk.
 */
export interface EpochAccept extends SignedFields {
  type: 'epoch-accept';
  lastHeaderHash: Uint8Array;
  nextMembershipHash: Uint8Array;
}

export type PeerMessage = PrePrepare | Prepare | Commit | CheckpointMessage | ViewChange | NewView | EpochAccept;

/** A committed block: what storage keeps and what state transfer ships. */
export interface CommittedBlock {
  header: BlockHeader;
  batch: ClientRequest[];
  certificate: Certificate;
}

