// The contents of a VIEW-CHANGE and a NEW-VIEW, beyond the sender's
// signature (verify.ts checkMessage): the checkpoint proof (a quorum of
// matching signed checkpoints, or the epoch's start) and every prepared
// certificate (the pre-prepare of the view's primary and quorum - 1 matching
// prepares, each signature verified, in the watermark window), with the rule
// the replicas apply (@vcr/proofs checkViewChange, PBFT 4.4), against the
// membership of the message's epoch from the verified chain. A NEW-VIEW must
// carry a quorum of such view changes from distinct members, for its view.

import { checkViewChange, GENESIS_PREV_HASH, headerHash, membershipQuorum, type NewView, nobleBackend, type ViewChange, type ViewChangeContext, viewChangeDefaults } from '@vcr/proofs';
import { type EpochChain, linkInto, membershipOf } from './epoch-chain';

export type ContentsCheck = { ok: true } | { ok: false; reason: string; unverifiable?: true };

/** The rule context of an epoch: its membership, and the block it starts after (genesis: height 0, the zero hash). */
function contextOf(chain: EpochChain, epoch: bigint): { ok: true; ctx: ViewChangeContext } | { ok: false; reason: string; unverifiable: true } {
  const m = membershipOf(chain, epoch);
  if (!m.ok) return { ok: false, reason: m.reason, unverifiable: true };
  const link = linkInto(chain, epoch);
  let epochStart: { seq: bigint; hash: Uint8Array };
  if (link !== undefined) epochStart = { seq: link.link.lastHeader.height, hash: headerHash(nobleBackend, link.link.lastHeader) };
  else if (epoch === 0n) epochStart = { seq: 0n, hash: GENESIS_PREV_HASH };
  else return { ok: false, reason: `epoch ${epoch} is the pinned one: the block it starts after is not known here`, unverifiable: true };
  // The replicas run with these (@vcr/consensus defaultCoreConfig takes them from @vcr/proofs): the same interval and window here.
  const { checkpointInterval, watermarkWindow } = viewChangeDefaults;
  return { ok: true, ctx: { backend: nobleBackend, chainId: m.membership.chainId, membership: m.membership, epochStart, checkpointInterval, watermarkWindow } };
}

const WHY: Record<string, string> = {
  signature: "the view change's own signature does not verify",
  'checkpoint proof': 'its checkpoint proof does not verify (not a quorum of matching signed checkpoints of its epoch)',
  'prepared certificate': 'a prepared certificate does not verify (the pre-prepare of the view\'s primary and quorum - 1 matching prepares, each signed)',
};

export function checkViewChangeContents(chain: EpochChain, vc: ViewChange): ContentsCheck {
  const c = contextOf(chain, vc.epoch);
  if (!c.ok) return c;
  const verdict = checkViewChange(c.ctx, vc);
  return verdict.ok ? { ok: true } : { ok: false, reason: `${vc.from}'s view change to view ${vc.newView}: ${WHY[verdict.why] ?? verdict.why}` };
}

export function checkNewViewContents(chain: EpochChain, nv: NewView): ContentsCheck {
  const c = contextOf(chain, nv.epoch);
  if (!c.ok) return c;
  const senders = new Set<string>();
  for (const vc of nv.viewChanges) {
    if (vc.newView !== nv.view || vc.epoch !== nv.epoch) return { ok: false, reason: `carries ${vc.from}'s view change to view ${vc.newView} of epoch ${vc.epoch}` };
    if (senders.has(vc.from)) return { ok: false, reason: `carries two view changes from ${vc.from}` };
    senders.add(vc.from);
    const inner = checkViewChangeContents(chain, vc);
    if (!inner.ok) return inner;
  }
  const quorum = membershipQuorum(c.ctx.membership);
  return senders.size >= quorum ? { ok: true } : { ok: false, reason: `carries view changes from ${senders.size} members, below the quorum of ${quorum}` };
}
