// Epochs (DESIGN section 6) as functions over the core's state: installing a
// membership, entering the next epoch when the block that ends the current one
// commits, and collecting the new members' EPOCH-ACCEPTs into the epoch link.
// A replica without a vote in the epoch (a learner) follows by state transfer.

import { assert, type BlockHeader, equalBytes, membershipHash, membershipQuorum, type Membership, type Signer } from '@vcr/proofs';
import type { CoreState } from './core-state';
import type { CommittedBlock, EpochAccept, ExecutionResult } from './types';

/** Everything that follows from the membership: quorums, the signing context, this replica's key. */
export function installMembership<S>(s: CoreState<S>, m: Membership, epochStart: { seq: bigint; hash: Uint8Array }, signer: Signer | undefined): void {
  s.membership = m;
  s.membershipHashValue = membershipHash(s.deps.backend, m);
  s.epochStart = epochStart;
  s.quorum = membershipQuorum(m);
  s.preparedThreshold = s.deps.unsafeThresholds?.prepared ?? s.quorum - 1;
  s.committedThreshold = s.deps.unsafeThresholds?.committed ?? s.quorum;
  s.ctx = { backend: s.deps.backend, chainId: s.cfg.chainId, membership: m, epochStart, checkpointInterval: s.cfg.checkpointInterval, watermarkWindow: s.cfg.watermarkWindow };
  const own = m.replicas.find((r) => r.id === s.cfg.replicaId);
  const key = own === undefined ? undefined : signer !== undefined && equalBytes(signer.publicKey, own.publicKey) ? signer : s.deps.signerFor?.(own.publicKey);
  // A handle for another key would sign votes nobody counts.
  s.signer = key !== undefined && own !== undefined && equalBytes(key.publicKey, own.publicKey) ? key : undefined;
  s.member = s.signer !== undefined;
  s.ownAccept = undefined;
}

/** The tentative chain ends with the last block of the epoch (not yet committed): nothing may follow it in this epoch. */
export function tipEndsEpoch<S>(s: CoreState<S>): boolean {
  return s.tip.seq > s.epochStart.seq && s.tip.header?.nextMembershipHash != null;
}

/** A header is what re-execution gives: roots, log size, and the next membership's hash exactly when the batch ends the epoch. */
export function matchesExecution<S>(s: CoreState<S>, h: BlockHeader, exec: ExecutionResult<S>): boolean {
  if (!equalBytes(exec.stateRoot, h.stateRoot) || !equalBytes(exec.logRoot, h.logRoot) || exec.logSize !== h.logSize) return false;
  if (exec.nextMembership === undefined) return h.nextMembershipHash === null;
  if (exec.nextMembership.epoch !== s.membership.epoch + 1n || exec.nextMembership.chainId !== s.cfg.chainId) return false;
  return h.nextMembershipHash !== null && equalBytes(h.nextMembershipHash, membershipHash(s.deps.backend, exec.nextMembership));
}

/**
 * The block that ends the epoch is committed (certified by the old membership): the next
 * membership votes from the next block on, in view 0, above a stable base that needs no proof.
 */
export function enterEpoch<S>(s: CoreState<S>, next: Membership, block: CommittedBlock, hash: Uint8Array): void {
  assert(next !== undefined && block.header.nextMembershipHash !== null && equalBytes(membershipHash(s.deps.backend, next), block.header.nextMembershipHash), 'the executor ended the epoch with another membership');
  const start = { seq: block.header.height, hash };
  const ended = s.membership;
  s.previousMembership = ended;
  installMembership(s, next, start, s.signer);
  s.stable = { seq: start.seq, headerHash: hash, proof: [] };
  s.view = 0n;
  s.status = 'normal';
  s.viewBaseSeq = start.seq;
  s.currentNewView = undefined;
  s.lastNewView = undefined;
  s.viewChangeQuorumSinceMs = undefined;
  s.viewChangeTimeoutMs = s.cfg.viewChangeTimeoutMs;
  s.slots.clear();
  s.buffered.clear();
  s.checkpointVotes.clear();
  s.viewChanges.clear();
  s.votes.clear();
  s.viewChangeSentTo.clear();
  s.newViewSentTo.clear();
  s.acceptSentTo.clear();
  s.evidence.collectGarbage(start.seq);
  s.resetTip();
  s.lastProgressMs = s.nowMs;
  s.lastProposalMs = s.nowMs;
  for (const p of s.pending.values()) p.sinceMs = s.nowMs;
  if (!s.member) {
    s.pending.clear();
    s.pendingByClient.clear();
  }
  s.link = { pending: { lastHeader: block.header, oldCommitView: block.certificate.commitView, oldSignatures: block.certificate.signatures, nextMembership: next }, accepts: new Map(), complete: false };
  s.emit({ type: 'persist-view', view: 0n });
  // Removed: a seat in the epoch that just ended, none in this one (docs/protocol.md, "Removed while behind").
  const removed = ended.replicas.some((r) => r.id === s.cfg.replicaId) && !next.replicas.some((r) => r.id === s.cfg.replicaId);
  s.emit({ type: 'epoch-entered', membership: next, startSeq: start.seq, startHash: hash, member: s.member, removed });
  if (s.member) {
    const accept = epochAccept(s);
    s.link.accepts.set(accept.from, accept);
    s.emit({ type: 'broadcast', message: accept });
    checkLinkComplete(s);
  }
}

/** This replica's EPOCH-ACCEPT for the current epoch (signed once per epoch and process). */
function epochAccept<S>(s: CoreState<S>): EpochAccept {
  s.ownAccept ??= s.sign<EpochAccept>({
    type: 'epoch-accept',
    epoch: s.membership.epoch,
    from: s.cfg.replicaId,
    lastHeaderHash: s.epochStart.hash,
    nextMembershipHash: s.membershipHashValue,
  });
  return s.ownAccept;
}

/** Until the link is complete, a member re-sends its accept with its other votes. */
export function retransmitEpochAccept<S>(s: CoreState<S>): void {
  if (s.link !== undefined && !s.link.complete) s.emit({ type: 'broadcast', message: epochAccept(s) });
}

export function onEpochAccept<S>(s: CoreState<S>, a: EpochAccept): void {
  if (s.membership.epoch === 0n || !equalBytes(a.lastHeaderHash, s.epochStart.hash) || !equalBytes(a.nextMembershipHash, s.membershipHashValue)) {
    return s.reject('bad-epoch-accept', a.from);
  }
  const link = s.link;
  if (link === undefined || link.complete) {
    // We hold the link already; the sender does not, or it would not be sending: answer with ours.
    const last = s.acceptSentTo.get(a.from) ?? -Infinity;
    if (s.nowMs - last >= s.cfg.heartbeatIntervalMs / 2) {
      s.acceptSentTo.set(a.from, s.nowMs);
      s.emit({ type: 'send', to: a.from, message: epochAccept(s) });
    }
    return;
  }
  if (link.accepts.has(a.from)) return s.reject('duplicate', a.from);
  if (!s.verify(a)) return;
  s.observe(a);
  link.accepts.set(a.from, a);
  checkLinkComplete(s);
}

function checkLinkComplete<S>(s: CoreState<S>): void {
  const link = s.link;
  if (link === undefined || link.complete || link.accepts.size < s.quorum) return;
  link.complete = true;
  const newSignatures = s.membership.replicas.filter((r) => link.accepts.has(r.id)).map((r) => ({ replicaId: r.id, signature: (link.accepts.get(r.id) as EpochAccept).signature }));
  s.emit({ type: 'epoch-link', link: { ...link.pending, newSignatures } });
  link.accepts.clear();
}
