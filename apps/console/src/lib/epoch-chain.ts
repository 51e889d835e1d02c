// The epochs the console trusts: the proofs' TrustedEpochs (the pinned
// membership, then each membership proven by an epoch link verified from the
// membership before it, strictly in order; docs/protocol.md section 10).
// Every item the console shows is judged against the membership of its own
// epoch, looked up here; an epoch the chain has not reached has none, and
// nothing of it is shown as verified.

import { type BlockHeader, bytesToHex, checkEpochHeight, type EpochLink, type Membership, nobleBackend, TrustedEpochs } from '@vcr/proofs';
import { consoleLimits } from './limits';

export interface TrustedLink {
  link: EpochLink;
  /** The replica whose answer carried it first (informational: the link verified on its own). */
  servedBy: string;
}

/**
 * The proofs' TrustedEpochs (where every rule lives), with the replica that
 * served each link for the Membership page. `pinned`, `links` and
 * `memberships` are views of `trusted`, kept for the pages.
 */
export interface EpochChain {
  trusted: TrustedEpochs;
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

/** The console's view of a verified chain; `servedBy[i]` names who served link i. */
export function chainOf(trusted: TrustedEpochs, servedBy: readonly string[]): EpochChain {
  return { trusted, pinned: trusted.pinned, memberships: trusted.memberships, links: trusted.links.map((link, i) => ({ link, servedBy: servedBy[i] ?? '?' })) };
}

export function pinnedChain(pinned: Membership): EpochChain {
  return chainOf(TrustedEpochs.pin(pinned, consoleLimits.epochLinksMax), []);
}

export function newestMembership(chain: EpochChain): Membership {
  return chain.trusted.newest;
}

export type LinkVerdict = { ok: true; chain: EpochChain } | { ok: false; reason: string };

/**
 * Trusts the membership `untrusted` proves, if it verifies from the newest
 * trusted one (TrustedEpochs.extend). A refused link leaves the chain as it was.
 */
export function extendChain(chain: EpochChain, untrusted: EpochLink, servedBy: string): LinkVerdict {
  const verdict = chain.trusted.extend(nobleBackend, untrusted);
  if (!verdict.ok) return { ok: false, reason: `${verdict.reason}${verdict.detail === undefined ? '' : ` (${verdict.detail.slice(0, 160)})`}` };
  return { ok: true, chain: chainOf(verdict.chain, [...chain.links.map((l) => l.servedBy), servedBy]) };
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
  const found = chain.trusted.lookup(epoch);
  return found.ok ? found : { ok: false, reason: found.detail };
}

/** Why a certified height cannot belong to this epoch, or undefined: the proofs' epoch-height rule (checkEpochHeight). */
export function outsideEpoch(epoch: EpochMembership & { ok: true }, height: bigint, hash?: Uint8Array): string | undefined {
  const verdict = checkEpochHeight(nobleBackend, epoch, height, hash);
  return verdict.ok ? undefined : verdict.detail;
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
