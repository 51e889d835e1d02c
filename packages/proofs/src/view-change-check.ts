// What a VIEW-CHANGE carries, checked (PBFT 4.4): its signature, its stable
// checkpoint proof (a quorum of matching signed checkpoints, or the epoch's
// start) and every prepared certificate (the pre-prepare of the view's
// primary and quorum - 1 matching prepares of distinct backups, each signed,
// in the watermark window). The rule the replicas apply (@vcr/consensus
// re-exports it) and the audit console checks view changes with: one rule,
// in the verifying layer.

import { equalBytes } from './bytes';
import { headerHash } from './header';
import { type Membership, membershipQuorum } from './membership';
import type { CheckpointProof, PreparedCertificate, ViewChange } from './peer-message';
import { batchHash, type SigningContext, verifyMessageSignature } from './peer-signatures';

/**
 * The checkpoint interval and watermark window every replica runs with (@vcr/consensus
 * defaultCoreConfig takes them from here): what a verifier of view changes checks them against.
 */
export const viewChangeDefaults = { checkpointInterval: 16, watermarkWindow: 64 } as const;

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

