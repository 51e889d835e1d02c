// State transfer as functions over the core's state: when to ask peers for
// certified blocks, and how to check each block they send. Blocks from a peer
// are untrusted: each needs a valid certificate of the current membership, must
// extend the committed chain and must re-execute to the roots in its header.

import { equalBytes, headerHash, verifyCertificate } from '@vcr/proofs';
import type { CoreState } from './core-state';
import { matchesExecution } from './epoch';
import { batchHash } from './messages';
import type { CommittedBlock, ExecutionResult, RejectReason } from './types';

/** Asks peers for the blocks after the committed one, at most once per retry period. */
export function fetchBlocksIfDue<S>(s: CoreState<S>): void {
  if (s.nowMs - s.lastFetchMs < s.cfg.fetchRetryMs) return;
  s.lastFetchMs = s.nowMs;
  s.emit({ type: 'fetch-blocks', fromSeq: s.committed.seq + 1n });
}

/**
 * f + 1 commits for one header at a height we have not executed, or f + 1
 * checkpoints above our height: at least one honest replica got further
 * than us, and the votes we missed will not be sent again. Catch up by
 * state transfer.
 */
export function othersAreAhead<S>(s: CoreState<S>): boolean {
  const weak = s.membership.f + 1;
  for (const [seq, slot] of s.slots) {
    if (seq <= s.committed.seq) continue;
    for (const votes of slot.commits.values()) if (votes.size >= weak) return true;
  }
  for (const [seq, bySeq] of s.checkpointVotes) {
    if (seq <= s.committed.seq) continue;
    for (const votes of bySeq.values()) if (votes.size >= weak) return true;
  }
  return false;
}

/**
 * A view change that did not complete in time. Either the membership cannot
 * agree yet (a partition, a silent primary), or the others are no longer here:
 * they committed the end of this epoch and moved to the next, where this
 * replica has no vote or no link, and nobody sends it anything any more (a
 * replica that was down or cut off while it was removed). Nothing it receives
 * can tell the two apart, so it asks for blocks until something commits: the
 * answer is verified like any transfer, costs one fetch per retry period while
 * stalled, and in the second case brings the certified block that ends its
 * epoch (docs/protocol.md, "Removed while behind").
 */
export function suspectLeftBehind<S>(s: CoreState<S>): void {
  s.needFetch = true;
}

/** What to do with one transferred block: skip it (already committed), stop (a gap, or rejected), or commit it. */
export type TransferStep<S> = { kind: 'skip' } | { kind: 'stop' } | { kind: 'commit'; block: CommittedBlock; exec: ExecutionResult<S> };

/** Checks the next transferred block against the committed chain; a bad one is rejected and stops the batch. */
export function checkTransferredBlock<S>(s: CoreState<S>, block: CommittedBlock): TransferStep<S> {
  if (typeof block !== 'object' || block === null) return rejectBlock(s, 'bad-block');
  const h = block.header;
  if (typeof h !== 'object' || h === null || typeof h.height !== 'bigint' || h.height <= s.committed.seq) return { kind: 'skip' };
  if (h.height !== s.committed.seq + 1n) return { kind: 'stop' };
  const certified = verifyCertificate(s.deps.backend, s.membership, block.certificate);
  const hash = headerHash(s.deps.backend, h);
  if (!certified.ok || !equalBytes(certified.headerHash, hash)) return rejectBlock(s, 'bad-certificate');
  if (!equalBytes(h.prevHash, s.committed.hash) || !Array.isArray(block.batch) || !equalBytes(h.batchHash, batchHash(s.deps.backend, block.batch))) return rejectBlock(s, 'bad-block');
  // The block we accepted for this height, if it is this one, was executed on the same parent
  // (its header names it): reuse that execution, as tryExecute does. A slow primary whose peers
  // committed first took its own proposals by transfer and executed each batch twice.
  const accepted = s.slots.get(h.height)?.accepted;
  const exec = accepted !== undefined && equalBytes(accepted.hash, hash) ? accepted.exec : s.deps.executor.apply(s.committed.state, { seq: h.height, batch: block.batch, timestampMs: h.timestampMs });
  if (!matchesExecution(s, h, exec)) return rejectBlock(s, 'roots-mismatch');
  return { kind: 'commit', block: { header: h, batch: block.batch, certificate: block.certificate }, exec };
}

function rejectBlock<S>(s: CoreState<S>, reason: RejectReason): TransferStep<S> {
  s.reject(reason, undefined);
  return { kind: 'stop' };
}
