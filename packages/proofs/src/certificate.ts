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

type QuorumEntry = { publicKey: Uint8Array; signature: Uint8Array; replicaId: string };
type QuorumRejection = { ok: false; reason: CertificateRejection; detail?: string };

/**
 * Every rule of a quorum but the signatures themselves, in the order
 * verifyQuorumSignatures applies them: shape and count, distinct known
 * signers (by id and by key), then the quorum size.
 */
function quorumEntries(membership: Membership, untrustedSignatures: unknown): { ok: true; entries: QuorumEntry[] } | QuorumRejection {
  if (!Array.isArray(untrustedSignatures)) return { ok: false, reason: 'malformed', detail: 'signatures is not an array' };
  if (untrustedSignatures.length > limits.certificateSignaturesMax) return { ok: false, reason: 'too-many-signatures' };
  const byId = new Map(membership.replicas.map((r) => [r.id, r]));
  const seenIds = new Set<string>();
  const distinctKeys = new Set<string>();
  const entries: QuorumEntry[] = [];
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
  return { ok: true, entries };
}

type SigningDomain = { kind: 'commit' | 'epoch-accept'; chainId: string; epoch: bigint };

/**
 * Checks `signatures` as a quorum of `membership` over `message` in the given
 * signing kind. Shared by block certificates and epoch links, so both follow
 * the same counting rule. Stops at the first signature that fails.
 */
export function verifyQuorumSignatures(
  backend: CryptoBackend,
  membership: Membership,
  domain: SigningDomain,
  message: Parameters<typeof verifyInDomain>[3],
  untrustedSignatures: unknown,
): { ok: true; signers: string[] } | QuorumRejection {
  const found = quorumEntries(membership, untrustedSignatures);
  if (!found.ok) return found;
  for (const e of found.entries) {
    if (!verifyInDomain(backend, e.publicKey, domain, message, e.signature)) return { ok: false, reason: 'bad-signature', detail: e.replicaId };
  }
  return { ok: true, signers: found.entries.map((e) => e.replicaId) };
}

/** One signature entry as an auditor sees it: its signer in the membership (if any) and whether it verifies on its own. */
export interface SignerVerdict {
  replicaId: string;
  signature: Uint8Array;
  /** The signer's entry in the membership the signature was judged against. */
  member: Membership['replicas'][number] | undefined;
  /** Checked with the member's key (false for a signer outside the membership, and for entries not checked because the quorum failed first on its shape). */
  valid: boolean;
  /** False when the signature was not checked: not a member, or the certificate failed before any signature work. */
  checked: boolean;
}

export type QuorumInspection = { verdict: { ok: true; signers: string[] } | QuorumRejection; signers: SignerVerdict[] };

/**
 * verifyQuorumSignatures' verdict, with every well-formed entry judged on its
 * own (each signature checked at most once, the verdict derived from the same
 * checks), for reports that show which signer is good. Costs every
 * signature, so verifiers that need only the verdict use verifyQuorumSignatures.
 */
export function inspectQuorumSignatures(
  backend: CryptoBackend,
  membership: Membership,
  domain: SigningDomain,
  message: Parameters<typeof verifyInDomain>[3],
  untrustedSignatures: unknown,
): QuorumInspection {
  const signers = signerRows(membership, untrustedSignatures);
  const found = quorumEntries(membership, untrustedSignatures);
  if (!found.ok && found.reason !== 'unknown-signer' && found.reason !== 'below-quorum') return { verdict: found, signers };
  // The rules before the signatures passed, or failed only for who signed: each member's signature is still worth reporting.
  for (const row of signers) {
    if (row.member === undefined) continue;
    row.checked = true;
    row.valid = verifyInDomain(backend, row.member.publicKey, domain, message, row.signature);
  }
  if (!found.ok) return { verdict: found, signers };
  const bad = found.entries.find((e) => signers.find((r) => r.replicaId === e.replicaId)?.valid !== true);
  return { verdict: bad === undefined ? { ok: true, signers: found.entries.map((e) => e.replicaId) } : { ok: false, reason: 'bad-signature', detail: bad.replicaId }, signers };
}

/** The well-formed entries, bounded, with their members; nothing checked yet. */
function signerRows(membership: Membership, untrustedSignatures: unknown): SignerVerdict[] {
  if (!Array.isArray(untrustedSignatures)) return [];
  const rows: SignerVerdict[] = [];
  for (const entry of untrustedSignatures.slice(0, limits.certificateSignaturesMax) as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { replicaId, signature } = entry as { replicaId?: unknown; signature?: unknown };
    if (typeof replicaId !== 'string' || !(signature instanceof Uint8Array)) continue;
    rows.push({ replicaId, signature, member: membership.replicas.find((r) => r.id === replicaId), valid: false, checked: false });
  }
  return rows;
}

/** The checks of a certificate before its quorum: shape, membership, commit view, chain, epoch, size. */
function certificatePrecheck(membership: Membership, untrusted: Certificate): { ok: true } | QuorumRejection {
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
  return { ok: true };
}

/** Verifies a block certificate against the membership the caller trusts for the header's epoch. */
export function verifyCertificate(backend: CryptoBackend, membership: Membership, untrusted: Certificate): CertificateResult {
  const pre = certificatePrecheck(membership, untrusted);
  if (!pre.ok) return pre;
  const header = untrusted.header;
  const hash = headerHash(backend, header);
  const result = verifyQuorumSignatures(
    backend,
    membership,
    { kind: 'commit', chainId: header.chainId, epoch: header.epoch },
    commitVoteMessage(hash, header.height, untrusted.commitView),
    untrusted.signatures,
  );
  if (!result.ok) return result;
  return { ok: true, headerHash: hash, signers: result.signers };
}

/** verifyCertificate's verdict with every signer judged on its own (inspectQuorumSignatures); each signature is checked once. */
export function inspectCertificate(
  backend: CryptoBackend,
  membership: Membership,
  untrusted: Certificate,
): { verdict: CertificateResult; signers: SignerVerdict[]; headerHash?: Uint8Array } {
  const pre = certificatePrecheck(membership, untrusted);
  if (!pre.ok) return { verdict: pre, signers: signerRows(membership, (untrusted as { signatures?: unknown } | null)?.signatures) };
  const header = untrusted.header;
  const hash = headerHash(backend, header);
  const domain = { kind: 'commit', chainId: header.chainId, epoch: header.epoch } as const;
  const inspected = inspectQuorumSignatures(backend, membership, domain, commitVoteMessage(hash, header.height, untrusted.commitView), untrusted.signatures);
  const verdict: CertificateResult = inspected.verdict.ok ? { ok: true, headerHash: hash, signers: inspected.verdict.signers } : inspected.verdict;
  return { verdict, signers: inspected.signers, headerHash: hash };
}
