// Checkpoints and garbage collection (PBFT 4.3) as functions over the core's
// state: a member signs a CHECKPOINT every K committed blocks; a quorum of
// matching ones makes that point stable, and everything at or below it is
// collected.

import { bytesToHex } from '@vcr/proofs';
import { type CoreState, hasVoteFrom, maxBig } from './core-state';
import { addVote } from './slots';
import type { Checkpoint, CheckpointProof } from './types';

export function onCheckpoint<S>(s: CoreState<S>, cp: Checkpoint): void {
  if (cp.seq <= s.stable.seq || cp.seq % BigInt(s.cfg.checkpointInterval) !== 0n) return;
  // Checkpoints up to a window past what we committed: enough to re-anchor after catching up, bounded in memory.
  if (cp.seq > maxBig(s.stable.seq, s.committed.seq) + BigInt(s.cfg.watermarkWindow)) return s.reject('outside-window', cp.from);
  if (s.checkpointVotes.get(cp.seq)?.get(bytesToHex(cp.headerHash))?.has(cp.from)) return s.reject('duplicate', cp.from);
  if (!s.verify(cp)) return;
  s.observe(cp);
  if (hasVoteFrom(s.checkpointVotes.get(cp.seq) ?? new Map(), '', cp.from)) return;
  addCheckpointVote(s, cp);
}

/** A member's own CHECKPOINT for a committed block at a multiple of the interval. */
export function signCheckpoint<S>(s: CoreState<S>, seq: bigint, headerHash: Uint8Array): void {
  if (!s.member || seq % BigInt(s.cfg.checkpointInterval) !== 0n) return;
  const cp = s.sign<Checkpoint>({ type: 'checkpoint', epoch: s.membership.epoch, from: s.cfg.replicaId, seq, headerHash });
  s.emit({ type: 'broadcast', message: cp });
  addCheckpointVote(s, cp);
}

/** Re-sends this replica's CHECKPOINT for the last interval it committed, in case it was dropped. */
export function retransmitCheckpoint<S>(s: CoreState<S>): void {
  const lastCp = s.checkpointVotes.get(s.committed.seq - (s.committed.seq % BigInt(s.cfg.checkpointInterval)));
  for (const votes of lastCp?.values() ?? []) {
    const own = votes.get(s.cfg.replicaId);
    if (own) s.emit({ type: 'broadcast', message: own });
  }
}

function addCheckpointVote<S>(s: CoreState<S>, cp: Checkpoint): void {
  let bySeq = s.checkpointVotes.get(cp.seq);
  if (!bySeq) {
    bySeq = new Map();
    s.checkpointVotes.set(cp.seq, bySeq);
  }
  const votes = addVote(bySeq, bytesToHex(cp.headerHash), cp);
  if (votes.size >= s.quorum && cp.seq > s.stable.seq) makeStable(s, { seq: cp.seq, headerHash: cp.headerHash, proof: [...votes.values()] });
}

export function makeStable<S>(s: CoreState<S>, proof: CheckpointProof): void {
  s.stable = proof;
  s.emit({ type: 'stable-checkpoint', checkpoint: proof });
  if (proof.seq > s.committed.seq) s.needFetch = true;
  for (const seq of s.slots.keys()) if (seq <= proof.seq) s.slots.delete(seq);
  for (const seq of s.buffered.keys()) if (seq <= proof.seq) s.buffered.delete(seq);
  for (const seq of s.checkpointVotes.keys()) if (seq <= proof.seq) s.checkpointVotes.delete(seq);
  for (const key of s.votes.keys()) if (BigInt(key.split('|')[2] as string) <= proof.seq) s.votes.delete(key);
  s.evidence.collectGarbage(proof.seq);
}
