// `membership list` (and `cli epochs`): the epoch chain from the pinned
// genesis, each epoch printed only after its link and its approvals verified.

import { type EpochLink, equalBytes, headerHash, type Membership, membershipHash, membershipQuorum, parseEpochLinkJson, verifyEpochChain } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { batchHash, parseCommittedBlockJson } from '@vcr/consensus';
import { decodeOp, type MembershipOp, nextMembershipFor } from '@vcr/registry';
import { describeAction } from './change-file';
import { keyText, membershipCliLimits } from './common';
import { getEpochsPage, getJson } from './http';

export type EpochListingVerdict = { ok: true; epoch: bigint } | { ok: false; where: string; rule: string; detail?: string };

/**
 * Prints every epoch from the genesis membership on, each one only after its
 * link verified (verifyEpochChain from the membership before it: the old
 * quorum's certificate of the last block and the new quorum's acceptance)
 * and after the approvals were found in that block: the first membership op
 * of its certified batch whose approvals pass `nextMembershipFor` against the
 * old membership and whose result is the link's next membership.
 */
export async function listEpochs(replicaUrl: string, genesis: Membership, print: (line: string) => void): Promise<EpochListingVerdict> {
  const replica = replicaUrl.replace(/\/+$/, '');
  print(`epoch ${genesis.epoch} (genesis, pinned): ${sizeText(genesis)}`);
  for (const line of describeMembership(genesis)) print(line);
  let trusted = genesis;
  let current = 0n;
  for (let walked = 0; ; ) {
    const page = await getEpochsPage(replica, trusted.epoch);
    current = page.current;
    if (page.links.length === 0) break;
    for (const untrustedLink of page.links) {
      const where = `link ${walked} (epoch ${trusted.epoch} -> ${trusted.epoch + 1n})`;
      if (++walked > membershipCliLimits.linksMax) return { ok: false, where, rule: 'too-many-links' };
      const parsed = parseEpochLinkJson(untrustedLink);
      if (!parsed.ok) return { ok: false, where, rule: 'malformed', detail: parsed.issues.join('; ') };
      const link = parsed.value;
      const verdict = verifyEpochChain(nodeBackend, trusted, [link]);
      if (!verdict.ok) return { ok: false, where, rule: verdict.reason, ...(verdict.detail === undefined ? {} : { detail: verdict.detail }) };
      const found = await approvedChangeOf(replica, trusted, link);
      if (!found.ok) return { ok: false, where: `${where}, block ${link.lastHeader.height}`, rule: found.rule, ...(found.detail === undefined ? {} : { detail: found.detail }) };
      printEpoch(print, trusted, link, found.op, found.clientId);
      trusted = link.nextMembership;
    }
  }
  if (current > trusted.epoch) {
    return { ok: false, where: `epoch ${trusted.epoch + 1n}`, rule: 'link-missing', detail: `${replica} says its current epoch is ${current} but serves links only up to epoch ${trusted.epoch} (the new quorum's acceptance may still be pending: try again)` };
  }
  return { ok: true, epoch: trusted.epoch };
}

type FoundChange = { ok: true; op: MembershipOp; clientId: string } | { ok: false; rule: string; detail?: string };

async function approvedChangeOf(replica: string, old: Membership, link: EpochLink): Promise<FoundChange> {
  const height = link.lastHeader.height;
  const parsed = parseCommittedBlockJson(await getJson(`${replica}/v1/blocks/${height}`));
  if (!parsed.ok) return { ok: false, rule: 'malformed-block', detail: parsed.issues.join('; ') };
  const block = parsed.value;
  // The link's header is the certified one; the block served must be that header, with its batch.
  if (!equalBytes(headerHash(nodeBackend, block.header), headerHash(nodeBackend, link.lastHeader))) return { ok: false, rule: 'block-is-not-the-link-header' };
  if (!equalBytes(batchHash(nodeBackend, block.batch), block.header.batchHash)) return { ok: false, rule: 'batch-hash-mismatch' };
  const nextHash = link.lastHeader.nextMembershipHash;
  if (nextHash === null) return { ok: false, rule: 'not-an-epoch-boundary' };
  for (const request of block.batch) {
    const decoded = decodeOp(request.payload);
    if (!decoded.ok || decoded.op.op !== 'membership') continue;
    const next = nextMembershipFor(nodeBackend, old, decoded.op.change, decoded.op.approvals);
    if (next.ok && equalBytes(membershipHash(nodeBackend, next.next), nextHash)) return { ok: true, op: decoded.op, clientId: request.clientId };
  }
  return { ok: false, rule: 'no-approved-change', detail: 'no membership op in the block has approvals that verify and yield the next membership' };
}

function printEpoch(print: (line: string) => void, old: Membership, link: EpochLink, op: MembershipOp, clientId: string): void {
  const next = link.nextMembership;
  const h = link.lastHeader;
  print(`epoch ${next.epoch}  VERIFIED: ${sizeText(next)}`);
  for (const line of describeMembership(next)) print(line);
  print(`  ended epoch ${old.epoch} with block ${h.height} (view ${h.view}): certified by ${link.oldSignatures.map((s) => s.replicaId).join(', ')} (quorum ${membershipQuorum(old)} of epoch ${old.epoch}), commit view ${link.oldCommitView}`);
  print(`  accepted by epoch ${next.epoch}'s members: ${link.newSignatures.map((s) => s.replicaId).join(', ')} (quorum ${membershipQuorum(next)})`);
  for (const a of op.change.actions) print(`  change: ${describeAction(a, false)}`);
  print(`  approved by ${op.approvals.map((a) => a.organization).join(', ')} (threshold ${old.governance.threshold} of epoch ${old.epoch}); submitted by client ${clientId.slice(0, membershipCliLimits.keyPrefixChars)}...`);
}

/** Prints the listing and its verdict; the exit code. Shared by `membership list` and `cli epochs`. */
export async function runEpochListing(replicaUrl: string, genesis: Membership): Promise<number> {
  const verdict = await listEpochs(replicaUrl, genesis, (line) => console.log(line));
  if (!verdict.ok) {
    console.error(`NOT VERIFIED: ${verdict.where}: ${verdict.rule}${verdict.detail === undefined ? '' : ` (${verdict.detail})`}`);
    return 1;
  }
  console.log(`VERIFIED: the epoch chain from the pinned genesis to epoch ${verdict.epoch}, the current epoch ${replicaUrl} reports`);
  return 0;
}

function describeMembership(m: Membership): string[] {
  return [
    ...m.replicas.map((r) => `    ${r.id}  ${r.organization}  key ${keyText(r.publicKey, false)}  ${r.address}`),
    `    governance: ${m.governance.threshold} of ${[...new Set(m.governance.admins.map((a) => a.organization))].join(', ')}`,
  ];
}

const sizeText = (m: Membership) => `${m.replicas.length} replicas, f = ${m.f}, quorum ${membershipQuorum(m)}`;
