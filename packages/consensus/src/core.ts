// The PBFT core (Castro and Liskov, OSDI '99 / TOCS 2002) as a deterministic
// state machine: `handle(event)` returns the effects the host must apply, in
// order. No I/O, no clock (time arrives in tick events), no randomness; the
// signer, the crypto backend and the executor are injected.
//
// Deviations from the paper, each argued in docs/protocol.md:
// - the primary executes the batch before proposing and the pre-prepare
//   carries the resulting header (state root, log root, previous hash); backups
//   re-execute and prepare only on identical roots;
// - a backup prepares n only after n - 1 is prepared in the same view (or
//   committed), so prepared certificates form a hash chain;
// - COMMIT votes sign the header hash, height and view; a quorum of one view
//   is the block's certificate, checkable by clients without the protocol state;
// - prepared certificates are persisted before the COMMIT they lead to, so a
//   crash cannot make a replica forget what it must report in a view change.

import {
  assert,
  type BlockHeader,
  bytesToHex,
  type CryptoBackend,
  type EpochLink,
  equalBytes,
  GENESIS_PREV_HASH,
  headerHash,
  type Membership,
  membershipHash,
  membershipQuorum,
  type Signer,
  verifyCertificate,
} from '@vcr/proofs';
import { EquivocationTracker } from './evidence';
import { consensusLimits, type CoreConfig } from './limits';
import { batchHash, signMessage, type SigningContext, verifyMessageSignature, verifyMessageWithKey } from './messages';
import { isWellFormedMessage, isWellFormedRequest } from './shape';
import { addVote, type ChainPoint, newSlot, prepareKey, type Slot } from './slots';
import type {
  Checkpoint,
  CheckpointProof,
  ClientRequest,
  Commit,
  CommittedBlock,
  CoreEvent,
  Effect,
  EpochAccept,
  ExecutionResult,
  Executor,
  NewView,
  PeerMessage,
  PrePrepare,
  Prepare,
  PreparedCertificate,
  RejectReason,
  ViewChange,
  VoteRecord,
} from './types';
import { checkViewChange, type NewViewPlan, planKey, planNewView, primaryOf, type ViewChangeContext } from './view-change';

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

type Status = 'normal' | 'view-change';

/** The hand-over into the current epoch: the old quorum's half, and the new members' accepts as they arrive. */
interface LinkInProgress {
  pending: Omit<EpochLink, 'newSignatures'>;
  accepts: Map<string, EpochAccept>;
  complete: boolean;
}

export class PbftCore<S> {
  private readonly cfg: CoreConfig;
  // Everything derived from the membership changes at an epoch boundary (installMembership).
  private membership!: Membership;
  private membershipHashValue!: Uint8Array;
  private previousMembership: Membership | undefined;
  private epochStart!: { seq: bigint; hash: Uint8Array };
  private quorum!: number;
  private preparedThreshold!: number;
  private committedThreshold!: number;
  private ctx!: ViewChangeContext;
  private signer: Signer | undefined;
  /** False while this replica has no vote (not in the membership, or no key for it): it follows by state transfer. */
  private member = false;
  private link: LinkInProgress | undefined;
  private ownAccept: EpochAccept | undefined;
  private readonly acceptSentTo = new Map<string, number>();
  private readonly evidence: EquivocationTracker;

  private view = 0n;
  private status: Status = 'normal';
  private nowMs: number;
  private committed: ChainPoint<S>;
  private tip: ChainPoint<S>;
  /** Sequence numbers at or below this were settled by the new view's base. */
  private viewBaseSeq = 0n;
  private stable: CheckpointProof = { seq: 0n, headerHash: GENESIS_PREV_HASH, proof: [] };
  private readonly slots = new Map<bigint, Slot<S>>();
  private readonly buffered = new Map<bigint, PrePrepare>();
  private readonly checkpointVotes = new Map<bigint, Map<string, Map<string, Checkpoint>>>();
  private readonly viewChanges = new Map<bigint, Map<string, ViewChange>>();
  private readonly votes = new Map<string, string>();
  private readonly pending = new Map<string, { request: ClientRequest; sinceMs: number }>();
  private readonly pendingByClient = new Map<string, number>();
  /**
   * Keys of pending requests already in a block of the tentative chain (committed, tip]: the
   * primary skips them without asking the executor, which would decode its reply cache for each
   * pending request on every event. Cleared whenever the tip falls back to the committed block.
   */
  private readonly inTip = new Set<string>();
  private currentNewView: NewView | undefined;
  private lastProposalMs: number;
  private lastProgressMs: number;
  private viewChangeStartedMs = 0;
  /** When a quorum of VIEW-CHANGEs for the target view was first seen (PBFT 4.5.2 starts the timer then). */
  private viewChangeQuorumSinceMs: number | undefined;
  /** The last NEW-VIEW this replica installed, kept across later view changes to answer replicas left behind. */
  private lastNewView: NewView | undefined;
  private viewChangeTimeoutMs: number;
  private lastRetransmitMs = 0;
  private lastFetchMs = -Infinity;
  private needFetch = false;
  private readonly newViewSentTo = new Map<string, number>();
  private out: Effect[] = [];

  constructor(
    private readonly deps: CoreDeps<S>,
    restore: CoreRestore<S>,
  ) {
    this.cfg = deps.config;
    assert(deps.config.watermarkWindow % deps.config.checkpointInterval === 0, 'window must be a multiple of the checkpoint interval');
    assert(deps.config.watermarkWindow <= consensusLimits.watermarkWindowMax, 'window too large');
    assert(Number.isInteger(deps.config.pipelineDepth) && deps.config.pipelineDepth >= 1, 'pipelineDepth must be a positive integer');
    const epochStart = restore.epochStart ?? { seq: 0n, hash: GENESIS_PREV_HASH };
    this.previousMembership = restore.previousMembership;
    this.installMembership(deps.membership, epochStart, deps.signer);
    if (restore.pendingLink) this.link = { pending: restore.pendingLink, accepts: new Map(), complete: false };
    this.evidence = new EquivocationTracker(deps.backend);
    const header = restore.committedHeader;
    this.committed = { seq: header?.height ?? 0n, header, hash: header ? headerHash(deps.backend, header) : GENESIS_PREV_HASH, state: restore.committedState };
    assert(this.committed.seq >= epochStart.seq, 'the committed block is before the start of the epoch');
    this.tip = this.committed;
    this.viewBaseSeq = this.committed.seq;
    // The epoch's start is its first stable point; a checkpoint of the previous epoch is not one of this epoch.
    this.stable = restore.stableCheckpoint && restore.stableCheckpoint.seq > epochStart.seq ? restore.stableCheckpoint : { seq: epochStart.seq, headerHash: epochStart.hash, proof: [] };
    this.nowMs = restore.nowMs;
    this.lastProposalMs = restore.nowMs;
    this.lastProgressMs = restore.nowMs;
    this.viewChangeTimeoutMs = deps.config.viewChangeTimeoutMs;
    for (const v of restore.votes ?? []) this.votes.set(voteKey(v), bytesToHex(v.headerHash));
    for (const cert of restore.prepared ?? []) {
      const seq = cert.prePrepare.seq;
      if (seq <= this.committed.seq) continue;
      const slot = this.slot(seq);
      if (slot.preparedView === undefined || cert.prePrepare.view > slot.preparedView) {
        slot.preparedView = cert.prePrepare.view;
        slot.preparedCert = cert;
      }
    }
    this.view = restore.view ?? 0n;
    if (this.view > 0n) {
      // Re-enter the view only with the NEW-VIEW that installed it; otherwise wait for one (PBFT 4.4).
      this.status = 'view-change';
      this.viewChangeStartedMs = this.nowMs;
      if (restore.newView && restore.newView.view === this.view) this.handle({ type: 'message', message: restore.newView });
    }
    this.out = [];
  }

  // ---- public surface ------------------------------------------------------------------

  handle(event: CoreEvent): Effect[] {
    this.out = [];
    switch (event.type) {
      case 'tick':
        this.onTick(event.nowMs);
        break;
      case 'request':
        this.onRequest(event.request);
        break;
      case 'message':
        this.onMessage(event.message);
        break;
      case 'blocks':
        this.onBlocks(event.blocks);
        break;
    }
    this.tryExecute();
    this.maybePropose();
    const effects = this.out;
    this.out = [];
    return effects;
  }

  get id(): string {
    return this.cfg.replicaId;
  }
  get currentView(): bigint {
    return this.view;
  }
  get isViewChanging(): boolean {
    return this.status === 'view-change';
  }
  get committedSeq(): bigint {
    return this.committed.seq;
  }
  get committedHash(): Uint8Array {
    return this.committed.hash;
  }
  get committedState(): S {
    return this.committed.state;
  }
  get stableCheckpoint(): CheckpointProof {
    return this.stable;
  }
  get primary(): string {
    return primaryOf(this.membership, this.view);
  }
  get currentMembership(): Membership {
    return this.membership;
  }
  get currentEpoch(): bigint {
    return this.membership.epoch;
  }
  /** False while this replica has no vote in the current epoch (it follows by state transfer). */
  get isMember(): boolean {
    return this.member;
  }
  /** A snapshot for logs, metrics and the simulator's trace. */
  get diagnostics(): Record<string, string | number> {
    return {
      epoch: Number(this.membership.epoch),
      member: this.member ? 1 : 0,
      view: Number(this.view),
      status: this.status,
      committed: Number(this.committed.seq),
      tip: Number(this.tip.seq),
      stable: Number(this.stable.seq),
      viewBase: Number(this.viewBaseSeq),
      planned: Number(this.maxPlannedSeq()),
      buffered: [...this.buffered.keys()].join(','),
      pending: this.pending.size,
      needFetch: this.needFetch ? 1 : 0,
    };
  }

  /** Sizes of every growing collection, for tests that check memory stays bounded. */
  get footprint(): Record<string, number> {
    return { slots: this.slots.size, buffered: this.buffered.size, checkpointVotes: this.checkpointVotes.size, viewChanges: this.viewChanges.size, votes: this.votes.size, pending: this.pending.size, evidence: this.evidence.size, accepts: this.link?.accepts.size ?? 0, acceptSentTo: this.acceptSentTo.size };
  }

  // ---- events --------------------------------------------------------------------------

  private onTick(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    const now = this.nowMs;
    if (!this.member) {
      // No vote here: follow the certified chain by state transfer, at the fetch pace.
      if (now - this.lastFetchMs >= this.cfg.fetchRetryMs) {
        this.lastFetchMs = now;
        this.emit({ type: 'fetch-blocks', fromSeq: this.committed.seq + 1n });
      }
      return;
    }
    if (this.status === 'normal') {
      const stalledMs = now - this.lastProgressMs;
      if (stalledMs > this.cfg.heartbeatIntervalMs + this.viewChangeTimeoutMs) {
        this.startViewChange(this.view + 1n, 'no progress');
      } else {
        const oldest = this.oldestPendingMs();
        if (oldest !== undefined && now - oldest > this.cfg.heartbeatIntervalMs + this.viewChangeTimeoutMs) this.startViewChange(this.view + 1n, 'request not ordered');
      }
    } else if (this.viewChangeTimedOut(now)) {
      // PBFT 4.5.2: the next view change waits twice as long.
      this.viewChangeTimeoutMs = Math.min(2 * this.viewChangeTimeoutMs, consensusLimits.viewChangeTimeoutMsMax);
      this.startViewChange(this.view + 1n, 'new view not installed in time');
    }
    if (now - this.lastRetransmitMs >= this.cfg.heartbeatIntervalMs / 2) {
      this.lastRetransmitMs = now;
      this.retransmit();
    }
    // Accepted proposals that do not commit, or votes showing others are ahead: the votes we
    // missed will not be sent again (peers that committed stop retransmitting), so ask for blocks.
    if (!this.needFetch && now - this.lastProgressMs > this.cfg.fetchRetryMs && (this.tip.seq > this.committed.seq || this.othersAreAhead())) this.needFetch = true;
    if (this.needFetch && now - this.lastFetchMs >= this.cfg.fetchRetryMs) {
      this.lastFetchMs = now;
      this.emit({ type: 'fetch-blocks', fromSeq: this.committed.seq + 1n });
    }
  }

  private onRequest(request: ClientRequest): void {
    if (!isWellFormedRequest(request)) return this.reject('malformed', undefined);
    if (!this.member) return this.reject('not-member', undefined);
    const cached = this.deps.executor.replyFor(this.committed.state, request.clientId, request.requestId);
    if (cached === 'superseded') return;
    if (cached !== 'unknown') {
      // Exactly once: a replayed request is answered from the reply cache, never re-executed.
      this.emit({ type: 'reply', reply: cached });
      return;
    }
    const key = requestKey(request);
    if (this.pending.has(key)) return;
    if (this.pending.size >= consensusLimits.pendingRequestsMax) return this.reject('oversized', undefined);
    if ((this.pendingByClient.get(request.clientId) ?? 0) >= consensusLimits.pendingPerClientMax) return this.reject('oversized', undefined);
    if (!this.deps.validateRequest(request, this.membership.epoch)) return this.reject('bad-request', undefined);
    this.pending.set(key, { request, sinceMs: this.nowMs });
    this.pendingByClient.set(request.clientId, (this.pendingByClient.get(request.clientId) ?? 0) + 1);
  }

  private onMessage(message: PeerMessage): void {
    if (!isWellFormedMessage(message)) return this.reject('malformed', typeof message?.from === 'string' ? message.from : undefined);
    if (!this.member) return this.reject('not-member', message.from);
    if (message.epoch !== this.membership.epoch) {
      // A later epoch means the others committed the end of ours: fetch it (rate-limited, so a
      // forged epoch number costs at most a fetch per retry period).
      if (message.epoch > this.membership.epoch) this.needFetch = true;
      return this.reject('wrong-epoch', message.from);
    }
    if (!this.membership.replicas.some((r) => r.id === message.from)) return this.reject('unknown-sender', message.from);
    if (message.from === this.cfg.replicaId && message.type !== 'new-view') return;
    switch (message.type) {
      case 'pre-prepare':
        return this.onPrePrepare(message);
      case 'prepare':
        return this.onPrepare(message);
      case 'commit':
        return this.onCommit(message);
      case 'checkpoint':
        return this.onCheckpoint(message);
      case 'view-change':
        return this.onViewChange(message);
      case 'new-view':
        return this.onNewView(message);
      case 'epoch-accept':
        return this.onEpochAccept(message);
    }
  }

  // ---- normal case (PBFT 4.2) -------------------------------------------------------------

  private inWindow(seq: bigint): boolean {
    return seq > this.stable.seq && seq <= this.stable.seq + BigInt(this.cfg.watermarkWindow);
  }

  private onPrePrepare(pp: PrePrepare): void {
    if (pp.view < this.view) return this.reject('old-view', pp.from);
    if (pp.view > this.view || this.status !== 'normal') return this.reject('future-view', pp.from);
    if (pp.from !== primaryOf(this.membership, pp.view)) return this.reject('not-primary', pp.from);
    if (pp.seq <= this.committed.seq) return;
    if (!this.inWindow(pp.seq)) return this.reject('outside-window', pp.from);
    const h = pp.header;
    if (h.height !== pp.seq || h.chainId !== this.cfg.chainId || h.epoch !== this.membership.epoch) return this.reject('bad-header', pp.from);
    if (pp.batch.length > this.cfg.batchRequestsMax) return this.reject('oversized', pp.from);
    const hash = headerHash(this.deps.backend, h);
    const slot = this.slots.get(pp.seq);
    const known = slot?.accepted && slot.accepted.view === pp.view ? slot.accepted.hash : this.buffered.has(pp.seq) ? headerHash(this.deps.backend, (this.buffered.get(pp.seq) as PrePrepare).header) : undefined;
    // A retransmission of what we already hold costs no signature check.
    if (known !== undefined && equalBytes(known, hash)) return;
    // Outside a NEW-VIEW a primary may only propose fresh headers of its own view.
    if (h.view !== pp.view) return this.reject('bad-header', pp.from);
    if (!this.verify(pp)) return;
    this.observe(pp);
    if (known !== undefined) {
      // PBFT 4.2: one pre-prepare per (view, seq). A second, validly signed, is equivocation.
      this.reject('conflicting-pre-prepare', pp.from);
      this.startViewChange(this.view + 1n, 'primary equivocated');
      return;
    }
    if (!equalBytes(h.batchHash, batchHash(this.deps.backend, pp.batch))) return this.reject('bad-batch', pp.from);
    if (!pp.batch.every((r) => this.deps.validateRequest(r, this.membership.epoch))) return this.reject('bad-request', pp.from);
    if (this.buffered.size >= consensusLimits.futurePrePreparesMax) return this.reject('oversized', pp.from);
    this.buffered.set(pp.seq, pp);
    this.acceptBuffered();
  }

  /** Accepts buffered pre-prepares strictly in sequence order, executing each on the tentative chain. */
  private acceptBuffered(): void {
    for (;;) {
      const pp = this.buffered.get(this.tip.seq + 1n);
      if (pp === undefined) return;
      this.buffered.delete(pp.seq);
      if (!this.acceptPrePrepare(pp)) {
        this.buffered.clear();
        return;
      }
    }
  }

  private acceptPrePrepare(pp: PrePrepare): boolean {
    const h = pp.header;
    const fresh = h.view === pp.view;
    if (this.tipEndsEpoch()) {
      // Nothing follows the last block of an epoch in that epoch: the next block belongs to the new membership.
      this.reject('bad-header', pp.from);
      if (fresh) this.startViewChange(this.view + 1n, 'proposal after the end of the epoch');
      return false;
    }
    if (!equalBytes(h.prevHash, this.tip.hash)) {
      this.reject('bad-header', pp.from);
      if (fresh) this.startViewChange(this.view + 1n, 'proposal does not extend the chain');
      return false;
    }
    const parentTs = this.tip.header?.timestampMs ?? 0n;
    // Backups bound a fresh proposal's timestamp by their own clock and keep time monotonic.
    if (fresh && (h.timestampMs < parentTs || absDiff(h.timestampMs, BigInt(this.nowMs)) > BigInt(this.cfg.timestampWindowMs))) {
      this.reject('bad-timestamp', pp.from);
      this.startViewChange(this.view + 1n, 'timestamp outside the window');
      return false;
    }
    const exec = this.deps.executor.apply(this.tip.state, { seq: pp.seq, batch: pp.batch, timestampMs: h.timestampMs });
    if (!this.matchesExecution(h, exec)) {
      this.reject('roots-mismatch', pp.from);
      this.startViewChange(this.view + 1n, 'proposed roots differ from re-execution');
      return false;
    }
    const hash = headerHash(this.deps.backend, h);
    const slot = this.slot(pp.seq);
    slot.accepted = { view: pp.view, prePrepare: pp, hash, hashHex: bytesToHex(hash), exec };
    this.tip = { seq: pp.seq, header: h, hash, state: exec.state };
    for (const r of pp.batch) this.inTip.add(requestKey(r));
    this.maybeSendPrepare(slot);
    this.checkPrepared(slot);
    return true;
  }

  /** Prepare in order: n only once n - 1 is prepared in this view, committed, or settled by the view's base. */
  private maybeSendPrepare(slot: Slot<S>): void {
    const accepted = slot.accepted;
    if (!accepted || accepted.view !== this.view || this.status !== 'normal') return;
    if (this.primary === this.cfg.replicaId || slot.sentPrepare?.view === this.view) return;
    const prevSeq = slot.seq - 1n;
    const prevReady = prevSeq <= this.committed.seq || prevSeq <= this.viewBaseSeq || this.slots.get(prevSeq)?.preparedView === this.view;
    if (!prevReady) return;
    if (!this.recordVote({ phase: 'prepare', view: this.view, seq: slot.seq, headerHash: accepted.hash })) return;
    const prepare = this.sign<Prepare>({ type: 'prepare', epoch: this.membership.epoch, from: this.cfg.replicaId, view: this.view, seq: slot.seq, headerHash: accepted.hash });
    slot.sentPrepare = prepare;
    addVote(slot.prepares, prepareKey(this.view, accepted.hash), prepare);
    this.emit({ type: 'broadcast', message: prepare });
  }

  private onPrepare(p: Prepare): void {
    if (p.view !== this.view) return this.reject(p.view < this.view ? 'old-view' : 'future-view', p.from);
    if (p.seq <= this.committed.seq) return;
    if (!this.inWindow(p.seq)) return this.reject('outside-window', p.from);
    if (p.from === primaryOf(this.membership, p.view)) return this.reject('not-primary', p.from);
    const slot = this.slot(p.seq);
    if (slot.prepares.get(prepareKey(p.view, p.headerHash))?.has(p.from)) return this.reject('duplicate', p.from);
    if (!this.verify(p)) return;
    this.observe(p);
    // One vote per sender and slot: a second, conflicting one is evidence, not a vote.
    if (hasVoteFrom(slot.prepares, `${p.view}:`, p.from)) return;
    addVote(slot.prepares, prepareKey(p.view, p.headerHash), p);
    this.checkPrepared(slot);
  }

  /** PBFT 4.2: prepared = the pre-prepare plus quorum - 1 matching prepares of distinct backups. */
  private checkPrepared(slot: Slot<S>): void {
    const accepted = slot.accepted;
    if (!accepted || this.status !== 'normal' || slot.preparedView === accepted.view) return;
    const prepares = slot.prepares.get(prepareKey(accepted.view, accepted.hash));
    if ((prepares?.size ?? 0) < this.preparedThreshold) return;
    slot.preparedView = accepted.view;
    slot.preparedCert = { prePrepare: accepted.prePrepare, prepares: [...(prepares?.values() ?? [])].slice(0, this.preparedThreshold) };
    this.emit({ type: 'persist-prepared', certificate: slot.preparedCert });
    if (slot.sentCommit?.view !== accepted.view && this.recordVote({ phase: 'commit', view: accepted.view, seq: slot.seq, headerHash: accepted.hash })) {
      const commit = this.sign<Commit>({ type: 'commit', epoch: this.membership.epoch, from: this.cfg.replicaId, view: accepted.view, seq: slot.seq, headerHash: accepted.hash });
      slot.sentCommit = commit;
      addVote(slot.commits, prepareKey(accepted.view, accepted.hash), commit);
      this.emit({ type: 'broadcast', message: commit });
    }
    const next = this.slots.get(slot.seq + 1n);
    if (next) {
      this.maybeSendPrepare(next);
      this.checkPrepared(next);
    }
  }

  private onCommit(c: Commit): void {
    if (c.seq <= this.committed.seq) return;
    if (!this.inWindow(c.seq)) {
      // A commit beyond our window means the others moved on: catch up by state transfer.
      if (c.seq > this.stable.seq) this.needFetch = true;
      return this.reject('outside-window', c.from);
    }
    // Commits of recent views only: a quorum of an older view still certifies, but memory stays bounded.
    if (c.view > this.view || c.view + consensusLimits.futureViewMax < this.view) return this.reject(c.view > this.view ? 'future-view' : 'old-view', c.from);
    const slot = this.slot(c.seq);
    const key = prepareKey(c.view, c.headerHash);
    if (slot.commits.get(key)?.has(c.from)) return this.reject('duplicate', c.from);
    if (!this.verify(c)) return;
    this.observe(c);
    if (hasVoteFrom(slot.commits, `${c.view}:`, c.from)) return;
    addVote(slot.commits, key, c);
  }

  /** Executes committed blocks strictly in sequence order (PBFT 4.2, committed-local). */
  private tryExecute(): void {
    for (;;) {
      const seq = this.committed.seq + 1n;
      const slot = this.slots.get(seq);
      if (!slot) return;
      let winner: [string, Map<string, Commit>] | undefined;
      for (const entry of slot.commits) if (entry[1].size >= this.committedThreshold) winner = entry;
      if (!winner) return;
      const [key, commits] = winner;
      const [viewText, hex] = key.split(':') as [string, string];
      const commitView = BigInt(viewText);
      const pp = slot.accepted?.hashHex === hex ? slot.accepted.prePrepare : slot.preparedCert && bytesToHex(headerHash(this.deps.backend, slot.preparedCert.prePrepare.header)) === hex ? slot.preparedCert.prePrepare : undefined;
      if (!pp || !equalBytes(pp.header.prevHash, this.committed.hash)) {
        this.needFetch = true;
        return;
      }
      const exec = slot.accepted?.hashHex === hex ? slot.accepted.exec : this.deps.executor.apply(this.committed.state, { seq, batch: pp.batch, timestampMs: pp.header.timestampMs });
      assert(this.matchesExecution(pp.header, exec), 'a quorum committed roots that re-execution does not give');
      const signatures = this.membership.replicas.filter((r) => commits.has(r.id)).map((r) => ({ replicaId: r.id, signature: (commits.get(r.id) as Commit).signature }));
      this.commitBlock({ header: pp.header, batch: pp.batch, certificate: { header: pp.header, commitView, signatures } }, exec);
    }
  }

  private commitBlock(block: CommittedBlock, exec: ExecutionResult<S>, viaTransfer = false): void {
    const { state, replies } = exec;
    const hash = headerHash(this.deps.backend, block.header);
    const onTentativeChain = this.slots.get(block.header.height)?.accepted?.hashHex === bytesToHex(hash);
    this.committed = { seq: block.header.height, header: block.header, hash, state };
    if (!onTentativeChain || this.tip.seq < this.committed.seq) {
      // Our tentative chain diverged from what a quorum committed: drop it.
      this.resetTip();
      for (const [seq, slot] of this.slots) if (seq > this.committed.seq) slot.accepted = undefined;
      this.buffered.clear();
    }
    this.needFetch = false;
    this.lastProgressMs = this.nowMs;
    // PBFT 4.5.2 resets the timeout on progress of the current view. A block caught up by state
    // transfer, or committed while changing view, is not that: resetting there would let this
    // replica race ahead of the others' doubled timeouts and change views alone.
    if (this.status === 'normal' && !viaTransfer) this.viewChangeTimeoutMs = this.cfg.viewChangeTimeoutMs;
    this.emit({ type: 'commit', block, replies: [...replies] });
    for (const r of block.batch) {
      const key = requestKey(r);
      this.dropPending(key);
      this.inTip.delete(key);
    }
    for (const reply of replies) this.emit({ type: 'reply', reply });
    const next = this.slots.get(block.header.height + 1n);
    if (next) {
      this.maybeSendPrepare(next);
      this.checkPrepared(next);
    }
    if (block.header.nextMembershipHash !== null) {
      this.enterEpoch(exec.nextMembership as Membership, block, hash);
      return;
    }
    if (this.member && block.header.height % BigInt(this.cfg.checkpointInterval) === 0n) {
      const cp = this.sign<Checkpoint>({ type: 'checkpoint', epoch: this.membership.epoch, from: this.cfg.replicaId, seq: block.header.height, headerHash: hash });
      this.emit({ type: 'broadcast', message: cp });
      this.addCheckpointVote(cp);
    }
  }

  // ---- checkpoints and garbage collection (PBFT 4.3) --------------------------------------

  private onCheckpoint(cp: Checkpoint): void {
    if (cp.seq <= this.stable.seq || cp.seq % BigInt(this.cfg.checkpointInterval) !== 0n) return;
    // Checkpoints up to a window past what we committed: enough to re-anchor after catching up, bounded in memory.
    if (cp.seq > maxBig(this.stable.seq, this.committed.seq) + BigInt(this.cfg.watermarkWindow)) return this.reject('outside-window', cp.from);
    if (this.checkpointVotes.get(cp.seq)?.get(bytesToHex(cp.headerHash))?.has(cp.from)) return this.reject('duplicate', cp.from);
    if (!this.verify(cp)) return;
    this.observe(cp);
    if (hasVoteFrom(this.checkpointVotes.get(cp.seq) ?? new Map(), '', cp.from)) return;
    this.addCheckpointVote(cp);
  }

  private addCheckpointVote(cp: Checkpoint): void {
    let bySeq = this.checkpointVotes.get(cp.seq);
    if (!bySeq) {
      bySeq = new Map();
      this.checkpointVotes.set(cp.seq, bySeq);
    }
    const votes = addVote(bySeq, bytesToHex(cp.headerHash), cp);
    if (votes.size >= this.quorum && cp.seq > this.stable.seq) this.makeStable({ seq: cp.seq, headerHash: cp.headerHash, proof: [...votes.values()] });
  }

  private makeStable(proof: CheckpointProof): void {
    this.stable = proof;
    this.emit({ type: 'stable-checkpoint', checkpoint: proof });
    if (proof.seq > this.committed.seq) this.needFetch = true;
    for (const seq of this.slots.keys()) if (seq <= proof.seq) this.slots.delete(seq);
    for (const seq of this.buffered.keys()) if (seq <= proof.seq) this.buffered.delete(seq);
    for (const seq of this.checkpointVotes.keys()) if (seq <= proof.seq) this.checkpointVotes.delete(seq);
    for (const key of this.votes.keys()) if (BigInt(key.split('|')[2] as string) <= proof.seq) this.votes.delete(key);
    this.evidence.collectGarbage(proof.seq);
  }

  // ---- view change (PBFT 4.4) -------------------------------------------------------------

  /**
   * PBFT 4.5.2: the timer for view v + 1 runs from when a quorum of VIEW-CHANGEs for v + 1 is in,
   * so one replica cannot run ahead alone through views nobody else is in. As a safety net, a
   * replica that never sees that quorum still moves on after four timeouts.
   */
  private viewChangeTimedOut(now: number): boolean {
    if (this.viewChangeQuorumSinceMs !== undefined) return now - this.viewChangeQuorumSinceMs > this.viewChangeTimeoutMs;
    return now - this.viewChangeStartedMs > 4 * this.viewChangeTimeoutMs;
  }

  private startViewChange(newView: bigint, reason: string): void {
    if (newView <= this.view) return;
    this.view = newView;
    this.status = 'view-change';
    this.viewChangeStartedMs = this.nowMs;
    this.viewChangeQuorumSinceMs = undefined;
    this.currentNewView = undefined;
    this.emit({ type: 'persist-view', view: newView });
    this.emit({ type: 'view-change-started', view: newView, reason });
    this.resetTip();
    this.buffered.clear();
    for (const slot of this.slots.values()) slot.accepted = undefined;
    this.emit({ type: 'broadcast', message: this.ownViewChange() });
    this.noteViewChangeQuorum();
    this.maybeSendNewView();
  }

  private noteViewChangeQuorum(): void {
    if (this.status !== 'view-change' || this.viewChangeQuorumSinceMs !== undefined) return;
    if ((this.viewChanges.get(this.view)?.size ?? 0) >= this.quorum) this.viewChangeQuorumSinceMs = this.nowMs;
  }

  /** This replica's VIEW-CHANGE for the view it is moving to: its stable checkpoint and every prepared certificate above it. */
  private ownViewChange(): ViewChange {
    const existing = this.viewChanges.get(this.view)?.get(this.cfg.replicaId);
    if (existing) return existing;
    const prepared = [...this.slots.values()]
      .filter((s) => s.preparedCert !== undefined && s.seq > this.stable.seq)
      .sort((a, b) => (a.seq < b.seq ? -1 : 1))
      .map((s) => s.preparedCert as PreparedCertificate);
    const vc = this.sign<ViewChange>({ type: 'view-change', epoch: this.membership.epoch, from: this.cfg.replicaId, newView: this.view, checkpoint: this.stable, prepared });
    this.storeViewChange(vc);
    return vc;
  }

  private onViewChange(vc: ViewChange): void {
    if (vc.newView <= this.view && !(vc.newView === this.view && this.status === 'view-change')) {
      // A replica behind us: the primary of a view it has not installed answers with that NEW-VIEW,
      // and we re-send our own VIEW-CHANGE for its view if we made one, so it can reach a quorum there.
      this.resendNewViewTo(vc.from, vc.newView);
      this.resendViewChangeTo(vc.from, vc.newView);
      return;
    }
    if (vc.newView > this.view + consensusLimits.futureViewMax) return this.reject('future-view', vc.from);
    if (this.viewChanges.get(vc.newView)?.has(vc.from)) return this.reject('duplicate', vc.from);
    const verdict = checkViewChange(this.ctx, vc);
    if (!verdict.ok) return this.reject(verdict.why === 'signature' ? 'bad-signature' : 'bad-view-change', vc.from);
    this.observe(vc);
    this.storeViewChange(vc);
    // PBFT 4.5.2: f + 1 replicas asking for later views prove at least one honest one did; join the smallest.
    const senders = new Map<string, bigint>();
    for (const [view, byFrom] of this.viewChanges) {
      if (view <= this.view) continue;
      for (const from of byFrom.keys()) senders.set(from, senders.has(from) ? minBig(senders.get(from) as bigint, view) : view);
    }
    if (senders.size >= this.membership.f + 1) this.startViewChange([...senders.values()].reduce(minBig), 'joining f + 1 replicas');
    this.maybeSendNewView();
  }

  private storeViewChange(vc: ViewChange): void {
    let byFrom = this.viewChanges.get(vc.newView);
    if (!byFrom) {
      byFrom = new Map();
      this.viewChanges.set(vc.newView, byFrom);
    }
    if (!byFrom.has(vc.from)) byFrom.set(vc.from, vc);
    if (vc.newView === this.view) this.noteViewChangeQuorum();
  }

  private readonly viewChangeSentTo = new Map<string, number>();
  private resendViewChangeTo(replicaId: string, view: bigint): void {
    const own = this.viewChanges.get(view)?.get(this.cfg.replicaId);
    if (!own) return;
    const last = this.viewChangeSentTo.get(replicaId) ?? -Infinity;
    if (this.nowMs - last < this.cfg.heartbeatIntervalMs / 2) return;
    this.viewChangeSentTo.set(replicaId, this.nowMs);
    this.emit({ type: 'send', to: replicaId, message: own });
  }

  private maybeSendNewView(): void {
    if (this.status !== 'view-change' || this.primary !== this.cfg.replicaId) return;
    const byFrom = this.viewChanges.get(this.view);
    if (!byFrom || byFrom.size < this.quorum || !byFrom.has(this.cfg.replicaId)) return;
    const chosen = this.membership.replicas.filter((r) => byFrom.has(r.id)).slice(0, this.quorum).map((r) => byFrom.get(r.id) as ViewChange);
    const plan = planNewView(this.ctx, chosen);
    const prePrepares = plan.entries.map((e) =>
      this.sign<PrePrepare>({ type: 'pre-prepare', epoch: this.membership.epoch, from: this.cfg.replicaId, view: this.view, seq: e.seq, header: e.header, batch: e.batch }),
    );
    const nv = this.sign<NewView>({ type: 'new-view', epoch: this.membership.epoch, from: this.cfg.replicaId, view: this.view, viewChanges: chosen, prePrepares });
    this.emit({ type: 'broadcast', message: nv });
    this.enterView(nv, plan);
  }

  private onNewView(nv: NewView): void {
    if (nv.view < this.view || (nv.view === this.view && this.status === 'normal')) return;
    if (nv.view > this.view + consensusLimits.futureViewMax) return this.reject('future-view', nv.from);
    if (nv.from !== primaryOf(this.membership, nv.view)) return this.reject('not-primary', nv.from);
    if (!this.verify(nv)) return;
    this.observe(nv);
    const senders = new Set<string>();
    for (const vc of nv.viewChanges) {
      if (vc.newView !== nv.view || senders.has(vc.from) || !checkViewChange(this.ctx, vc).ok) return this.reject('bad-new-view', nv.from);
      senders.add(vc.from);
    }
    if (senders.size < this.quorum) return this.reject('bad-new-view', nv.from);
    const plan = planNewView(this.ctx, nv.viewChanges);
    const carried = { ...plan, entries: nv.prePrepares.map((p) => ({ seq: p.seq, header: p.header, batch: p.batch })) };
    const consistent =
      planKey(this.ctx, plan) === planKey(this.ctx, carried) &&
      nv.prePrepares.every((p) => p.view === nv.view && p.from === nv.from && equalBytes(p.header.batchHash, batchHash(this.deps.backend, p.batch)) && this.verify(p));
    if (!consistent) return this.reject('bad-new-view', nv.from);
    this.enterView(nv, plan);
  }

  private enterView(nv: NewView, plan: NewViewPlan): void {
    this.view = nv.view;
    this.status = 'normal';
    this.currentNewView = nv;
    this.lastNewView = nv;
    this.emit({ type: 'persist-view', view: nv.view, newView: nv });
    this.emit({ type: 'view-entered', view: nv.view });
    this.lastProgressMs = this.nowMs;
    this.lastProposalMs = this.nowMs;
    for (const p of this.pending.values()) p.sinceMs = this.nowMs;
    for (const v of this.viewChanges.keys()) if (v <= nv.view) this.viewChanges.delete(v);
    if (plan.baseSeq > this.stable.seq) this.makeStable(plan.baseProof);
    this.viewBaseSeq = plan.baseSeq;
    this.resetTip();
    this.buffered.clear();
    for (const slot of this.slots.values()) {
      slot.accepted = undefined;
      for (const key of slot.prepares.keys()) if (BigInt(key.split(':')[0] as string) < nv.view) slot.prepares.delete(key);
    }
    for (const pp of nv.prePrepares) {
      if (pp.seq > this.committed.seq) this.buffered.set(pp.seq, pp);
      this.observe(pp);
    }
    this.acceptBuffered();
  }

  private resendNewViewTo(replicaId: string, wantedView: bigint): void {
    const nv = this.lastNewView;
    if (!nv || nv.from !== this.cfg.replicaId || nv.view < wantedView) return;
    const last = this.newViewSentTo.get(replicaId) ?? -Infinity;
    if (this.nowMs - last < this.cfg.heartbeatIntervalMs) return;
    this.newViewSentTo.set(replicaId, this.nowMs);
    this.emit({ type: 'send', to: replicaId, message: nv });
  }

  // ---- primary: batching, pipelining, heartbeats --------------------------------------------

  private maybePropose(): void {
    if (!this.member || this.status !== 'normal' || this.primary !== this.cfg.replicaId) return;
    // The first block of an epoch waits for the new membership's quorum to accept the hand-over,
    // so every block of the epoch can be verified by a client walking the epoch chain.
    if (this.link !== undefined && !this.link.complete) return;
    for (let proposals = 0; proposals < 8; proposals++) {
      if (this.tipEndsEpoch()) return;
      const seq = this.tip.seq + 1n;
      if (!this.inWindow(seq) || this.tip.seq < this.maxPlannedSeq()) return;
      if (this.tip.seq - this.committed.seq >= BigInt(this.cfg.pipelineDepth)) return;
      const batch = this.takeBatch();
      const heartbeatDue = this.nowMs - this.lastProposalMs >= this.cfg.heartbeatIntervalMs;
      if (batch.length === 0 && !heartbeatDue) return;
      this.propose(seq, batch);
    }
  }

  private maxPlannedSeq(): bigint {
    const entries = this.currentNewView?.prePrepares ?? [];
    return entries.length === 0 ? 0n : (entries[entries.length - 1] as PrePrepare).seq;
  }

  private takeBatch(): ClientRequest[] {
    const batch: ClientRequest[] = [];
    let bytes = 0;
    for (const [key, { request }] of this.pending) {
      if (this.inTip.has(key)) continue;
      const status = this.deps.executor.replyFor(this.tip.state, request.clientId, request.requestId);
      if (status !== 'unknown') {
        if (this.deps.executor.replyFor(this.committed.state, request.clientId, request.requestId) !== 'unknown') this.dropPending(key);
        continue;
      }
      if (batch.length >= this.cfg.batchRequestsMax || bytes + request.payload.length > this.cfg.batchBytesMax) break;
      if (batch.some((r) => r.clientId === request.clientId)) continue;
      batch.push(request);
      bytes += request.payload.length;
    }
    return batch;
  }

  private propose(seq: bigint, batch: ClientRequest[]): void {
    const parent = this.tip;
    const parentTs = parent.header?.timestampMs ?? 0n;
    const timestampMs = maxBig(BigInt(this.nowMs), parentTs);
    const exec = this.deps.executor.apply(parent.state, { seq, batch, timestampMs });
    const header: BlockHeader = {
      chainId: this.cfg.chainId,
      epoch: this.membership.epoch,
      view: this.view,
      height: seq,
      prevHash: parent.hash,
      batchHash: batchHash(this.deps.backend, batch),
      stateRoot: exec.stateRoot,
      logRoot: exec.logRoot,
      logSize: exec.logSize,
      timestampMs,
      nextMembershipHash: exec.nextMembership ? membershipHash(this.deps.backend, exec.nextMembership) : null,
    };
    const hash = headerHash(this.deps.backend, header);
    if (!this.recordVote({ phase: 'pre-prepare', view: this.view, seq, headerHash: hash })) return;
    const pp = this.sign<PrePrepare>({ type: 'pre-prepare', epoch: this.membership.epoch, from: this.cfg.replicaId, view: this.view, seq, header, batch });
    const slot = this.slot(seq);
    slot.accepted = { view: this.view, prePrepare: pp, hash, hashHex: bytesToHex(hash), exec };
    this.tip = { seq, header, hash, state: exec.state };
    for (const r of batch) this.inTip.add(requestKey(r));
    this.lastProposalMs = this.nowMs;
    this.emit({ type: 'broadcast', message: pp });
    // With a single replica (quorum 1) nothing else will trigger the next phase.
    this.checkPrepared(slot);
  }

  // ---- epochs (DESIGN section 6) ------------------------------------------------------------

  /** Everything that follows from the membership: quorums, the signing context, this replica's key. */
  private installMembership(m: Membership, epochStart: { seq: bigint; hash: Uint8Array }, signer: Signer | undefined): void {
    this.membership = m;
    this.membershipHashValue = membershipHash(this.deps.backend, m);
    this.epochStart = epochStart;
    this.quorum = membershipQuorum(m);
    this.preparedThreshold = this.deps.unsafeThresholds?.prepared ?? this.quorum - 1;
    this.committedThreshold = this.deps.unsafeThresholds?.committed ?? this.quorum;
    this.ctx = { backend: this.deps.backend, chainId: this.cfg.chainId, membership: m, epochStart, checkpointInterval: this.cfg.checkpointInterval, watermarkWindow: this.cfg.watermarkWindow };
    const own = m.replicas.find((r) => r.id === this.cfg.replicaId);
    const key = own === undefined ? undefined : signer !== undefined && equalBytes(signer.publicKey, own.publicKey) ? signer : this.deps.signerFor?.(own.publicKey);
    // A handle for another key would sign votes nobody counts.
    this.signer = key !== undefined && own !== undefined && equalBytes(key.publicKey, own.publicKey) ? key : undefined;
    this.member = this.signer !== undefined;
    this.ownAccept = undefined;
  }

  /** The tentative chain ends with the last block of the epoch (not yet committed): nothing may follow it in this epoch. */
  private tipEndsEpoch(): boolean {
    return this.tip.seq > this.epochStart.seq && this.tip.header?.nextMembershipHash != null;
  }

  /** A header is what re-execution gives: roots, log size, and the next membership's hash exactly when the batch ends the epoch. */
  private matchesExecution(h: BlockHeader, exec: ExecutionResult<S>): boolean {
    if (!equalBytes(exec.stateRoot, h.stateRoot) || !equalBytes(exec.logRoot, h.logRoot) || exec.logSize !== h.logSize) return false;
    if (exec.nextMembership === undefined) return h.nextMembershipHash === null;
    if (exec.nextMembership.epoch !== this.membership.epoch + 1n || exec.nextMembership.chainId !== this.cfg.chainId) return false;
    return h.nextMembershipHash !== null && equalBytes(h.nextMembershipHash, membershipHash(this.deps.backend, exec.nextMembership));
  }

  /**
   * The block that ends the epoch is committed (certified by the old membership): the next
   * membership votes from the next block on, in view 0, above a stable base that needs no proof.
   */
  private enterEpoch(next: Membership, block: CommittedBlock, hash: Uint8Array): void {
    assert(next !== undefined && block.header.nextMembershipHash !== null && equalBytes(membershipHash(this.deps.backend, next), block.header.nextMembershipHash), 'the executor ended the epoch with another membership');
    const start = { seq: block.header.height, hash };
    this.previousMembership = this.membership;
    this.installMembership(next, start, this.signer);
    this.stable = { seq: start.seq, headerHash: hash, proof: [] };
    this.view = 0n;
    this.status = 'normal';
    this.viewBaseSeq = start.seq;
    this.currentNewView = undefined;
    this.lastNewView = undefined;
    this.viewChangeQuorumSinceMs = undefined;
    this.viewChangeTimeoutMs = this.cfg.viewChangeTimeoutMs;
    this.slots.clear();
    this.buffered.clear();
    this.checkpointVotes.clear();
    this.viewChanges.clear();
    this.votes.clear();
    this.viewChangeSentTo.clear();
    this.newViewSentTo.clear();
    this.acceptSentTo.clear();
    this.evidence.collectGarbage(start.seq);
    this.resetTip();
    this.lastProgressMs = this.nowMs;
    this.lastProposalMs = this.nowMs;
    for (const p of this.pending.values()) p.sinceMs = this.nowMs;
    if (!this.member) {
      this.pending.clear();
      this.pendingByClient.clear();
    }
    this.link = { pending: { lastHeader: block.header, oldCommitView: block.certificate.commitView, oldSignatures: block.certificate.signatures, nextMembership: next }, accepts: new Map(), complete: false };
    this.emit({ type: 'persist-view', view: 0n });
    this.emit({ type: 'epoch-entered', membership: next, startSeq: start.seq, startHash: hash, member: this.member });
    if (this.member) {
      const accept = this.epochAccept();
      this.link.accepts.set(accept.from, accept);
      this.emit({ type: 'broadcast', message: accept });
      this.checkLinkComplete();
    }
  }

  /** This replica's EPOCH-ACCEPT for the current epoch (signed once per epoch and process). */
  private epochAccept(): EpochAccept {
    this.ownAccept ??= this.sign<EpochAccept>({
      type: 'epoch-accept',
      epoch: this.membership.epoch,
      from: this.cfg.replicaId,
      lastHeaderHash: this.epochStart.hash,
      nextMembershipHash: this.membershipHashValue,
    });
    return this.ownAccept;
  }

  private onEpochAccept(a: EpochAccept): void {
    if (this.membership.epoch === 0n || !equalBytes(a.lastHeaderHash, this.epochStart.hash) || !equalBytes(a.nextMembershipHash, this.membershipHashValue)) {
      return this.reject('bad-epoch-accept', a.from);
    }
    const link = this.link;
    if (link === undefined || link.complete) {
      // We hold the link already; the sender does not, or it would not be sending: answer with ours.
      const last = this.acceptSentTo.get(a.from) ?? -Infinity;
      if (this.nowMs - last >= this.cfg.heartbeatIntervalMs / 2) {
        this.acceptSentTo.set(a.from, this.nowMs);
        this.emit({ type: 'send', to: a.from, message: this.epochAccept() });
      }
      return;
    }
    if (link.accepts.has(a.from)) return this.reject('duplicate', a.from);
    if (!this.verify(a)) return;
    this.observe(a);
    link.accepts.set(a.from, a);
    this.checkLinkComplete();
  }

  private checkLinkComplete(): void {
    const link = this.link;
    if (link === undefined || link.complete || link.accepts.size < this.quorum) return;
    link.complete = true;
    const newSignatures = this.membership.replicas.filter((r) => link.accepts.has(r.id)).map((r) => ({ replicaId: r.id, signature: (link.accepts.get(r.id) as EpochAccept).signature }));
    this.emit({ type: 'epoch-link', link: { ...link.pending, newSignatures } });
    link.accepts.clear();
  }

  // ---- retransmission and state transfer ----------------------------------------------------

  /** Re-sends this replica's own votes for uncommitted slots, so dropped messages do not stall a view. */
  private retransmit(): void {
    if (!this.member) return;
    if (this.link !== undefined && !this.link.complete) this.emit({ type: 'broadcast', message: this.epochAccept() });
    if (this.status === 'view-change') {
      // Also after a restart into a view that was never installed: announce where we stand.
      this.emit({ type: 'broadcast', message: this.ownViewChange() });
      return;
    }
    for (const [seq, slot] of this.slots) {
      if (seq <= this.committed.seq) continue;
      if (slot.accepted && slot.accepted.prePrepare.from === this.cfg.replicaId && slot.accepted.view === this.view) this.emit({ type: 'broadcast', message: slot.accepted.prePrepare });
      if (slot.sentPrepare && slot.sentPrepare.view === this.view) this.emit({ type: 'broadcast', message: slot.sentPrepare });
      if (slot.sentCommit && slot.sentCommit.view === this.view) this.emit({ type: 'broadcast', message: slot.sentCommit });
    }
    const lastCp = this.checkpointVotes.get(this.committed.seq - (this.committed.seq % BigInt(this.cfg.checkpointInterval)));
    for (const votes of lastCp?.values() ?? []) {
      const own = votes.get(this.cfg.replicaId);
      if (own) this.emit({ type: 'broadcast', message: own });
    }
  }

  /**
   * f + 1 commits for one header at a height we have not executed, or f + 1
   * checkpoints above our height: at least one honest replica got further
   * than us, and the votes we missed will not be sent again. Catch up by
   * state transfer.
   */
  private othersAreAhead(): boolean {
    const weak = this.membership.f + 1;
    for (const [seq, slot] of this.slots) {
      if (seq <= this.committed.seq) continue;
      for (const votes of slot.commits.values()) if (votes.size >= weak) return true;
    }
    for (const [seq, bySeq] of this.checkpointVotes) {
      if (seq <= this.committed.seq) continue;
      for (const votes of bySeq.values()) if (votes.size >= weak) return true;
    }
    return false;
  }

  /** State transfer: blocks from a peer are untrusted; each needs a valid certificate and must re-execute to its roots. */
  private onBlocks(blocks: readonly CommittedBlock[]): void {
    if (!Array.isArray(blocks) || blocks.length > consensusLimits.transferBlocksMax) return this.reject('oversized', undefined);
    for (const block of blocks) {
      if (typeof block !== 'object' || block === null) return this.reject('bad-block', undefined);
      const h = block.header;
      if (typeof h !== 'object' || h === null || typeof h.height !== 'bigint' || h.height <= this.committed.seq) continue;
      if (h.height !== this.committed.seq + 1n) return;
      const certified = verifyCertificate(this.deps.backend, this.membership, block.certificate);
      if (!certified.ok || !equalBytes(certified.headerHash, headerHash(this.deps.backend, h))) return this.reject('bad-certificate', undefined);
      if (!equalBytes(h.prevHash, this.committed.hash) || !Array.isArray(block.batch) || !equalBytes(h.batchHash, batchHash(this.deps.backend, block.batch))) return this.reject('bad-block', undefined);
      const exec = this.deps.executor.apply(this.committed.state, { seq: h.height, batch: block.batch, timestampMs: h.timestampMs });
      if (!this.matchesExecution(h, exec)) return this.reject('roots-mismatch', undefined);
      this.commitBlock({ header: h, batch: block.batch, certificate: block.certificate }, exec, true);
    }
    if (this.committed.seq < this.stable.seq) this.needFetch = true;
    if (this.status === 'normal' && this.member) this.acceptBuffered();
  }

  // ---- helpers --------------------------------------------------------------------------------

  private slot(seq: bigint): Slot<S> {
    let slot = this.slots.get(seq);
    if (!slot) {
      slot = newSlot<S>(seq);
      this.slots.set(seq, slot);
    }
    return slot;
  }

  private verify(message: PeerMessage): boolean {
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
  private observe(message: PeerMessage): void {
    this.emit({ type: 'verified', message });
    if (message.type === 'view-change' || message.type === 'new-view' || message.type === 'epoch-accept') return;
    const evidence = this.evidence.observe(message);
    if (evidence) this.emit({ type: 'evidence', evidence });
  }

  /** The signer guard: never sign two different digests for one slot, even across restarts (persist first). */
  private recordVote(vote: VoteRecord): boolean {
    const key = voteKey(vote);
    const hex = bytesToHex(vote.headerHash);
    const previous = this.votes.get(key);
    if (previous !== undefined) return previous === hex;
    this.votes.set(key, hex);
    this.emit({ type: 'persist-vote', vote });
    return true;
  }

  private sign<M extends PeerMessage>(unsigned: Omit<M, 'signature'>): M {
    assert(this.signer !== undefined, 'a replica without a vote in this epoch never signs');
    return signMessage<M>(this.ctx as SigningContext, this.signer, unsigned);
  }

  private resetTip(): void {
    this.tip = this.committed;
    this.inTip.clear();
  }

  private dropPending(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    const left = (this.pendingByClient.get(entry.request.clientId) ?? 1) - 1;
    if (left > 0) this.pendingByClient.set(entry.request.clientId, left);
    else this.pendingByClient.delete(entry.request.clientId);
  }

  private oldestPendingMs(): number | undefined {
    let oldest: number | undefined;
    for (const p of this.pending.values()) if (oldest === undefined || p.sinceMs < oldest) oldest = p.sinceMs;
    return oldest;
  }

  private emit(effect: Effect): void {
    this.out.push(effect);
  }

  private reject(reason: RejectReason, from: string | undefined): void {
    this.emit({ type: 'rejected', reason, from });
  }
}

function hasVoteFrom<M>(index: Map<string, Map<string, M>>, keyPrefix: string, from: string): boolean {
  for (const [key, votes] of index) if (key.startsWith(keyPrefix) && votes.has(from)) return true;
  return false;
}

function voteKey(v: VoteRecord): string {
  return `${v.phase}|${v.view}|${v.seq}`;
}

function requestKey(r: ClientRequest): string {
  return `${r.clientId}\u0000${r.requestId}`;
}

function absDiff(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
