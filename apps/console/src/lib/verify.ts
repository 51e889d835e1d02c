// Verification in the browser, with the pure-JS backend of @vcr/proofs. Each
// certificate and signed message is checked against the membership of its
// own epoch, as the verified epoch chain from the pinned genesis proves it
// (epoch-chain.ts); an item of an epoch the chain has not reached is not
// verified. Nothing a replica sends is shown as good unless it passes here;
// every failure says which rule failed.

import { type BlockHeader, bytesToHex, type Certificate, commitVoteMessage, headerHash, nobleBackend, inspectCertificate, parseCertificateJson, verifyInDomain, type PeerMessage, parsePeerMessageJson, verifyMessageSignature, verifyMessageWithKey } from '@vcr/proofs';
import { type EpochChain, membershipOf, outsideEpoch, retiredKeyReason } from './epoch-chain';

export interface SignerCheck {
  replicaId: string;
  organization: string;
  signature: string;
  /** This one signature, checked on its own against the replica's key of the certificate's epoch. */
  valid: boolean;
  /** Why it does not count, when it does not. */
  reason?: string;
}

export type CertificateCheck =
  | { ok: true; certificate: Certificate; header: BlockHeader; hash: string; signers: SignerCheck[] }
  | { ok: false; reason: string; certificate?: Certificate; signers?: SignerCheck[]; unverifiable?: true };

export function checkCertificate(chain: EpochChain, untrusted: unknown): CertificateCheck {
  const parsed = parseCertificateJson(untrusted);
  if (!parsed.ok) return { ok: false, reason: `malformed certificate: ${parsed.issues.join('; ')}` };
  const certificate = parsed.value;
  const header = certificate.header;
  const epoch = membershipOf(chain, header.epoch);
  if (!epoch.ok) {
    const signers = certificate.signatures.map((s) => ({ replicaId: s.replicaId, organization: '?', signature: bytesToHex(s.signature), valid: false, reason: epoch.reason }));
    return { ok: false, reason: epoch.reason, certificate, signers, unverifiable: true };
  }
  // Each signature is checked once: the verdict and the per-signer rows come from the same checks.
  const inspected = inspectCertificate(nobleBackend, epoch.membership, certificate);
  const hash = inspected.headerHash ?? headerHash(nobleBackend, header);
  const vote = commitVoteMessage(hash, header.height, certificate.commitView);
  const domain = { kind: 'commit', chainId: epoch.membership.chainId, epoch: header.epoch } as const;
  const signers = inspected.signers.map((s): SignerCheck => {
    const base = { replicaId: s.replicaId, organization: s.member?.organization ?? `not in the membership of epoch ${header.epoch}`, signature: bytesToHex(s.signature) };
    if (s.valid) return { ...base, valid: true };
    if (!inspected.verdict.ok && inspected.verdict.reason === 'wrong-chain') return { ...base, valid: false, reason: `header of chain ${header.chainId}` };
    const retired = retiredKeyReason(chain, header.epoch, s.replicaId, (key) => verifyInDomain(nobleBackend, key, domain, vote, s.signature));
    const own = s.member === undefined ? `not a member of epoch ${header.epoch}` : s.checked ? `does not verify with ${s.replicaId}'s key of epoch ${header.epoch}` : `not checked: ${inspected.verdict.ok ? '' : inspected.verdict.reason}`;
    return { ...base, valid: false, reason: retired ?? own };
  });
  const outside = outsideEpoch(epoch, header.height, hash);
  if (outside !== undefined) return { ok: false, reason: outside, certificate, signers };
  const verdict = inspected.verdict;
  if (!verdict.ok) {
    const retired = signers.find((s) => s.reason?.startsWith('retired key'));
    return { ok: false, reason: `certificate does not verify against epoch ${header.epoch}'s membership: ${verdict.reason}${retired ? ` (${retired.replicaId}: ${retired.reason})` : ''}`, certificate, signers };
  }
  return { ok: true, certificate, header, hash: bytesToHex(hash), signers };
}

/** `unverifiable`: the item's epoch is not (yet) reached by the verified chain; it is shown as NOT VERIFIED, never as verified. */
export type MessageCheck = { ok: true; message: PeerMessage } | { ok: false; reason: string; message?: PeerMessage; unverifiable?: true };

/** The sequence number (block height) a message votes on, if it has one. */
function seqOf(message: PeerMessage): bigint | undefined {
  switch (message.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
    case 'checkpoint':
      return message.seq;
    default:
      return undefined;
  }
}

/** A signed consensus message from the audit record: its sender's signature, with its key of the message's epoch, in its chain. */
export function checkMessage(chain: EpochChain, untrusted: unknown): MessageCheck {
  const parsed = parsePeerMessageJson(untrusted);
  if (!parsed.ok) return { ok: false, reason: `malformed message: ${parsed.issues.join('; ')}` };
  const message = parsed.value;
  const epoch = membershipOf(chain, message.epoch);
  if (!epoch.ok) return { ok: false, reason: epoch.reason, message, unverifiable: true };
  const membership = epoch.membership;
  if (!membership.replicas.some((r) => r.id === message.from)) return { ok: false, reason: `sender ${message.from} is not in the membership of epoch ${message.epoch}`, message };
  const seq = seqOf(message);
  const outside = seq === undefined ? undefined : outsideEpoch(epoch, seq);
  if (outside !== undefined) return { ok: false, reason: `a vote outside its epoch: ${outside}`, message };
  const ctx = { backend: nobleBackend, chainId: membership.chainId };
  if (verifyMessageSignature(ctx, membership, message)) return { ok: true, message };
  const retired = retiredKeyReason(chain, message.epoch, message.from, (key) => verifyMessageWithKey(ctx, key, message));
  return { ok: false, reason: retired ?? `signature does not verify with ${message.from}'s key of epoch ${message.epoch}`, message };
}

/** The header hash a vote is for, or undefined (view changes and new views). */
export function votedHash(message: PeerMessage): string | undefined {
  switch (message.type) {
    case 'pre-prepare':
      return bytesToHex(headerHash(nobleBackend, message.header));
    case 'prepare':
    case 'commit':
    case 'checkpoint':
      return bytesToHex(message.headerHash);
    default:
      return undefined;
  }
}
