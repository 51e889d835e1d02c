// Certificates: a block header plus COMMIT signatures from a quorum of the
// membership of the header's epoch (DESIGN section 3). Verification returns
// which rule failed. The quorum is counted by distinct public keys of the
// membership, never by the number of entries or by an id the signer chose.
// Cheap checks (sizes, counts, membership) run before any signature check.

import { type CryptoBackend } from './crypto-backend';
import { bytesToHex } from './bytes';
import { verifyInDomain } from './domain';
import { type BlockHeader, commitVoteMessage, headerHash, isWellFormedHeader } from './header';
import { limits } from './limits';
import { checkMembership, type Membership, membershipQuorum } from './membership';

export interface CertificateSignature {
  replicaId: string;
  signature: Uint8Array;
}

export interface Certificate {
  header: BlockHeader;
  /** The view all COMMIT signatures were cast in (>= header.view). */
  commitView: bigint;
  signatures: CertificateSignature[];
}

export type CertificateRejection =
  | 'malformed'
  | 'too-many-signatures'
  | 'bad-membership'
  | 'wrong-chain'
  | 'wrong-epoch'
  | 'unknown-signer'
  | 'duplicate-signer'
  | 'below-quorum'
  | 'bad-signature';

export type CertificateResult =
  | { ok: true; headerHash: Uint8Array; signers: string[] }
  | { ok: false; reason: CertificateRejection; detail?: string };

/**
 * Checks `signatures` as a quorum of `membership` over `message` in the given
 * signing kind. Shared by block certificates and epoch links, so both follow
 * the same counting rule.
 */
export function verifyQuorumSignatures(
  backend: CryptoBackend,
  membership: Membership,
  domain: { kind: 'commit' | 'epoch-accept'; chainId: string; epoch: bigint },
  message: Parameters<typeof verifyInDomain>[3],
  untrustedSignatures: unknown,
): { ok: true; signers: string[] } | { ok: false; reason: CertificateRejection; detail?: string } {
  if (!Array.isArray(untrustedSignatures)) return { ok: false, reason: 'malformed', detail: 'signatures is not an array' };
  if (untrustedSignatures.length > limits.certificateSignaturesMax) return { ok: false, reason: 'too-many-signatures' };
  const byId = new Map(membership.replicas.map((r) => [r.id, r]));
  const seenIds = new Set<string>();
  const distinctKeys = new Set<string>();
  const entries: { publicKey: Uint8Array; signature: Uint8Array; replicaId: string }[] = [];
  for (const entry of untrustedSignatures as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return { ok: false, reason: 'malformed', detail: 'signature entry is not an object' };
    const { replicaId, signature } = entry as { replicaId?: unknown; signature?: unknown };
    if (typeof replicaId !== 'string' || !(signature instanceof Uint8Array) || signature.length !== 64) {
      return { ok: false, reason: 'malformed', detail: 'signature entry needs a replicaId and a 64-byte signature' };
    }
    if (seenIds.has(replicaId)) return { ok: false, reason: 'duplicate-signer', detail: replicaId };
    seenIds.add(replicaId);
    const replica = byId.get(replicaId);
    if (replica === undefined) return { ok: false, reason: 'unknown-signer', detail: replicaId };
    const keyHex = bytesToHex(replica.publicKey);
    // Two ids with one key (only possible in a malformed membership) count once.
    if (distinctKeys.has(keyHex)) return { ok: false, reason: 'duplicate-signer', detail: replicaId };
    distinctKeys.add(keyHex);
    entries.push({ publicKey: replica.publicKey, signature, replicaId });
  }
  const quorum = membershipQuorum(membership);
  if (distinctKeys.size < quorum) return { ok: false, reason: 'below-quorum', detail: `${distinctKeys.size} of ${quorum}` };
  for (const e of entries) {
    if (!verifyInDomain(backend, e.publicKey, domain, message, e.signature)) return { ok: false, reason: 'bad-signature', detail: e.replicaId };
  }
  return { ok: true, signers: entries.map((e) => e.replicaId) };
}

/** Verifies a block certificate against the membership the caller trusts for the header's epoch. */
export function verifyCertificate(backend: CryptoBackend, membership: Membership, untrusted: Certificate): CertificateResult {
  if (typeof untrusted !== 'object' || untrusted === null || !isWellFormedHeader(untrusted.header)) {
    return { ok: false, reason: 'malformed', detail: 'header is not well formed' };
  }
  if (checkMembership(membership) !== undefined) return { ok: false, reason: 'bad-membership' };
  const header = untrusted.header;
  const commitView: unknown = untrusted.commitView;
  if (typeof commitView !== 'bigint' || commitView < header.view || commitView >= 1n << 63n) {
    return { ok: false, reason: 'malformed', detail: 'commitView must be a view at or after the header view' };
  }
  if (header.chainId !== membership.chainId) return { ok: false, reason: 'wrong-chain' };
  if (header.epoch !== membership.epoch) return { ok: false, reason: 'wrong-epoch' };
  if (Array.isArray(untrusted.signatures) && untrusted.signatures.length > limits.certificateSignaturesMax) {
    return { ok: false, reason: 'too-many-signatures' };
  }
  const hash = headerHash(backend, header);
  const result = verifyQuorumSignatures(
    backend,
    membership,
    { kind: 'commit', chainId: header.chainId, epoch: header.epoch },
    commitVoteMessage(hash, header.height, commitView),
    untrusted.signatures,
  );
  if (!result.ok) return result;
  return { ok: true, headerHash: hash, signers: result.signers };
}
