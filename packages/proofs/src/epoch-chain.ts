// The epoch chain (DESIGN section 6): from a pinned membership, each link
// hands trust to the next epoch's membership. A link needs a quorum of the old
// membership (the commit certificate of the last block of the old epoch,
// whose header commits to the new membership's hash) AND a quorum of the new
// membership (signatures of kind "epoch-accept" over the same header and
// membership hash), as TUF requires of root rotations: neither an old
// majority nor a new one alone can rewrite who is trusted.

import { type CryptoBackend } from './crypto-backend';
import { equalBytes } from './bytes';
import { type CertificateRejection, type CertificateSignature, verifyCertificate, verifyQuorumSignatures } from './certificate';
import { type CanonicalValue } from './canonical';
import { type BlockHeader } from './header';
import { limits } from './limits';
import { checkMembership, type Membership, membershipHash } from './membership';

export interface EpochLink {
  /** The last block of the old epoch; its nextMembershipHash names `nextMembership`. */
  lastHeader: BlockHeader;
  /** Commit signatures of the old membership over `lastHeader`, all cast in `oldCommitView`. */
  oldCommitView: bigint;
  oldSignatures: CertificateSignature[];
  nextMembership: Membership;
  /** "epoch-accept" signatures of the new membership over `epochAcceptMessage(...)`. */
  newSignatures: CertificateSignature[];
}

export function epochAcceptMessage(lastHeaderHash: Uint8Array, nextMembershipHash: Uint8Array): CanonicalValue {
  return { lastHeaderHash, nextMembershipHash };
}

export type EpochChainRejection =
  | 'too-many-links'
  | 'bad-trusted-membership'
  | 'not-sequential'
  | 'wrong-chain'
  | 'not-an-epoch-boundary'
  | 'membership-hash-mismatch'
  | 'bad-next-membership'
  | `old-quorum-${CertificateRejection}`
  | `new-quorum-${CertificateRejection}`;

export type EpochChainResult =
  | { ok: true; memberships: Membership[]; latest: Membership }
  | { ok: false; reason: EpochChainRejection; linkIndex: number; detail?: string };

/** Walks `links` strictly in order from `trusted`; returns every membership it now trusts. */
export function verifyEpochChain(backend: CryptoBackend, trusted: Membership, untrustedLinks: readonly EpochLink[]): EpochChainResult {
  if (!Array.isArray(untrustedLinks) || untrustedLinks.length > limits.epochChainLinksMax) {
    return { ok: false, reason: 'too-many-links', linkIndex: -1 };
  }
  if (checkMembership(trusted) !== undefined) return { ok: false, reason: 'bad-trusted-membership', linkIndex: -1 };
  const memberships: Membership[] = [trusted];
  let current = trusted;
  for (let i = 0; i < untrustedLinks.length; i++) {
    const link = untrustedLinks[i] as EpochLink;
    const failure = checkLink(backend, current, link);
    if (failure !== undefined) return { ok: false, linkIndex: i, ...failure };
    current = link.nextMembership;
    memberships.push(current);
  }
  return { ok: true, memberships, latest: current };
}

function checkLink(backend: CryptoBackend, current: Membership, link: EpochLink): { reason: EpochChainRejection; detail?: string } | undefined {
  if (typeof link !== 'object' || link === null || typeof link.nextMembership !== 'object' || link.nextMembership === null) {
    return { reason: 'bad-next-membership' };
  }
  const next = link.nextMembership;
  if (next.chainId !== current.chainId) return { reason: 'wrong-chain' };
  if (next.epoch !== current.epoch + 1n) return { reason: 'not-sequential', detail: `expected epoch ${current.epoch + 1n}` };
  const nextRejection = checkMembership(next);
  if (nextRejection !== undefined) return { reason: 'bad-next-membership', detail: nextRejection };
  const header = link.lastHeader;
  if (typeof header !== 'object' || header === null || header.nextMembershipHash === null || !(header.nextMembershipHash instanceof Uint8Array)) {
    return { reason: 'not-an-epoch-boundary' };
  }
  const nextHash = membershipHash(backend, next);
  if (!equalBytes(header.nextMembershipHash, nextHash)) return { reason: 'membership-hash-mismatch' };
  const old = verifyCertificate(backend, current, { header, commitView: link.oldCommitView, signatures: link.oldSignatures });
  if (!old.ok) return { reason: `old-quorum-${old.reason}`, ...(old.detail === undefined ? {} : { detail: old.detail }) };
  const accepted = verifyQuorumSignatures(
    backend,
    next,
    { kind: 'epoch-accept', chainId: next.chainId, epoch: next.epoch },
    epochAcceptMessage(old.headerHash, nextHash),
    link.newSignatures,
  );
  if (!accepted.ok) return { reason: `new-quorum-${accepted.reason}`, ...(accepted.detail === undefined ? {} : { detail: accepted.detail }) };
  return undefined;
}
