// What the Membership page shows of one epoch link, each part verified here
// on its own so an auditor sees which signature or approval is good:
// what changed between the two memberships, the old quorum's commit
// signatures over the old epoch's last block, the new quorum's epoch-accept
// signatures, and the governance approvals of the membership op in that block.
// The rules are the proofs' (inspectCertificate, inspectQuorumSignatures) and
// the registry's (findApprovedChange); this file words their verdicts.

import {
  bytesToHex,
  type EpochLink,
  epochAcceptMessage,
  equalBytes,
  headerHash,
  inspectCertificate,
  inspectQuorumSignatures,
  type Membership,
  membershipHash,
  membershipQuorum,
  nobleBackend,
  type SignerVerdict,
} from '@vcr/proofs';
import { findApprovedChange, type MembershipOp } from '@vcr/registry';
import { keyFingerprint } from './epoch-chain';
import type { SignerCheck } from './verify';

export type MembershipChangeKind = 'added' | 'removed' | 'rotated' | 'moved' | 'renamed' | 'f' | 'governance';

export interface MembershipDiffItem {
  kind: MembershipChangeKind;
  text: string;
}

const keyPrefix = (key: Uint8Array) => `fingerprint ${keyFingerprint(key)}`;

/** What `next` changed from `old`, computed from the two (verified) memberships, not from the op's own words. */
export function diffMemberships(old: Membership, next: Membership): MembershipDiffItem[] {
  const items: MembershipDiffItem[] = [];
  for (const r of next.replicas) {
    const before = old.replicas.find((o) => o.id === r.id);
    if (before === undefined) {
      items.push({ kind: 'added', text: `added ${r.id} (${r.organization}), key ${keyPrefix(r.publicKey)}, address ${r.address || '(none)'}` });
      continue;
    }
    if (!equalBytes(before.publicKey, r.publicKey)) items.push({ kind: 'rotated', text: `rotated the key of ${r.id}: ${keyFingerprint(before.publicKey)} -> ${keyFingerprint(r.publicKey)} (key fingerprints)` });
    if (before.address !== r.address) items.push({ kind: 'moved', text: `moved ${r.id}: ${before.address || '(none)'} -> ${r.address || '(none)'}` });
    if (before.organization !== r.organization) items.push({ kind: 'renamed', text: `${r.id}'s organization: ${before.organization} -> ${r.organization}` });
  }
  for (const o of old.replicas) if (!next.replicas.some((r) => r.id === o.id)) items.push({ kind: 'removed', text: `removed ${o.id} (${o.organization})` });
  if (old.f !== next.f) items.push({ kind: 'f', text: `f ${old.f} -> ${next.f} (quorum ${membershipQuorum(old)} -> ${membershipQuorum(next)})` });
  const governance = (m: Membership) => `${m.governance.threshold} of ${m.governance.admins.map((a) => `${a.organization}:${bytesToHex(a.publicKey)}`).join(',')}`;
  if (governance(old) !== governance(next)) {
    items.push({ kind: 'governance', text: `governance: ${next.governance.threshold} of ${next.governance.admins.map((a) => `${a.organization} (${keyFingerprint(a.publicKey)})`).join(', ')}` });
  }
  return items;
}

export interface QuorumCheck {
  ok: boolean;
  reason?: string;
  signers: SignerCheck[];
}

/** The proofs' per-signer verdicts in the page's words. */
function signerChecks(m: Membership, signers: readonly SignerVerdict[]): SignerCheck[] {
  return signers.map((s) => {
    const reason = s.valid ? undefined : s.member === undefined ? `not a member of epoch ${m.epoch}` : `does not verify with ${s.replicaId}'s key of epoch ${m.epoch}`;
    return { replicaId: s.replicaId, organization: s.member?.organization ?? '?', signature: bytesToHex(s.signature), valid: s.valid, ...(reason ? { reason } : {}) };
  });
}

/** The link's old-quorum certificate: commit signatures of `old` over the old epoch's last header, each checked once. */
export function checkOldQuorum(old: Membership, link: EpochLink): QuorumCheck {
  const inspected = inspectCertificate(nobleBackend, old, { header: link.lastHeader, commitView: link.oldCommitView, signatures: link.oldSignatures });
  const signers = signerChecks(old, inspected.signers);
  return inspected.verdict.ok ? { ok: true, signers } : { ok: false, reason: `old quorum: ${inspected.verdict.reason}`, signers };
}

/** The link's new-quorum accepts: epoch-accept signatures of the next membership over { lastHeaderHash, nextMembershipHash }, each checked once. */
export function checkNewQuorum(link: EpochLink): QuorumCheck {
  const next = link.nextMembership;
  const message = epochAcceptMessage(headerHash(nobleBackend, link.lastHeader), membershipHash(nobleBackend, next));
  const domain = { kind: 'epoch-accept', chainId: next.chainId, epoch: next.epoch } as const;
  const inspected = inspectQuorumSignatures(nobleBackend, next, domain, message, link.newSignatures);
  const signers = signerChecks(next, inspected.signers);
  return inspected.verdict.ok ? { ok: true, signers } : { ok: false, reason: `new quorum: ${inspected.verdict.reason}`, signers };
}

export interface ApprovalCheck {
  organization: string;
  signature: string;
  valid: boolean;
  reason?: string;
}

export type ApprovalsCheck =
  | { ok: true; op: MembershipOp; clientId: string; approvals: ApprovalCheck[]; threshold: number }
  | { ok: false; reason: string };

/**
 * The approvals behind a link: the registry's one approval checker
 * (findApprovedChange: the block served at the link's last height is the
 * link's header with its batch, and one of its membership ops passes
 * nextMembershipFor against the old membership and yields exactly the link's
 * next membership), each approval shown on its own.
 */
export function checkApprovals(old: Membership, link: EpochLink, untrustedBlock: unknown): ApprovalsCheck {
  const found = findApprovedChange(nobleBackend, old, link, untrustedBlock);
  if (!found.ok) return { ok: false, reason: found.detail };
  const approvals = found.approvals.map((a): ApprovalCheck => {
    const reason = a.valid ? undefined : !a.governing ? `${a.organization} is not a governance organization of epoch ${old.epoch}` : `does not verify with ${a.organization}'s admin keys of epoch ${old.epoch}`;
    return { organization: a.organization, signature: bytesToHex(a.signature), valid: a.valid, ...(reason ? { reason } : {}) };
  });
  return { ok: true, op: found.op, clientId: found.clientId, approvals, threshold: found.threshold };
}
