// PBFT 4.4 view change, as pure functions: checking a VIEW-CHANGE message and
// computing the new view's pre-prepares from a quorum of them. The new primary
// and every backup run the same computation, so a backup can check the
// NEW-VIEW it receives by recomputing it.

import { type BlockHeader, bytesToHex, equalBytes, headerHash, type SigningContext, type ViewChangeContext } from '@vcr/proofs';
import type { CheckpointProof, ClientRequest, PreparedCertificate, ViewChange } from './types';

// Checking a VIEW-CHANGE is a verifier rule: it lives in @vcr/proofs (view-change-check.ts).
export { checkCheckpointProof, checkPreparedCertificate, checkViewChange, primaryOf, type ViewChangeContext, type ViewChangeVerdict } from '@vcr/proofs';

export interface NewViewPlan {
  /** The stable checkpoint the new view starts from. */
  baseSeq: bigint;
  baseHash: Uint8Array;
  baseProof: CheckpointProof;
  /** Headers to re-propose in order, seq baseSeq+1 .. with no gaps. */
  entries: { seq: bigint; header: BlockHeader; batch: ClientRequest[] }[];
}

/**
 * PBFT 4.4: min-s is the latest stable checkpoint among the view changes; for
 * each sequence number above it, the prepared certificate of the highest view
 * wins. Because a backup prepares seq n only after preparing n - 1 in the same
 * view (docs/protocol.md, "prepare in order"), the winners form a hash chain
 * from min-s with no gap. The plan stops at a gap or a broken link, which the
 * in-order rule makes impossible for valid certificates; stopping keeps the
 * computation total and deterministic.
 */
export function planNewView(ctx: ViewChangeContext, viewChanges: readonly ViewChange[]): NewViewPlan {
  let base = viewChanges[0]?.checkpoint as CheckpointProof;
  for (const vc of viewChanges) if (vc.checkpoint.seq > base.seq) base = vc.checkpoint;
  const best = new Map<bigint, PreparedCertificate>();
  for (const vc of viewChanges) {
    for (const c of vc.prepared) {
      if (c.prePrepare.seq <= base.seq) continue;
      const current = best.get(c.prePrepare.seq);
      if (current === undefined || c.prePrepare.view > current.prePrepare.view) best.set(c.prePrepare.seq, c);
    }
  }
  const entries: NewViewPlan['entries'] = [];
  let prev = base.headerHash;
  for (let seq = base.seq + 1n; best.has(seq); seq++) {
    const c = best.get(seq) as PreparedCertificate;
    if (!equalBytes(c.prePrepare.header.prevHash, prev)) break;
    entries.push({ seq, header: c.prePrepare.header, batch: c.prePrepare.batch });
    prev = headerHash(ctx.backend, c.prePrepare.header);
  }
  return { baseSeq: base.seq, baseHash: base.headerHash, baseProof: base, entries };
}

export function planKey(ctx: SigningContext, plan: NewViewPlan): string {
  return [plan.baseSeq.toString(), bytesToHex(plan.baseHash), ...plan.entries.map((e) => `${e.seq}:${bytesToHex(headerHash(ctx.backend, e.header))}`)].join('|');
}
