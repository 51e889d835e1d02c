// Verification in the browser, with the pure-JS backend of @vcr/proofs,
// against the pinned membership. Nothing a replica sends is shown as good
// unless it passes here; every failure says which rule failed.

import {
  type BlockHeader,
  bytesToHex,
  type Certificate,
  commitVoteMessage,
  headerHash,
  type Membership,
  nobleBackend,
  parseCertificateJson,
  verifyCertificate,
  verifyInDomain,
} from '@vcr/proofs';
import { type PeerMessage, parsePeerMessageJson, verifyMessageSignature } from '@vcr/consensus';

export interface SignerCheck {
  replicaId: string;
  organization: string;
  signature: string;
  /** This one signature, checked on its own against the replica's key. */
  valid: boolean;
}

export type CertificateCheck =
  | { ok: true; certificate: Certificate; header: BlockHeader; hash: string; signers: SignerCheck[] }
  | { ok: false; reason: string; certificate?: Certificate; signers?: SignerCheck[] };

export function checkCertificate(membership: Membership, untrusted: unknown): CertificateCheck {
  const parsed = parseCertificateJson(untrusted);
  if (!parsed.ok) return { ok: false, reason: `malformed certificate: ${parsed.issues.join('; ')}` };
  const certificate = parsed.value;
  const header = certificate.header;
  const hash = headerHash(nobleBackend, header);
  const vote = commitVoteMessage(hash, header.height, certificate.commitView);
  const signers = certificate.signatures.map((s) => {
    const replica = membership.replicas.find((r) => r.id === s.replicaId);
    const valid =
      replica !== undefined &&
      header.chainId === membership.chainId &&
      header.epoch === membership.epoch &&
      verifyInDomain(nobleBackend, replica.publicKey, { kind: 'commit', chainId: header.chainId, epoch: header.epoch }, vote, s.signature);
    return { replicaId: s.replicaId, organization: replica?.organization ?? 'not in the membership', signature: bytesToHex(s.signature), valid };
  });
  const verdict = verifyCertificate(nobleBackend, membership, certificate);
  if (!verdict.ok) return { ok: false, reason: `certificate does not verify: ${verdict.reason}`, certificate, signers };
  return { ok: true, certificate, header, hash: bytesToHex(hash), signers };
}

export type MessageCheck = { ok: true; message: PeerMessage } | { ok: false; reason: string; message?: PeerMessage };

/** A signed consensus message from the audit record: its sender's signature, in its epoch and chain. */
export function checkMessage(membership: Membership, untrusted: unknown): MessageCheck {
  const parsed = parsePeerMessageJson(untrusted);
  if (!parsed.ok) return { ok: false, reason: `malformed message: ${parsed.issues.join('; ')}` };
  const message = parsed.value;
  if (!membership.replicas.some((r) => r.id === message.from)) return { ok: false, reason: `sender ${message.from} is not in the membership`, message };
  if (message.epoch !== membership.epoch) return { ok: false, reason: `epoch ${message.epoch} is not the pinned epoch ${membership.epoch}`, message };
  const valid = verifyMessageSignature({ backend: nobleBackend, chainId: membership.chainId }, membership, message);
  return valid ? { ok: true, message } : { ok: false, reason: 'signature does not verify', message };
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
