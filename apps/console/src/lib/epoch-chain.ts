// The epochs the console trusts: the pinned membership, then each membership
// proven by an epoch link verified (with the proofs' verifyEpochChain) from
// the membership before it, strictly in order (docs/protocol.md section 10).
// Every item the console shows is judged against the membership of its own
// epoch, looked up here; an epoch the chain has not reached has none, and
// nothing of it is shown as verified.

import { type BlockHeader, bytesToHex, type EpochLink, equalBytes, headerHash, type Membership, nobleBackend, verifyEpochChain } from '@vcr/proofs';
import { consoleLimits } from './limits';

export interface TrustedLink {
  link: EpochLink;
  /** The replica whose answer carried it first (informational: the link verified on its own). */
  servedBy: string;
}

export interface EpochChain {
  pinned: Membership;
  /** links[i] leads from epoch pinned.epoch + i to pinned.epoch + i + 1. */
  links: readonly TrustedLink[];
  /** memberships[i] is the membership of epoch pinned.epoch + i. */
  memberships: readonly Membership[];
}

/** How the console names a key everywhere: the first 8 bytes of SHA-256(public key), in hex. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return bytesToHex(nobleBackend.sha256(publicKey)).slice(0, 16);
}

export function pinnedChain(pinned: Membership): EpochChain {
  return { pinned, links: [], memberships: [pinned] };
}

export function newestMembership(chain: EpochChain): Membership {
  const newest = chain.memberships[chain.memberships.length - 1];
  if (newest === undefined) throw new Error('an epoch chain holds at least the pinned membership');
  return newest;
}

export type LinkVerdict = { ok: true; chain: EpochChain } | { ok: false; reason: string };

/**
 * Trusts the membership `untrusted` proves, if it verifies from the newest
 * trusted one (old quorum's certificate of the last block, new quorum's
 * accepts). A refused link leaves the chain as it was.
 */
export function extendChain(chain: EpochChain, untrusted: EpochLink, servedBy: string): LinkVerdict {
  if (chain.links.length >= consoleLimits.epochLinksMax) {
    return { ok: false, reason: `too-many-links: the console verifies at most ${consoleLimits.epochLinksMax} links from the pinned genesis (pin a later membership)` };
  }
  const from = newestMembership(chain);
  const verdict = verifyEpochChain(nobleBackend, from, [untrusted]);
  if (!verdict.ok) return { ok: false, reason: `${verdict.reason}${verdict.detail === undefined ? '' : ` (${verdict.detail.slice(0, 160)})`}` };
  return { ok: true, chain: { pinned: chain.pinned, links: [...chain.links, { link: untrusted, servedBy }], memberships: [...chain.memberships, untrusted.nextMembership] } };
}

/** The trusted link into `epoch` (it ends epoch - 1), if the chain has it. */
export function linkInto(chain: EpochChain, epoch: bigint): TrustedLink | undefined {
  const offset = epoch - chain.pinned.epoch - 1n;
  return offset < 0n || offset >= BigInt(chain.links.length) ? undefined : chain.links[Number(offset)];
}

/** What an item of one epoch is judged against: its membership and the heights the epoch spans. */
export type EpochMembership =
  | {
      ok: true;
      membership: Membership;
      /** The last block of the epoch before (none for the pinned epoch): the epoch's blocks are above it. */
      startsAfterHeight: bigint | undefined;
      /** The last block of this epoch, once a verified link out of it is known. */
      lastHeader: BlockHeader | undefined;
    }
  | { ok: false; reason: string };

export function membershipOf(chain: EpochChain, epoch: bigint): EpochMembership {
  const newest = newestMembership(chain).epoch;
  if (epoch < chain.pinned.epoch) {
    return { ok: false, reason: `epoch ${epoch} is before the pinned epoch ${chain.pinned.epoch}: nothing of it can be verified from the pinned membership` };
  }
  if (epoch > newest) {
    const next = newest + 1n;
    const toward = epoch === next ? '' : ` (the chain reaches epoch ${newest}; epoch ${epoch} needs the links into ${next} to ${epoch})`;
    return { ok: false, reason: `no verified link into epoch ${epoch === next ? epoch : next} yet${toward}` };
  }
  const membership = chain.memberships[Number(epoch - chain.pinned.epoch)];
  if (membership === undefined) throw new Error('memberships cover every epoch up to the newest');
  return { ok: true, membership, startsAfterHeight: linkInto(chain, epoch)?.link.lastHeader.height, lastHeader: linkInto(chain, epoch + 1n)?.link.lastHeader };
}

/**
 * Why a certified height cannot belong to this epoch, or undefined: an
 * epoch's blocks lie above the last block of the epoch before and at most at
 * its own last block, and that last block is the one its link names (a
 * retired membership's keys cannot certify past the end of their epoch).
 */
export function outsideEpoch(epoch: EpochMembership & { ok: true }, height: bigint, hash?: Uint8Array): string | undefined {
  const e = epoch.membership.epoch;
  if (epoch.startsAfterHeight !== undefined && height <= epoch.startsAfterHeight) return `height ${height} is not in epoch ${e}: it began after height ${epoch.startsAfterHeight}`;
  const last = epoch.lastHeader;
  if (last === undefined) return undefined;
  if (height > last.height) return `height ${height} is not in epoch ${e}: it ended at height ${last.height}`;
  if (hash !== undefined && height === last.height && !equalBytes(hash, headerHash(nobleBackend, last))) {
    return `not the last block of epoch ${e} that the verified epoch link names (a conflicting header at height ${height})`;
  }
  return undefined;
}

/**
 * After a signature failed against the replica's key of `epoch`: the earlier
 * key of that replica (a key an epoch change replaced) that `verifies`, as a
 * reason, or undefined. Newest first, at most retiredKeysCheckedMax keys.
 */
export function retiredKeyReason(chain: EpochChain, epoch: bigint, replicaId: string, verifies: (publicKey: Uint8Array) => boolean): string | undefined {
  const current = membershipOf(chain, epoch);
  if (!current.ok) return undefined;
  const currentKey = current.membership.replicas.find((r) => r.id === replicaId)?.publicKey;
  const tried = new Set<string>(currentKey === undefined ? [] : [bytesToHex(currentKey)]);
  for (let e = epoch - 1n; e >= chain.pinned.epoch && tried.size <= consoleLimits.retiredKeysCheckedMax; e--) {
    const old = membershipOf(chain, e);
    const key = old.ok ? old.membership.replicas.find((r) => r.id === replicaId)?.publicKey : undefined;
    if (key === undefined || tried.has(bytesToHex(key))) continue;
    tried.add(bytesToHex(key));
    if (verifies(key)) {
      // Walking down, the first epoch holding this key is followed by one that replaced (or removed) it.
      const by = currentKey === undefined ? `${replicaId} is not a member of epoch ${epoch}` : `retired from epoch ${e + 1n} on`;
      return `retired key: signed with ${replicaId}'s key of epoch ${e} (fingerprint ${keyFingerprint(key)}); ${by}`;
    }
  }
  return undefined;
}
