// PBFT 4.4 view change, as pure functions: checking a VIEW-CHANGE message and
// computing the new view's pre-prepares from a quorum of them. The new primary
// and every backup run the same computation, so a backup can check the
// NEW-VIEW it receives by recomputing it.

import { type BlockHeader, bytesToHex, equalBytes, headerHash, type Membership, membershipQuorum } from '@vcr/proofs';
import { batchHash, type SigningContext, verifyMessageSignature } from './messages';
import type { CheckpointProof, ClientRequest, PreparedCertificate, ViewChange } from './types';

export function primaryOf(membership: Membership, view: bigint): string {
  const index = Number(view % BigInt(membership.replicas.length));
  return (membership.replicas[index] as { id: string }).id;
}

export interface ViewChangeContext extends SigningContext {
  membership: Membership;
  /** The block the epoch starts after (height 0 and zero hash at genesis): the epoch's base, certified by the previous epoch. */
  epochStart: { seq: bigint; hash: Uint8Array };
  checkpointInterval: number;
  watermarkWindow: number;
}

/**
 * A stable checkpoint proof: the epoch's start (genesis, or the block that ended the previous
 * epoch) needs no proof; later ones need a quorum of matching signed checkpoints of this epoch.
 */
export function checkCheckpointProof(ctx: ViewChangeContext, c: CheckpointProof): boolean {
  if (c.seq === ctx.epochStart.seq) return equalBytes(c.headerHash, ctx.epochStart.hash) && c.proof.length === 0;
  if (c.seq < ctx.epochStart.seq || c.seq % BigInt(ctx.checkpointInterval) !== 0n) return false;
  const signers = new Set<string>();
  for (const m of c.proof) {
    if (m.type !== 'checkpoint' || m.seq !== c.seq || !equalBytes(m.headerHash, c.headerHash)) return false;
    if (signers.has(m.from) || !verifyMessageSignature(ctx, ctx.membership, m)) return false;
    signers.add(m.from);
  }
  return signers.size >= membershipQuorum(ctx.membership);
}

/** A prepared certificate: the pre-prepare of view v's primary and quorum - 1 matching prepares of distinct backups. */
export function checkPreparedCertificate(ctx: ViewChangeContext, c: PreparedCertificate): boolean {
  const pp = c.prePrepare;
  if (pp.from !== primaryOf(ctx.membership, pp.view)) return false;
  if (pp.header.height !== pp.seq || pp.header.chainId !== ctx.chainId || pp.header.epoch !== ctx.membership.epoch) return false;
  if (!equalBytes(pp.header.batchHash, batchHash(ctx.backend, pp.batch))) return false;
  if (!verifyMessageSignature(ctx, ctx.membership, pp)) return false;
  const hash = headerHash(ctx.backend, pp.header);
  const signers = new Set<string>();
  for (const p of c.prepares) {
    if (p.view !== pp.view || p.seq !== pp.seq || !equalBytes(p.headerHash, hash) || p.from === pp.from) return false;
    if (signers.has(p.from) || !verifyMessageSignature(ctx, ctx.membership, p)) return false;
    signers.add(p.from);
  }
  return signers.size >= membershipQuorum(ctx.membership) - 1;
}

export type ViewChangeVerdict = { ok: true } | { ok: false; why: string };

export function checkViewChange(ctx: ViewChangeContext, vc: ViewChange): ViewChangeVerdict {
  if (!verifyMessageSignature(ctx, ctx.membership, vc)) return { ok: false, why: 'signature' };
  if (!checkCheckpointProof(ctx, vc.checkpoint)) return { ok: false, why: 'checkpoint proof' };
  const seqs = new Set<bigint>();
  const high = vc.checkpoint.seq + BigInt(ctx.watermarkWindow);
  for (const c of vc.prepared) {
    const pp = c.prePrepare;
    if (pp.view >= vc.newView) return { ok: false, why: 'prepared in a view not below the new one' };
    if (pp.seq <= vc.checkpoint.seq || pp.seq > high) return { ok: false, why: 'prepared outside the window' };
    if (seqs.has(pp.seq)) return { ok: false, why: 'two certificates for one sequence number' };
    seqs.add(pp.seq);
    if (!checkPreparedCertificate(ctx, c)) return { ok: false, why: 'prepared certificate' };
  }
  return { ok: true };
}

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
