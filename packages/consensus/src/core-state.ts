// The PBFT core's state and the few primitives every part of it uses (emit an
// effect, reject a message, verify, sign, record a vote). PbftCore (core.ts)
// owns one CoreState; the handlers split out of it (epoch.ts, checkpoints.ts,
// requests.ts, transfer.ts) are functions over the same object, as view-change.ts
// is over its context. Internal: not exported from the package.

import { assert, type BlockHeader, bytesToHex, type CryptoBackend, type EpochLink, equalBytes, GENESIS_PREV_HASH, type Membership, type Signer } from '@vcr/proofs';
import { EquivocationTracker } from './evidence';
import type { CoreConfig } from './limits';
import { signMessage, type SigningContext, verifyMessageSignature, verifyMessageWithKey } from './messages';
import { type ChainPoint, newSlot, type Slot } from './slots';
import type { Checkpoint, CheckpointProof, ClientRequest, Effect, EpochAccept, Executor, NewView, PeerMessage, PrePrepare, PreparedCertificate, RejectReason, ViewChange, VoteRecord } from './types';
import type { ViewChangeContext } from './view-change';

export interface CoreDeps<S> {
  config: CoreConfig;
  /** The membership of the epoch the replica is in (genesis, or the one restored from disk). */
  membership: Membership;
  backend: CryptoBackend;
  /** The key this replica votes with in `membership`, if it is a voting member. */
  signer: Signer | undefined;
  /**
   * The key handle for a public key, looked up when an epoch starts (key rotation: the new key
   * is generated in the keystore before the change is approved). Undefined: no vote in that epoch.
   */
  signerFor?: (publicKey: Uint8Array) => Signer | undefined;
  executor: Executor<S>;
  /**
   * Checks a client request's signature (for the domain of `epoch`; a host may also accept the
   * previous epoch's, so requests in flight at a boundary survive it) and anything else the
   * application requires before ordering it. Must be deterministic for a given epoch.
   */
  validateRequest: (request: ClientRequest, epoch: bigint) => boolean;
  /**
   * Negative controls only: weaker vote thresholds, so the simulator can show
   * its checker catches the safety violations they cause. Never set in a replica.
   */
  unsafeThresholds?: { prepared: number; committed: number };
}

/** What a replica recovers from its own disk after a restart. */
export interface CoreRestore<S> {
  /** The last committed block (undefined at genesis) and the state after it. */
  committedHeader: BlockHeader | undefined;
  committedState: S;
  /** The block that ended the previous epoch (absent in epoch 0): `deps.membership` votes after it. */
  epochStart?: { seq: bigint; hash: Uint8Array };
  /** The previous epoch's membership, to recognize votes signed with a rotated-out key. */
  previousMembership?: Membership;
  /** The current epoch's link still waiting for the new membership's quorum (absent once an `epoch-link` effect was kept). */
  pendingLink?: Omit<EpochLink, 'newSignatures'>;
  /** The stable checkpoint proof persisted with the blocks, if any. */
  stableCheckpoint?: CheckpointProof;
  view?: bigint;
  /** The NEW-VIEW that installed `view`, if the replica had entered it. */
  newView?: NewView;
  /** Prepared certificates persisted above the committed height. */
  prepared?: PreparedCertificate[];
  votes?: VoteRecord[];
  nowMs: number;
}

export type Status = 'normal' | 'view-change';

/** The hand-over into the current epoch: the old quorum's half, and the new members' accepts as they arrive. */
export interface LinkInProgress {
  pending: Omit<EpochLink, 'newSignatures'>;
  accepts: Map<string, EpochAccept>;
  complete: boolean;
}

export class CoreState<S> {
  readonly cfg: CoreConfig;
  // Everything derived from the membership changes at an epoch boundary (installMembership in epoch.ts).
  membership!: Membership;
  membershipHashValue!: Uint8Array;
  previousMembership: Membership | undefined;
  epochStart!: { seq: bigint; hash: Uint8Array };
  quorum!: number;
  preparedThreshold!: number;
  committedThreshold!: number;
  ctx!: ViewChangeContext;
  signer: Signer | undefined;
  /** False while this replica has no vote (not in the membership, or no key for it): it follows by state transfer. */
  member = false;
  link: LinkInProgress | undefined;
  ownAccept: EpochAccept | undefined;
  readonly acceptSentTo = new Map<string, number>();
  readonly evidence: EquivocationTracker;

  view = 0n;
  status: Status = 'normal';
  nowMs: number;
  committed: ChainPoint<S>;
  tip: ChainPoint<S>;
  /** Sequence numbers at or below this were settled by the new view's base. */
  viewBaseSeq = 0n;
  stable: CheckpointProof = { seq: 0n, headerHash: GENESIS_PREV_HASH, proof: [] };
  readonly slots = new Map<bigint, Slot<S>>();
  readonly buffered = new Map<bigint, PrePrepare>();
  readonly checkpointVotes = new Map<bigint, Map<string, Map<string, Checkpoint>>>();
  readonly viewChanges = new Map<bigint, Map<string, ViewChange>>();
  readonly votes = new Map<string, string>();
  /** `dueMs`: from when the primary must have proposed it (its id's due time, request-ids.ts); `sinceMs` is reset on progress. */
  readonly pending = new Map<string, { request: ClientRequest; sinceMs: number; dueMs: number }>();
  readonly pendingByClient = new Map<string, number>();
  /**
   * Keys of pending requests already in a block of the tentative chain (committed, tip]: the
   * primary skips them without asking the executor, which would decode its reply cache for each
   * pending request on every event. Cleared whenever the tip falls back to the committed block.
   */
  readonly inTip = new Set<string>();
  currentNewView: NewView | undefined;
  lastProposalMs: number;
  lastProgressMs: number;
  viewChangeStartedMs = 0;
  /** When a quorum of VIEW-CHANGEs for the target view was first seen (PBFT 4.5.2 starts the timer then). */
  viewChangeQuorumSinceMs: number | undefined;
  /** The last NEW-VIEW this replica installed, kept across later view changes to answer replicas left behind. */
  lastNewView: NewView | undefined;
  viewChangeTimeoutMs: number;
  lastRetransmitMs = 0;
  lastFetchMs = -Infinity;
  needFetch = false;
  readonly newViewSentTo = new Map<string, number>();
  readonly viewChangeSentTo = new Map<string, number>();
  /** The effects of the event being handled, in order. */
  out: Effect[] = [];

  constructor(
    readonly deps: CoreDeps<S>,
    committed: ChainPoint<S>,
    nowMs: number,
  ) {
    this.cfg = deps.config;
    this.evidence = new EquivocationTracker(deps.backend);
    this.committed = committed;
    this.tip = committed;
    this.nowMs = nowMs;
    this.lastProposalMs = nowMs;
    this.lastProgressMs = nowMs;
    this.viewChangeTimeoutMs = deps.config.viewChangeTimeoutMs;
  }

  emit(effect: Effect): void {
    this.out.push(effect);
  }

  reject(reason: RejectReason, from: string | undefined): void {
    this.emit({ type: 'rejected', reason, from });
  }

  inWindow(seq: bigint): boolean {
    return seq > this.stable.seq && seq <= this.stable.seq + BigInt(this.cfg.watermarkWindow);
  }

  slot(seq: bigint): Slot<S> {
    let slot = this.slots.get(seq);
    if (!slot) {
      slot = newSlot<S>(seq);
      this.slots.set(seq, slot);
    }
    return slot;
  }

  verify(message: PeerMessage): boolean {
    if (verifyMessageSignature(this.ctx, this.membership, message)) return true;
    this.reject(this.signedWithRetiredKey(message) ? 'retired-key' : 'bad-signature', message.from);
    return false;
  }

  /** A failed signature that the sender's previous-epoch key made: a rotated-out key still voting. Failure path only. */
  private signedWithRetiredKey(message: PeerMessage): boolean {
    const old = this.previousMembership?.replicas.find((r) => r.id === message.from);
    const current = this.membership.replicas.find((r) => r.id === message.from);
    if (old === undefined || current === undefined || equalBytes(old.publicKey, current.publicKey)) return false;
    return verifyMessageWithKey(this.ctx, old.publicKey, message);
  }

  /** Every message whose signature verified: reported for the audit record, then checked for equivocation. */
  observe(message: PeerMessage): void {
    this.emit({ type: 'verified', message });
    if (message.type === 'view-change' || message.type === 'new-view' || message.type === 'epoch-accept') return;
    const evidence = this.evidence.observe(message);
    if (evidence) this.emit({ type: 'evidence', evidence });
  }

  /** The signer guard: never sign two different digests for one slot, even across restarts (persist first). */
  recordVote(vote: VoteRecord): boolean {
    const key = voteKey(vote);
    const hex = bytesToHex(vote.headerHash);
    const previous = this.votes.get(key);
    if (previous !== undefined) return previous === hex;
    this.votes.set(key, hex);
    this.emit({ type: 'persist-vote', vote });
    return true;
  }

  sign<M extends PeerMessage>(unsigned: Omit<M, 'signature'>): M {
    assert(this.signer !== undefined, 'a replica without a vote in this epoch never signs');
    return signMessage<M>(this.ctx as SigningContext, this.signer, unsigned);
  }

  resetTip(): void {
    this.tip = this.committed;
    this.inTip.clear();
  }
}

export function hasVoteFrom<M>(index: Map<string, Map<string, M>>, keyPrefix: string, from: string): boolean {
  for (const [key, votes] of index) if (key.startsWith(keyPrefix) && votes.has(from)) return true;
  return false;
}

export function voteKey(v: VoteRecord): string {
  return `${v.phase}|${v.view}|${v.seq}`;
}

export function requestKey(r: Pick<ClientRequest, 'clientId' | 'requestId'>): string {
  return `${r.clientId}\u0000${r.requestId}`;
}

export function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
