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

import { assert, type BlockHeader, bytesToHex, equalBytes, GENESIS_PREV_HASH, headerHash, type Membership, membershipHash } from '@vcr/proofs';
import { makeStable, onCheckpoint, retransmitCheckpoint, signCheckpoint } from './checkpoints';
import { type CoreDeps, type CoreRestore, CoreState, hasVoteFrom, maxBig, minBig, requestKey, voteKey } from './core-state';
import { enterEpoch, installMembership, matchesExecution, onEpochAccept, retransmitEpochAccept, tipEndsEpoch } from './epoch';
import { consensusLimits } from './limits';
import { batchHash } from './messages';
import { dropPending, oldestPendingMs, onRequest, takeBatch } from './requests';
import { isWellFormedMessage } from './shape';
import { addVote, prepareKey, type Slot } from './slots';
import { checkTransferredBlock, fetchBlocksIfDue, othersAreAhead, suspectLeftBehind } from './transfer';
import type { CheckpointProof, ClientRequest, Commit, CommittedBlock, CoreEvent, Effect, ExecutionResult, NewView, PeerMessage, PrePrepare, Prepare, PreparedCertificate, ViewChange } from './types';
import { checkViewChange, type NewViewPlan, planKey, planNewView, primaryOf } from './view-change';

export type { CoreDeps, CoreRestore } from './core-state';

export class PbftCore<S> {
  /** All mutable state, shared with the handlers in epoch.ts, checkpoints.ts, requests.ts and transfer.ts. */
  private readonly s: CoreState<S>;

  constructor(deps: CoreDeps<S>, restore: CoreRestore<S>) {
    assert(deps.config.watermarkWindow % deps.config.checkpointInterval === 0, 'window must be a multiple of the checkpoint interval');
    assert(deps.config.watermarkWindow <= consensusLimits.watermarkWindowMax, 'window too large');
    assert(Number.isInteger(deps.config.pipelineDepth) && deps.config.pipelineDepth >= 1, 'pipelineDepth must be a positive integer');
    const epochStart = restore.epochStart ?? { seq: 0n, hash: GENESIS_PREV_HASH };
    const header = restore.committedHeader;
    this.s = new CoreState(deps, { seq: header?.height ?? 0n, header, hash: header ? headerHash(deps.backend, header) : GENESIS_PREV_HASH, state: restore.committedState }, restore.nowMs);
    this.s.previousMembership = restore.previousMembership;
    installMembership(this.s, deps.membership, epochStart, deps.signer);
    if (restore.pendingLink) this.s.link = { pending: restore.pendingLink, accepts: new Map(), complete: false };
    assert(this.s.committed.seq >= epochStart.seq, 'the committed block is before the start of the epoch');
    this.s.viewBaseSeq = this.s.committed.seq;
    // The epoch's start is its first stable point; a checkpoint of the previous epoch is not one of this epoch.
    this.s.stable = restore.stableCheckpoint && restore.stableCheckpoint.seq > epochStart.seq ? restore.stableCheckpoint : { seq: epochStart.seq, headerHash: epochStart.hash, proof: [] };
    for (const v of restore.votes ?? []) this.s.votes.set(voteKey(v), bytesToHex(v.headerHash));
    for (const cert of restore.prepared ?? []) {
      const seq = cert.prePrepare.seq;
      if (seq <= this.s.committed.seq) continue;
      const slot = this.s.slot(seq);
      if (slot.preparedView === undefined || cert.prePrepare.view > slot.preparedView) {
        slot.preparedView = cert.prePrepare.view;
        slot.preparedCert = cert;
      }
    }
    this.s.view = restore.view ?? 0n;
    if (this.s.view > 0n) {
      // Re-enter the view only with the NEW-VIEW that installed it; otherwise wait for one (PBFT 4.4).
      this.s.status = 'view-change';
      this.s.viewChangeStartedMs = this.s.nowMs;
      if (restore.newView && restore.newView.view === this.s.view) this.handle({ type: 'message', message: restore.newView });
    }
    this.s.out = [];
  }

  // ---- public surface ------------------------------------------------------------------

  handle(event: CoreEvent): Effect[] {
    this.s.out = [];
    switch (event.type) {
      case 'tick':
        this.onTick(event.nowMs);
        break;
      case 'request':
        onRequest(this.s, event.request);
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
    const effects = this.s.out;
    this.s.out = [];
    return effects;
  }

  get id(): string {
    return this.s.cfg.replicaId;
  }
  get currentView(): bigint {
    return this.s.view;
  }
  get isViewChanging(): boolean {
    return this.s.status === 'view-change';
  }
  get committedSeq(): bigint {
    return this.s.committed.seq;
  }
  get committedHash(): Uint8Array {
    return this.s.committed.hash;
  }
  get committedState(): S {
    return this.s.committed.state;
  }
  get stableCheckpoint(): CheckpointProof {
    return this.s.stable;
  }
  get primary(): string {
    return primaryOf(this.s.membership, this.s.view);
  }
  /** True when an accepted PRE-PREPARE above the committed height holds this request (the primary proposed it). */
  isProposed(clientId: string, requestId: bigint): boolean {
    return this.s.inTip.has(requestKey({ clientId, requestId }));
  }
  get currentMembership(): Membership {
    return this.s.membership;
  }
  get currentEpoch(): bigint {
    return this.s.membership.epoch;
  }
  /** False while this replica has no vote in the current epoch (it follows by state transfer). */
  get isMember(): boolean {
    return this.s.member;
  }
  /** A snapshot for logs, metrics and the simulator's trace. */
  get diagnostics(): Record<string, string | number> {
    return {
      epoch: Number(this.s.membership.epoch),
      member: this.s.member ? 1 : 0,
      view: Number(this.s.view),
      status: this.s.status,
      committed: Number(this.s.committed.seq),
      tip: Number(this.s.tip.seq),
      stable: Number(this.s.stable.seq),
      viewBase: Number(this.s.viewBaseSeq),
      planned: Number(this.maxPlannedSeq()),
      buffered: [...this.s.buffered.keys()].join(','),
      pending: this.s.pending.size,
      needFetch: this.s.needFetch ? 1 : 0,
    };
  }

  /** Sizes of every growing collection, for tests that check memory stays bounded. */
  get footprint(): Record<string, number> {
    return { slots: this.s.slots.size, buffered: this.s.buffered.size, checkpointVotes: this.s.checkpointVotes.size, viewChanges: this.s.viewChanges.size, votes: this.s.votes.size, pending: this.s.pending.size, evidence: this.s.evidence.size, accepts: this.s.link?.accepts.size ?? 0, acceptSentTo: this.s.acceptSentTo.size };
  }

  // ---- events --------------------------------------------------------------------------

  private onTick(nowMs: number): void {
    if (nowMs > this.s.nowMs) this.s.nowMs = nowMs;
    const now = this.s.nowMs;
    // No vote here: follow the certified chain by state transfer, at the fetch pace.
    if (!this.s.member) return fetchBlocksIfDue(this.s);
    if (this.s.status === 'normal') {
      const stalledMs = now - this.s.lastProgressMs;
      if (stalledMs > this.s.cfg.heartbeatIntervalMs + this.s.viewChangeTimeoutMs) {
        this.startViewChange(this.s.view + 1n, 'no progress');
      } else {
        const oldest = oldestPendingMs(this.s);
        if (oldest !== undefined && now - oldest > this.s.cfg.heartbeatIntervalMs + this.s.viewChangeTimeoutMs) this.startViewChange(this.s.view + 1n, 'request not ordered');
      }
    } else if (this.viewChangeTimedOut(now)) {
      // PBFT 4.5.2: the next view change waits twice as long.
      this.s.viewChangeTimeoutMs = Math.min(2 * this.s.viewChangeTimeoutMs, consensusLimits.viewChangeTimeoutMsMax);
      suspectLeftBehind(this.s);
      this.startViewChange(this.s.view + 1n, 'new view not installed in time');
    }
    if (now - this.s.lastRetransmitMs >= this.s.cfg.heartbeatIntervalMs / 2) {
      this.s.lastRetransmitMs = now;
      this.retransmit();
    }
    // Accepted proposals that do not commit, or votes showing others are ahead: the votes we
    // missed will not be sent again (peers that committed stop retransmitting), so ask for blocks.
    if (!this.s.needFetch && now - this.s.lastProgressMs > this.s.cfg.fetchRetryMs && (this.s.tip.seq > this.s.committed.seq || othersAreAhead(this.s))) this.s.needFetch = true;
    if (this.s.needFetch) fetchBlocksIfDue(this.s);
  }

  private onMessage(message: PeerMessage): void {
    if (!isWellFormedMessage(message)) return this.s.reject('malformed', typeof message?.from === 'string' ? message.from : undefined);
    if (!this.s.member) return this.s.reject('not-member', message.from);
    if (message.epoch !== this.s.membership.epoch) {
      // A later epoch means the others committed the end of ours: fetch it (rate-limited, so a
      // forged epoch number costs at most a fetch per retry period).
      if (message.epoch > this.s.membership.epoch) this.s.needFetch = true;
      return this.s.reject('wrong-epoch', message.from);
    }
    if (!this.s.membership.replicas.some((r) => r.id === message.from)) return this.s.reject('unknown-sender', message.from);
    if (message.from === this.s.cfg.replicaId && message.type !== 'new-view') return;
    switch (message.type) {
      case 'pre-prepare':
        return this.onPrePrepare(message);
      case 'prepare':
        return this.onPrepare(message);
      case 'commit':
        return this.onCommit(message);
      case 'checkpoint':
        return onCheckpoint(this.s, message);
      case 'view-change':
        return this.onViewChange(message);
      case 'new-view':
        return this.onNewView(message);
      case 'epoch-accept':
        return onEpochAccept(this.s, message);
    }
  }

  // ---- normal case (PBFT 4.2) -------------------------------------------------------------

  private onPrePrepare(pp: PrePrepare): void {
    if (pp.view < this.s.view) return this.s.reject('old-view', pp.from);
    if (pp.view > this.s.view || this.s.status !== 'normal') return this.s.reject('future-view', pp.from);
    if (pp.from !== primaryOf(this.s.membership, pp.view)) return this.s.reject('not-primary', pp.from);
    if (pp.seq <= this.s.committed.seq) return;
    if (!this.s.inWindow(pp.seq)) return this.s.reject('outside-window', pp.from);
    const h = pp.header;
    if (h.height !== pp.seq || h.chainId !== this.s.cfg.chainId || h.epoch !== this.s.membership.epoch) return this.s.reject('bad-header', pp.from);
    if (pp.batch.length > this.s.cfg.batchRequestsMax) return this.s.reject('oversized', pp.from);
    const hash = headerHash(this.s.deps.backend, h);
    const slot = this.s.slots.get(pp.seq);
    const known = slot?.accepted && slot.accepted.view === pp.view ? slot.accepted.hash : this.s.buffered.has(pp.seq) ? headerHash(this.s.deps.backend, (this.s.buffered.get(pp.seq) as PrePrepare).header) : undefined;
    // A retransmission of what we already hold costs no signature check.
    if (known !== undefined && equalBytes(known, hash)) return;
    // Outside a NEW-VIEW a primary may only propose fresh headers of its own view.
    if (h.view !== pp.view) return this.s.reject('bad-header', pp.from);
    if (!this.s.verify(pp)) return;
    this.s.observe(pp);
    if (known !== undefined) {
      // PBFT 4.2: one pre-prepare per (view, seq). A second, validly signed, is equivocation.
      this.s.reject('conflicting-pre-prepare', pp.from);
      this.startViewChange(this.s.view + 1n, 'primary equivocated');
      return;
    }
    if (!equalBytes(h.batchHash, batchHash(this.s.deps.backend, pp.batch))) return this.s.reject('bad-batch', pp.from);
    if (!pp.batch.every((r) => this.s.deps.validateRequest(r, this.s.membership.epoch))) return this.s.reject('bad-request', pp.from);
    if (this.s.buffered.size >= consensusLimits.futurePrePreparesMax) return this.s.reject('oversized', pp.from);
    this.s.buffered.set(pp.seq, pp);
    this.acceptBuffered();
  }

  /** Accepts buffered pre-prepares strictly in sequence order, executing each on the tentative chain. */
  private acceptBuffered(): void {
    for (;;) {
      const pp = this.s.buffered.get(this.s.tip.seq + 1n);
      if (pp === undefined) return;
      this.s.buffered.delete(pp.seq);
      if (!this.acceptPrePrepare(pp)) {
        this.s.buffered.clear();
        return;
      }
    }
  }

  private acceptPrePrepare(pp: PrePrepare): boolean {
    const h = pp.header;
    const fresh = h.view === pp.view;
    if (tipEndsEpoch(this.s)) {
      // Nothing follows the last block of an epoch in that epoch: the next block belongs to the new membership.
      this.s.reject('bad-header', pp.from);
      if (fresh) this.startViewChange(this.s.view + 1n, 'proposal after the end of the epoch');
      return false;
    }
    if (!equalBytes(h.prevHash, this.s.tip.hash)) {
      this.s.reject('bad-header', pp.from);
      if (fresh) this.startViewChange(this.s.view + 1n, 'proposal does not extend the chain');
      return false;
    }
    const parentTs = this.s.tip.header?.timestampMs ?? 0n;
    // Backups bound a fresh proposal's timestamp by their own clock and keep time monotonic.
    if (fresh && (h.timestampMs < parentTs || absDiff(h.timestampMs, BigInt(this.s.nowMs)) > BigInt(this.s.cfg.timestampWindowMs))) {
      this.s.reject('bad-timestamp', pp.from);
      this.startViewChange(this.s.view + 1n, 'timestamp outside the window');
      return false;
    }
    const exec = this.s.deps.executor.apply(this.s.tip.state, { seq: pp.seq, batch: pp.batch, timestampMs: h.timestampMs });
    if (!matchesExecution(this.s, h, exec)) {
      this.s.reject('roots-mismatch', pp.from);
      this.startViewChange(this.s.view + 1n, 'proposed roots differ from re-execution');
      return false;
    }
    const hash = headerHash(this.s.deps.backend, h);
    const slot = this.s.slot(pp.seq);
    slot.accepted = { view: pp.view, prePrepare: pp, hash, hashHex: bytesToHex(hash), exec };
    this.s.tip = { seq: pp.seq, header: h, hash, state: exec.state };
    for (const r of pp.batch) this.s.inTip.add(requestKey(r));
    this.maybeSendPrepare(slot);
    this.checkPrepared(slot);
    return true;
  }

  /** Prepare in order: n only once n - 1 is prepared in this view, committed, or settled by the view's base. */
  private maybeSendPrepare(slot: Slot<S>): void {
    const accepted = slot.accepted;
    if (!accepted || accepted.view !== this.s.view || this.s.status !== 'normal') return;
    if (this.primary === this.s.cfg.replicaId || slot.sentPrepare?.view === this.s.view) return;
    const prevSeq = slot.seq - 1n;
    const prevReady = prevSeq <= this.s.committed.seq || prevSeq <= this.s.viewBaseSeq || this.s.slots.get(prevSeq)?.preparedView === this.s.view;
    if (!prevReady) return;
    if (!this.s.recordVote({ phase: 'prepare', view: this.s.view, seq: slot.seq, headerHash: accepted.hash })) return;
    const prepare = this.s.sign<Prepare>({ type: 'prepare', epoch: this.s.membership.epoch, from: this.s.cfg.replicaId, view: this.s.view, seq: slot.seq, headerHash: accepted.hash });
    slot.sentPrepare = prepare;
    addVote(slot.prepares, prepareKey(this.s.view, accepted.hash), prepare);
    this.s.emit({ type: 'broadcast', message: prepare });
  }

  private onPrepare(p: Prepare): void {
    if (p.view !== this.s.view) return this.s.reject(p.view < this.s.view ? 'old-view' : 'future-view', p.from);
    if (p.seq <= this.s.committed.seq) return;
    if (!this.s.inWindow(p.seq)) return this.s.reject('outside-window', p.from);
    if (p.from === primaryOf(this.s.membership, p.view)) return this.s.reject('not-primary', p.from);
    const slot = this.s.slot(p.seq);
    if (slot.prepares.get(prepareKey(p.view, p.headerHash))?.has(p.from)) return this.s.reject('duplicate', p.from);
    if (!this.s.verify(p)) return;
    this.s.observe(p);
    // One vote per sender and slot: a second, conflicting one is evidence, not a vote.
    if (hasVoteFrom(slot.prepares, `${p.view}:`, p.from)) return;
    addVote(slot.prepares, prepareKey(p.view, p.headerHash), p);
    this.checkPrepared(slot);
  }

  /** PBFT 4.2: prepared = the pre-prepare plus quorum - 1 matching prepares of distinct backups. */
  private checkPrepared(slot: Slot<S>): void {
    const accepted = slot.accepted;
    if (!accepted || this.s.status !== 'normal' || slot.preparedView === accepted.view) return;
    const prepares = slot.prepares.get(prepareKey(accepted.view, accepted.hash));
    if ((prepares?.size ?? 0) < this.s.preparedThreshold) return;
    slot.preparedView = accepted.view;
    slot.preparedCert = { prePrepare: accepted.prePrepare, prepares: [...(prepares?.values() ?? [])].slice(0, this.s.preparedThreshold) };
    this.s.emit({ type: 'persist-prepared', certificate: slot.preparedCert });
    if (slot.sentCommit?.view !== accepted.view && this.s.recordVote({ phase: 'commit', view: accepted.view, seq: slot.seq, headerHash: accepted.hash })) {
      const commit = this.s.sign<Commit>({ type: 'commit', epoch: this.s.membership.epoch, from: this.s.cfg.replicaId, view: accepted.view, seq: slot.seq, headerHash: accepted.hash });
      slot.sentCommit = commit;
      addVote(slot.commits, prepareKey(accepted.view, accepted.hash), commit);
      this.s.emit({ type: 'broadcast', message: commit });
    }
    const next = this.s.slots.get(slot.seq + 1n);
    if (next) {
      this.maybeSendPrepare(next);
      this.checkPrepared(next);
    }
  }

  private onCommit(c: Commit): void {
    if (c.seq <= this.s.committed.seq) return;
    if (!this.s.inWindow(c.seq)) {
      // A commit beyond our window means the others moved on: catch up by state transfer.
      if (c.seq > this.s.stable.seq) this.s.needFetch = true;
      return this.s.reject('outside-window', c.from);
    }
    // Commits of recent views only: a quorum of an older view still certifies, but memory stays bounded.
    if (c.view > this.s.view || c.view + consensusLimits.futureViewMax < this.s.view) return this.s.reject(c.view > this.s.view ? 'future-view' : 'old-view', c.from);
    const slot = this.s.slot(c.seq);
    const key = prepareKey(c.view, c.headerHash);
    if (slot.commits.get(key)?.has(c.from)) return this.s.reject('duplicate', c.from);
    if (!this.s.verify(c)) return;
    this.s.observe(c);
    if (hasVoteFrom(slot.commits, `${c.view}:`, c.from)) return;
    addVote(slot.commits, key, c);
  }

  /** Executes committed blocks strictly in sequence order (PBFT 4.2, committed-local). */
  private tryExecute(): void {
    for (;;) {
      const seq = this.s.committed.seq + 1n;
      const slot = this.s.slots.get(seq);
      if (!slot) return;
      let winner: [string, Map<string, Commit>] | undefined;
      for (const entry of slot.commits) if (entry[1].size >= this.s.committedThreshold) winner = entry;
      if (!winner) return;
      const [key, commits] = winner;
      const [viewText, hex] = key.split(':') as [string, string];
      const commitView = BigInt(viewText);
      const pp = slot.accepted?.hashHex === hex ? slot.accepted.prePrepare : slot.preparedCert && bytesToHex(headerHash(this.s.deps.backend, slot.preparedCert.prePrepare.header)) === hex ? slot.preparedCert.prePrepare : undefined;
      if (!pp || !equalBytes(pp.header.prevHash, this.s.committed.hash)) {
        this.s.needFetch = true;
        return;
      }
      const exec = slot.accepted?.hashHex === hex ? slot.accepted.exec : this.s.deps.executor.apply(this.s.committed.state, { seq, batch: pp.batch, timestampMs: pp.header.timestampMs });
      assert(matchesExecution(this.s, pp.header, exec), 'a quorum committed roots that re-execution does not give');
      const signatures = this.s.membership.replicas.filter((r) => commits.has(r.id)).map((r) => ({ replicaId: r.id, signature: (commits.get(r.id) as Commit).signature }));
      this.commitBlock({ header: pp.header, batch: pp.batch, certificate: { header: pp.header, commitView, signatures } }, exec);
    }
  }

  private commitBlock(block: CommittedBlock, exec: ExecutionResult<S>, viaTransfer = false): void {
    const { state, replies } = exec;
    const hash = headerHash(this.s.deps.backend, block.header);
    const onTentativeChain = this.s.slots.get(block.header.height)?.accepted?.hashHex === bytesToHex(hash);
    this.s.committed = { seq: block.header.height, header: block.header, hash, state };
    if (!onTentativeChain || this.s.tip.seq < this.s.committed.seq) {
      // Our tentative chain diverged from what a quorum committed: drop it.
      this.s.resetTip();
      for (const [seq, slot] of this.s.slots) if (seq > this.s.committed.seq) slot.accepted = undefined;
      this.s.buffered.clear();
    }
    this.s.needFetch = false;
    this.s.lastProgressMs = this.s.nowMs;
    // PBFT 4.5.2 resets the timeout on progress of the current view. A block caught up by state
    // transfer, or committed while changing view, is not that: resetting there would let this
    // replica race ahead of the others' doubled timeouts and change views alone.
    if (this.s.status === 'normal' && !viaTransfer) this.s.viewChangeTimeoutMs = this.s.cfg.viewChangeTimeoutMs;
    this.s.emit({ type: 'commit', block, replies: [...replies], ...(exec.leaves === undefined ? {} : { leaves: exec.leaves }) });
    for (const r of block.batch) {
      const key = requestKey(r);
      dropPending(this.s, key);
      this.s.inTip.delete(key);
    }
    for (const reply of replies) this.s.emit({ type: 'reply', reply });
    const next = this.s.slots.get(block.header.height + 1n);
    if (next) {
      this.maybeSendPrepare(next);
      this.checkPrepared(next);
    }
    if (block.header.nextMembershipHash !== null) {
      enterEpoch(this.s, exec.nextMembership as Membership, block, hash);
      return;
    }
    signCheckpoint(this.s, block.header.height, hash);
  }


  // ---- view change (PBFT 4.4) -------------------------------------------------------------

  /**
   * PBFT 4.5.2: the timer for view v + 1 runs from when a quorum of VIEW-CHANGEs for v + 1 is in,
   * so one replica cannot run ahead alone through views nobody else is in. As a safety net, a
   * replica that never sees that quorum still moves on after four timeouts.
   */
  private viewChangeTimedOut(now: number): boolean {
    if (this.s.viewChangeQuorumSinceMs !== undefined) return now - this.s.viewChangeQuorumSinceMs > this.s.viewChangeTimeoutMs;
    return now - this.s.viewChangeStartedMs > 4 * this.s.viewChangeTimeoutMs;
  }

  private startViewChange(newView: bigint, reason: string): void {
    if (newView <= this.s.view) return;
    this.s.view = newView;
    this.s.status = 'view-change';
    this.s.viewChangeStartedMs = this.s.nowMs;
    this.s.viewChangeQuorumSinceMs = undefined;
    this.s.currentNewView = undefined;
    this.s.emit({ type: 'persist-view', view: newView });
    this.s.emit({ type: 'view-change-started', view: newView, reason });
    this.s.resetTip();
    this.s.buffered.clear();
    for (const slot of this.s.slots.values()) slot.accepted = undefined;
    this.s.emit({ type: 'broadcast', message: this.ownViewChange() });
    this.noteViewChangeQuorum();
    this.maybeSendNewView();
  }

  private noteViewChangeQuorum(): void {
    if (this.s.status !== 'view-change' || this.s.viewChangeQuorumSinceMs !== undefined) return;
    if ((this.s.viewChanges.get(this.s.view)?.size ?? 0) >= this.s.quorum) this.s.viewChangeQuorumSinceMs = this.s.nowMs;
  }

  /** This replica's VIEW-CHANGE for the view it is moving to: its stable checkpoint and every prepared certificate above it. */
  private ownViewChange(): ViewChange {
    const existing = this.s.viewChanges.get(this.s.view)?.get(this.s.cfg.replicaId);
    if (existing) return existing;
    const prepared = [...this.s.slots.values()]
      .filter((s) => s.preparedCert !== undefined && s.seq > this.s.stable.seq)
      .sort((a, b) => (a.seq < b.seq ? -1 : 1))
      .map((s) => s.preparedCert as PreparedCertificate);
    const vc = this.s.sign<ViewChange>({ type: 'view-change', epoch: this.s.membership.epoch, from: this.s.cfg.replicaId, newView: this.s.view, checkpoint: this.s.stable, prepared });
    this.storeViewChange(vc);
    return vc;
  }

  private onViewChange(vc: ViewChange): void {
    if (vc.newView <= this.s.view && !(vc.newView === this.s.view && this.s.status === 'view-change')) {
      // A replica behind us: the primary of a view it has not installed answers with that NEW-VIEW,
      // and we re-send our own VIEW-CHANGE for its view if we made one, so it can reach a quorum there.
      this.resendNewViewTo(vc.from, vc.newView);
      this.resendViewChangeTo(vc.from, vc.newView);
      return;
    }
    if (vc.newView > this.s.view + consensusLimits.futureViewMax) return this.s.reject('future-view', vc.from);
    if (this.s.viewChanges.get(vc.newView)?.has(vc.from)) return this.s.reject('duplicate', vc.from);
    const verdict = checkViewChange(this.s.ctx, vc);
    if (!verdict.ok) return this.s.reject(verdict.why === 'signature' ? 'bad-signature' : 'bad-view-change', vc.from);
    this.s.observe(vc);
    this.storeViewChange(vc);
    // PBFT 4.5.2: f + 1 replicas asking for later views prove at least one honest one did; join the smallest.
    const senders = new Map<string, bigint>();
    for (const [view, byFrom] of this.s.viewChanges) {
      if (view <= this.s.view) continue;
      for (const from of byFrom.keys()) senders.set(from, senders.has(from) ? minBig(senders.get(from) as bigint, view) : view);
    }
    if (senders.size >= this.s.membership.f + 1) this.startViewChange([...senders.values()].reduce(minBig), 'joining f + 1 replicas');
    this.maybeSendNewView();
  }

  private storeViewChange(vc: ViewChange): void {
    let byFrom = this.s.viewChanges.get(vc.newView);
    if (!byFrom) {
      byFrom = new Map();
      this.s.viewChanges.set(vc.newView, byFrom);
    }
    if (!byFrom.has(vc.from)) byFrom.set(vc.from, vc);
    if (vc.newView === this.s.view) this.noteViewChangeQuorum();
  }

  private resendViewChangeTo(replicaId: string, view: bigint): void {
    const own = this.s.viewChanges.get(view)?.get(this.s.cfg.replicaId);
    if (!own) return;
    const last = this.s.viewChangeSentTo.get(replicaId) ?? -Infinity;
    if (this.s.nowMs - last < this.s.cfg.heartbeatIntervalMs / 2) return;
    this.s.viewChangeSentTo.set(replicaId, this.s.nowMs);
    this.s.emit({ type: 'send', to: replicaId, message: own });
  }

  private maybeSendNewView(): void {
    if (this.s.status !== 'view-change' || this.primary !== this.s.cfg.replicaId) return;
    const byFrom = this.s.viewChanges.get(this.s.view);
    if (!byFrom || byFrom.size < this.s.quorum || !byFrom.has(this.s.cfg.replicaId)) return;
    const chosen = this.s.membership.replicas.filter((r) => byFrom.has(r.id)).slice(0, this.s.quorum).map((r) => byFrom.get(r.id) as ViewChange);
    const plan = planNewView(this.s.ctx, chosen);
    const prePrepares = plan.entries.map((e) =>
      this.s.sign<PrePrepare>({ type: 'pre-prepare', epoch: this.s.membership.epoch, from: this.s.cfg.replicaId, view: this.s.view, seq: e.seq, header: e.header, batch: e.batch }),
    );
    const nv = this.s.sign<NewView>({ type: 'new-view', epoch: this.s.membership.epoch, from: this.s.cfg.replicaId, view: this.s.view, viewChanges: chosen, prePrepares });
    this.s.emit({ type: 'broadcast', message: nv });
    this.enterView(nv, plan);
  }

  private onNewView(nv: NewView): void {
    if (nv.view < this.s.view || (nv.view === this.s.view && this.s.status === 'normal')) return;
    if (nv.view > this.s.view + consensusLimits.futureViewMax) return this.s.reject('future-view', nv.from);
    if (nv.from !== primaryOf(this.s.membership, nv.view)) return this.s.reject('not-primary', nv.from);
    if (!this.s.verify(nv)) return;
    this.s.observe(nv);
    const senders = new Set<string>();
    for (const vc of nv.viewChanges) {
      if (vc.newView !== nv.view || senders.has(vc.from) || !checkViewChange(this.s.ctx, vc).ok) return this.s.reject('bad-new-view', nv.from);
      senders.add(vc.from);
    }
    if (senders.size < this.s.quorum) return this.s.reject('bad-new-view', nv.from);
    const plan = planNewView(this.s.ctx, nv.viewChanges);
    const carried = { ...plan, entries: nv.prePrepares.map((p) => ({ seq: p.seq, header: p.header, batch: p.batch })) };
    const consistent =
      planKey(this.s.ctx, plan) === planKey(this.s.ctx, carried) &&
      nv.prePrepares.every((p) => p.view === nv.view && p.from === nv.from && equalBytes(p.header.batchHash, batchHash(this.s.deps.backend, p.batch)) && this.s.verify(p));
    if (!consistent) return this.s.reject('bad-new-view', nv.from);
    this.enterView(nv, plan);
  }

  private enterView(nv: NewView, plan: NewViewPlan): void {
    this.s.view = nv.view;
    this.s.status = 'normal';
    this.s.currentNewView = nv;
    this.s.lastNewView = nv;
    this.s.emit({ type: 'persist-view', view: nv.view, newView: nv });
    this.s.emit({ type: 'view-entered', view: nv.view });
    this.s.lastProgressMs = this.s.nowMs;
    this.s.lastProposalMs = this.s.nowMs;
    for (const p of this.s.pending.values()) p.sinceMs = this.s.nowMs;
    for (const v of this.s.viewChanges.keys()) if (v <= nv.view) this.s.viewChanges.delete(v);
    if (plan.baseSeq > this.s.stable.seq) makeStable(this.s, plan.baseProof);
    this.s.viewBaseSeq = plan.baseSeq;
    this.s.resetTip();
    this.s.buffered.clear();
    for (const slot of this.s.slots.values()) {
      slot.accepted = undefined;
      for (const key of slot.prepares.keys()) if (BigInt(key.split(':')[0] as string) < nv.view) slot.prepares.delete(key);
    }
    for (const pp of nv.prePrepares) {
      if (pp.seq > this.s.committed.seq) this.s.buffered.set(pp.seq, pp);
      this.s.observe(pp);
    }
    this.acceptBuffered();
  }

  private resendNewViewTo(replicaId: string, wantedView: bigint): void {
    const nv = this.s.lastNewView;
    if (!nv || nv.from !== this.s.cfg.replicaId || nv.view < wantedView) return;
    const last = this.s.newViewSentTo.get(replicaId) ?? -Infinity;
    if (this.s.nowMs - last < this.s.cfg.heartbeatIntervalMs) return;
    this.s.newViewSentTo.set(replicaId, this.s.nowMs);
    this.s.emit({ type: 'send', to: replicaId, message: nv });
  }

  // ---- primary: batching, pipelining, heartbeats --------------------------------------------

  private maybePropose(): void {
    if (!this.s.member || this.s.status !== 'normal' || this.primary !== this.s.cfg.replicaId) return;
    // The first block of an epoch waits for the new membership's quorum to accept the hand-over,
    // so every block of the epoch can be verified by a client walking the epoch chain.
    if (this.s.link !== undefined && !this.s.link.complete) return;
    for (let proposals = 0; proposals < 8; proposals++) {
      if (tipEndsEpoch(this.s)) return;
      const seq = this.s.tip.seq + 1n;
      if (!this.s.inWindow(seq) || this.s.tip.seq < this.maxPlannedSeq()) return;
      if (this.s.tip.seq - this.s.committed.seq >= BigInt(this.s.cfg.pipelineDepth)) return;
      const batch = takeBatch(this.s);
      const heartbeatDue = this.s.nowMs - this.s.lastProposalMs >= this.s.cfg.heartbeatIntervalMs;
      if (batch.length === 0 && !heartbeatDue) return;
      this.propose(seq, batch);
    }
  }

  private maxPlannedSeq(): bigint {
    const entries = this.s.currentNewView?.prePrepares ?? [];
    return entries.length === 0 ? 0n : (entries[entries.length - 1] as PrePrepare).seq;
  }

  private propose(seq: bigint, batch: ClientRequest[]): void {
    const parent = this.s.tip;
    const parentTs = parent.header?.timestampMs ?? 0n;
    const timestampMs = maxBig(BigInt(this.s.nowMs), parentTs);
    const exec = this.s.deps.executor.apply(parent.state, { seq, batch, timestampMs });
    const header: BlockHeader = {
      chainId: this.s.cfg.chainId,
      epoch: this.s.membership.epoch,
      view: this.s.view,
      height: seq,
      prevHash: parent.hash,
      batchHash: batchHash(this.s.deps.backend, batch),
      stateRoot: exec.stateRoot,
      logRoot: exec.logRoot,
      logSize: exec.logSize,
      timestampMs,
      nextMembershipHash: exec.nextMembership ? membershipHash(this.s.deps.backend, exec.nextMembership) : null,
    };
    const hash = headerHash(this.s.deps.backend, header);
    if (!this.s.recordVote({ phase: 'pre-prepare', view: this.s.view, seq, headerHash: hash })) return;
    const pp = this.s.sign<PrePrepare>({ type: 'pre-prepare', epoch: this.s.membership.epoch, from: this.s.cfg.replicaId, view: this.s.view, seq, header, batch });
    const slot = this.s.slot(seq);
    slot.accepted = { view: this.s.view, prePrepare: pp, hash, hashHex: bytesToHex(hash), exec };
    this.s.tip = { seq, header, hash, state: exec.state };
    for (const r of batch) this.s.inTip.add(requestKey(r));
    this.s.lastProposalMs = this.s.nowMs;
    this.s.emit({ type: 'broadcast', message: pp });
    // With a single replica (quorum 1) nothing else will trigger the next phase.
    this.checkPrepared(slot);
  }


  // ---- retransmission and state transfer ----------------------------------------------------

  /** Re-sends this replica's own votes for uncommitted slots, so dropped messages do not stall a view. */
  private retransmit(): void {
    if (!this.s.member) return;
    retransmitEpochAccept(this.s);
    if (this.s.status === 'view-change') {
      // Also after a restart into a view that was never installed: announce where we stand.
      this.s.emit({ type: 'broadcast', message: this.ownViewChange() });
      return;
    }
    for (const [seq, slot] of this.s.slots) {
      if (seq <= this.s.committed.seq) continue;
      if (slot.accepted && slot.accepted.prePrepare.from === this.s.cfg.replicaId && slot.accepted.view === this.s.view) this.s.emit({ type: 'broadcast', message: slot.accepted.prePrepare });
      if (slot.sentPrepare && slot.sentPrepare.view === this.s.view) this.s.emit({ type: 'broadcast', message: slot.sentPrepare });
      if (slot.sentCommit && slot.sentCommit.view === this.s.view) this.s.emit({ type: 'broadcast', message: slot.sentCommit });
    }
    retransmitCheckpoint(this.s);
  }

  /** State transfer: blocks from a peer are untrusted; each needs a valid certificate and must re-execute to its roots. */
  private onBlocks(blocks: readonly CommittedBlock[]): void {
    if (!Array.isArray(blocks) || blocks.length > consensusLimits.transferBlocksMax) return this.s.reject('oversized', undefined);
    for (const block of blocks) {
      const step = checkTransferredBlock(this.s, block);
      if (step.kind === 'stop') return;
      if (step.kind === 'commit') this.commitBlock(step.block, step.exec, true);
    }
    if (this.s.committed.seq < this.s.stable.seq) this.s.needFetch = true;
    if (this.s.status === 'normal' && this.s.member) this.acceptBuffered();
  }
}

function absDiff(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}
