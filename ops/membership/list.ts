// `membership list` (and `cli epochs`): the epoch chain from the pinned
// genesis, each epoch printed only after its link and its approvals verified.

import { type EpochLink, EpochWalk, type EpochWalkOutcome, epochsPagePath, type Membership, membershipQuorum, TrustedEpochs } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { findApprovedChange, type MembershipOp } from '@vcr/registry';
import { describeAction } from './change-file';
import { keyText, membershipCliLimits } from './common';
import { getJson } from './http';

export type EpochListingVerdict = { ok: true; epoch: bigint } | { ok: false; where: string; rule: string; detail?: string };

/**
 * Prints every epoch from the genesis membership on, each one only after its
 * link verified (the proofs' EpochWalk: the old quorum's certificate of the
 * last block and the new quorum's acceptance) and after the approvals were
 * found in that block (the registry's findApprovedChange).
 */
export async function listEpochs(replicaUrl: string, genesis: Membership, print: (line: string) => void): Promise<EpochListingVerdict> {
  const replica = replicaUrl.replace(/\/+$/, '');
  print(`epoch ${genesis.epoch} (genesis, pinned): ${sizeText(genesis)}`);
  for (const line of describeMembership(genesis)) print(line);
  // The proofs' EpochWalk, driven page by page so each new link's approvals are checked (and printed) before the next page.
  const walk = new EpochWalk(nodeBackend, TrustedEpochs.pin(genesis), { target: 'latest', linksMax: membershipCliLimits.linksMax });
  let listed = 0;
  for (;;) {
    const step = walk.next();
    if (step.type === 'done') {
      const outcome = step.outcome;
      if (!outcome.ok) return walkFailure(outcome, genesis.epoch, listed);
      if (outcome.capped) return { ok: false, where: `link ${listed} (epoch ${walk.chain.newest.epoch} -> ${walk.chain.newest.epoch + 1n})`, rule: 'too-many-links' };
      break;
    }
    walk.onPage(step, await getJson(`${replica}${epochsPagePath(step.after, step.limit)}`));
    for (; listed < walk.chain.links.length; listed++) {
      const link = walk.chain.links[listed] as EpochLink;
      const old = walk.chain.memberships[listed] as Membership;
      const found = findApprovedChange(nodeBackend, old, link, await getJson(`${replica}/v1/blocks/${link.lastHeader.height}`));
      if (!found.ok) return { ok: false, where: `link ${listed} (epoch ${old.epoch} -> ${old.epoch + 1n}), block ${link.lastHeader.height}`, rule: found.rule, detail: found.detail };
      printEpoch(print, old, link, found.op, found.clientId);
    }
  }
  const trusted = walk.chain.newest;
  const current = walk.current ?? trusted.epoch;
  if (current > trusted.epoch) {
    return { ok: false, where: `epoch ${trusted.epoch + 1n}`, rule: 'link-missing', detail: `${replica} says its current epoch is ${current} but serves links only up to epoch ${trusted.epoch} (the new quorum's acceptance may still be pending: try again)` };
  }
  return { ok: true, epoch: trusted.epoch };
}

/** A failed walk as the listing reports it: where (the link, counted from the genesis) and the rule. */
function walkFailure(outcome: EpochWalkOutcome & { ok: false }, pinnedEpoch: bigint, listed: number): EpochListingVerdict {
  switch (outcome.reason) {
    case 'fetch-failed':
    case 'malformed-page':
    case 'too-many-links':
    case 'no-link':
      return { ok: false, where: `epochs after ${outcome.after}`, rule: outcome.reason, detail: outcome.detail };
    case 'malformed-link': {
      const from = outcome.after + BigInt(outcome.index ?? 0);
      return { ok: false, where: `link ${from - pinnedEpoch} (epoch ${from} -> ${from + 1n})`, rule: 'malformed', detail: outcome.detail };
    }
    case 'link-refused':
      return { ok: false, where: `link ${listed} (epoch ${outcome.into - 1n} -> ${outcome.into})`, rule: outcome.rule, ...(outcome.ruleDetail === undefined ? {} : { detail: outcome.ruleDetail }) };
    case 'conflicting-link':
      return { ok: false, where: `link ${listed} (epoch ${outcome.into - 1n} -> ${outcome.into})`, rule: outcome.reason, detail: outcome.detail };
  }
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
