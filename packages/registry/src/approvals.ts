// The governance approvals behind an epoch link (DESIGN section 6,
// docs/registry.md "Membership changes"): the one approval checker every
// auditor uses (the console's Membership page, `membership list`). The block
// a replica serves at the link's last height must be the link's (verified)
// header with its batch, and one of its membership ops must pass the
// registry's own rule (nextMembershipFor: a threshold of distinct governance
// organizations, every signature valid) against the old membership and
// yield exactly the link's next membership. Pure and synchronous; the host
// fetches the block.

import { batchHash, type CryptoBackend, type EpochLink, equalBytes, headerHash, type Membership, membershipHash, parseCommittedBlockJson, verifyInDomain } from '@vcr/proofs';
import { approvalLimits } from './limits';
import { decodeOp } from './ops';
import { membershipChangeToCanonical, type MembershipOp, nextMembershipFor } from './membership-change';


export type ApprovalRejection = 'malformed-block' | 'block-is-not-the-link-header' | 'batch-hash-mismatch' | 'not-an-epoch-boundary' | 'no-approved-change';

/** One approval as an auditor sees it: by which organization, and whether it verifies with that organization's admin keys. */
export interface ApprovalVerdict {
  organization: string;
  signature: Uint8Array;
  /** False also for an organization that is not one of the old membership's governance organizations (`governing` false). */
  valid: boolean;
  governing: boolean;
}

export type ApprovedChange =
  | { ok: true; op: MembershipOp; clientId: string; approvals: ApprovalVerdict[]; threshold: number }
  | { ok: false; rule: ApprovalRejection; detail: string };

/**
 * Finds the approved change behind `link` in the untrusted block served at
 * its last height, checked against `old` (the membership the link leaves).
 * Cheap checks (the block is the link's header, its batch hashes to the
 * certified batchHash) before any approval signature.
 */
export function findApprovedChange(backend: CryptoBackend, old: Membership, link: EpochLink, untrustedBlock: unknown): ApprovedChange {
  const height = link.lastHeader.height;
  const parsed = parseCommittedBlockJson(untrustedBlock);
  if (!parsed.ok) return { ok: false, rule: 'malformed-block', detail: `block ${height} malformed: ${parsed.issues.slice(0, 3).join('; ')}` };
  const block = parsed.value;
  if (!equalBytes(headerHash(backend, block.header), headerHash(backend, link.lastHeader))) {
    return { ok: false, rule: 'block-is-not-the-link-header', detail: `block ${height} served is not the last block the link certifies` };
  }
  if (!equalBytes(batchHash(backend, block.batch), block.header.batchHash)) return { ok: false, rule: 'batch-hash-mismatch', detail: `block ${height}: batch does not match the certified batchHash` };
  const nextHash = link.lastHeader.nextMembershipHash;
  if (nextHash === null) return { ok: false, rule: 'not-an-epoch-boundary', detail: `block ${height} names no next membership` };
  const wanted = membershipHash(backend, link.nextMembership);
  let examined = 0;
  for (const request of block.batch) {
    const decoded = decodeOp(request.payload);
    if (!decoded.ok || decoded.op.op !== 'membership') continue;
    if (++examined > approvalLimits.membershipOpsCheckedMax) break;
    const result = nextMembershipFor(backend, old, decoded.op.change, decoded.op.approvals);
    if (result.ok && equalBytes(membershipHash(backend, result.next), wanted)) {
      return { ok: true, op: decoded.op, clientId: request.clientId, approvals: approvalVerdicts(backend, old, decoded.op), threshold: old.governance.threshold };
    }
  }
  return {
    ok: false,
    rule: 'no-approved-change',
    detail: `no membership op in block ${height} has approvals that meet epoch ${old.epoch}'s governance and yield epoch ${link.nextMembership.epoch}'s membership`,
  };
}

/** Each approval on its own: a signature by one of its organization's admin keys in `old`, over the change, in the change's epoch. */
export function approvalVerdicts(backend: CryptoBackend, old: Membership, op: MembershipOp): ApprovalVerdict[] {
  const domain = { kind: 'membership-approval', chainId: old.chainId, epoch: op.change.epoch } as const;
  const message = membershipChangeToCanonical(op.change);
  return op.approvals.map((a) => {
    const keys = old.governance.admins.filter((g) => g.organization === a.organization);
    return { organization: a.organization, signature: a.signature, valid: keys.some((g) => verifyInDomain(backend, g.publicKey, domain, message, a.signature)), governing: keys.length > 0 };
  });
}
