// A membership: who may vote in one epoch, with which keys, and who governs
// changes to it. Its hash is what the last block of the previous epoch commits to.

import { type CanonicalValue } from './canonical';
import { type CryptoBackend } from './crypto-backend';
import { bytesToHex, utf8 } from './bytes';
import { hashCanonical } from './hash';
import { limits } from './limits';
import { quorumSize } from './quorum';

export interface ReplicaInfo {
  /** Stable replica id, e.g. "r1". */
  id: string;
  organization: string;
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Peer/client base URL; informational, not trusted for anything. */
  address: string;
}

export interface GovernanceAdmin {
  organization: string;
  publicKey: Uint8Array;
}

/** Who approves membership changes: `threshold` distinct organizations among `admins`. */
export interface GovernancePolicy {
  threshold: number;
  admins: GovernanceAdmin[];
}

export interface Membership {
  chainId: string;
  epoch: bigint;
  f: number;
  replicas: ReplicaInfo[];
  governance: GovernancePolicy;
}

export type MembershipRejection =
  | 'bad-chain-id'
  | 'bad-epoch'
  | 'bad-size'
  | 'bad-f'
  | 'bad-replica'
  | 'duplicate-replica-id'
  | 'duplicate-replica-key'
  | 'bad-governance';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function isKey(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === 32;
}

function isShortText(value: unknown, max = 256): value is string {
  return typeof value === 'string' && value.length > 0 && utf8(value).length <= max;
}

/** Structural rules every membership obeys; a membership that fails them is never trusted. */
export function checkMembership(m: Membership): MembershipRejection | undefined {
  if (!isShortText(m.chainId, limits.chainIdBytesMax)) return 'bad-chain-id';
  if (typeof m.epoch !== 'bigint' || m.epoch < 0n || m.epoch >= 1n << 63n) return 'bad-epoch';
  if (!Array.isArray(m.replicas) || m.replicas.length < 1 || m.replicas.length > limits.membershipSizeMax) return 'bad-size';
  if (!Number.isSafeInteger(m.f) || m.f < 0 || 3 * m.f + 1 > m.replicas.length) return 'bad-f';
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const r of m.replicas) {
    if (!ID_PATTERN.test(r.id) || !isShortText(r.organization) || !isKey(r.publicKey) || typeof r.address !== 'string' || r.address.length > 256) {
      return 'bad-replica';
    }
    if (ids.has(r.id)) return 'duplicate-replica-id';
    ids.add(r.id);
    const key = bytesToHex(r.publicKey);
    if (keys.has(key)) return 'duplicate-replica-key';
    keys.add(key);
  }
  const g = m.governance;
  if (!g || !Array.isArray(g.admins) || g.admins.length < 1 || g.admins.length > limits.membershipSizeMax) return 'bad-governance';
  const orgs = new Set<string>();
  for (const a of g.admins) {
    if (!isShortText(a.organization) || !isKey(a.publicKey)) return 'bad-governance';
    orgs.add(a.organization);
  }
  if (!Number.isSafeInteger(g.threshold) || g.threshold < 1 || g.threshold > orgs.size) return 'bad-governance';
  return undefined;
}

export function membershipQuorum(m: Membership): number {
  return quorumSize(m.replicas.length, m.f);
}

export function membershipToCanonical(m: Membership): CanonicalValue {
  return {
    chainId: m.chainId,
    epoch: m.epoch,
    f: m.f,
    replicas: m.replicas.map((r) => ({ id: r.id, organization: r.organization, publicKey: r.publicKey, address: r.address })),
    governance: {
      threshold: m.governance.threshold,
      admins: m.governance.admins.map((a) => ({ organization: a.organization, publicKey: a.publicKey })),
    },
  };
}

export function membershipHash(backend: CryptoBackend, m: Membership): Uint8Array {
  return hashCanonical(backend, membershipToCanonical(m));
}

export function findReplica(m: Membership, id: string): ReplicaInfo | undefined {
  return m.replicas.find((r) => r.id === id);
}
