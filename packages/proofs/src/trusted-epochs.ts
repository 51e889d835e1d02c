// The memberships a verifier trusts, by epoch (DESIGN section 6, docs/design.md
// "Trust model"): the pinned one, then each one proven by an epoch link
// verified (verifyEpochChain) from the membership before it, strictly in
// order. `extend` is the only way in. A value: extending returns a new
// chain and leaves the old one as it was, so a host can hand a chain to a
// view and keep walking. Holds the one epoch-height rule every verifier uses:
// an epoch's blocks lie above the last block of the epoch before and at most
// at its own last block, and at that height only the header its link names.

import { equalBytes } from './bytes';
import type { CryptoBackend } from './crypto-backend';
import { type EpochChainRejection, type EpochLink, verifyEpochChain } from './epoch-chain';
import { type BlockHeader, headerHash } from './header';
import { limits } from './limits';
import { type Membership, membershipHash } from './membership';

/** Why a link was not trusted: a rule of verifyEpochChain, or the chain's own cap. */
export type TrustedLinkRejection = EpochChainRejection | 'too-many-trusted-links';

export type ExtendResult = { ok: true; chain: TrustedEpochs } | { ok: false; reason: TrustedLinkRejection; detail?: string };

/** The epoch-height rule's refusals. */
export type EpochHeightRejection = 'before-epoch-start' | 'after-epoch-end' | 'not-the-linked-last-block';

/** `boundaryHeight`: the last block of the epoch before (before-epoch-start) or of this epoch (the others). */
export type EpochHeightVerdict = { ok: true } | { ok: false; reason: EpochHeightRejection; boundaryHeight: bigint; detail: string };

/** What an item of one epoch is judged against. */
export type EpochLookup =
  | {
      ok: true;
      membership: Membership;
      /** The last block of the epoch before (none for the pinned epoch): this epoch's blocks lie above it. */
      startsAfterHeight: bigint | undefined;
      /** The last block of this epoch, once a verified link out of it is trusted. */
      lastHeader: BlockHeader | undefined;
    }
  | { ok: false; reason: 'before-pinned-epoch' | 'beyond-trusted-chain'; detail: string };

/**
 * The epoch-height rule: may a header of `epoch` sit at `height`? `hash`, when
 * given, is the header's hash: at the epoch's last height only the header
 * its verified link names is of this epoch. A rotated-out membership's keys
 * cannot certify past the end of their epoch.
 */
export function checkEpochHeight(backend: CryptoBackend, epoch: EpochLookup & { ok: true }, height: bigint, hash?: Uint8Array): EpochHeightVerdict {
  const e = epoch.membership.epoch;
  if (epoch.startsAfterHeight !== undefined && height <= epoch.startsAfterHeight) {
    return { ok: false, reason: 'before-epoch-start', boundaryHeight: epoch.startsAfterHeight, detail: `height ${height} is not in epoch ${e}: it began after height ${epoch.startsAfterHeight}` };
  }
  const last = epoch.lastHeader;
  if (last === undefined) return { ok: true };
  if (height > last.height) return { ok: false, reason: 'after-epoch-end', boundaryHeight: last.height, detail: `height ${height} is not in epoch ${e}: it ended at height ${last.height}` };
  if (hash !== undefined && height === last.height && !equalBytes(hash, headerHash(backend, last))) {
    return { ok: false, reason: 'not-the-linked-last-block', boundaryHeight: last.height, detail: `not the last block of epoch ${e} that the verified epoch link names (a conflicting header at height ${height})` };
  }
  return { ok: true };
}

export class TrustedEpochs {
  private constructor(
    readonly pinned: Membership,
    /** links[i] leads from epoch pinned.epoch + i to pinned.epoch + i + 1 and proves the membership of the later one. */
    readonly links: readonly EpochLink[],
    /** memberships[i] is the membership of epoch pinned.epoch + i. */
    readonly memberships: readonly Membership[],
    /** Links this chain holds at most past the pinned membership. */
    readonly linksMax: number,
  ) {}

  /** A chain that trusts only `pinned` (configured, never fetched). */
  static pin(pinned: Membership, linksMax: number = limits.epochChainLinksMax): TrustedEpochs {
    return new TrustedEpochs(pinned, [], [pinned], linksMax);
  }

  /** The newest trusted membership: where the next link starts. */
  get newest(): Membership {
    return this.memberships[this.memberships.length - 1] as Membership;
  }

  /** The membership trusted for an epoch, if the chain reaches it. */
  membershipFor(epoch: bigint): Membership | undefined {
    const offset = epoch - this.pinned.epoch;
    return offset < 0n || offset >= BigInt(this.memberships.length) ? undefined : this.memberships[Number(offset)];
  }

  /** The trusted link into `epoch` (it ends epoch - 1), if any. */
  linkInto(epoch: bigint): EpochLink | undefined {
    const offset = epoch - this.pinned.epoch - 1n;
    return offset < 0n || offset >= BigInt(this.links.length) ? undefined : this.links[Number(offset)];
  }

  /** The chain as it was before the link into `epoch` (epoch > pinned, at most newest + 1). */
  before(epoch: bigint): TrustedEpochs {
    const keep = Number(epoch - this.pinned.epoch - 1n);
    if (keep < 0 || keep > this.links.length) throw new RangeError(`no chain before epoch ${epoch}`);
    return new TrustedEpochs(this.pinned, this.links.slice(0, keep), this.memberships.slice(0, keep + 1), this.linksMax);
  }

  /** An epoch's membership and the heights it spans, or why the chain cannot judge its items. */
  lookup(epoch: bigint): EpochLookup {
    if (epoch < this.pinned.epoch) {
      return { ok: false, reason: 'before-pinned-epoch', detail: `epoch ${epoch} is before the pinned epoch ${this.pinned.epoch}: nothing of it can be verified from the pinned membership` };
    }
    const membership = this.membershipFor(epoch);
    if (membership === undefined) {
      const newest = this.newest.epoch;
      const next = newest + 1n;
      const toward = epoch === next ? '' : ` (the chain reaches epoch ${newest}; epoch ${epoch} needs the links into ${next} to ${epoch})`;
      return { ok: false, reason: 'beyond-trusted-chain', detail: `no verified link into epoch ${next} yet${toward}` };
    }
    return { ok: true, membership, startsAfterHeight: this.linkInto(epoch)?.lastHeader.height, lastHeader: this.linkInto(epoch + 1n)?.lastHeader };
  }

  /** The epoch-height rule for a header of `epoch` at `height` (checkEpochHeight); an epoch the chain does not reach has no rule yet. */
  checkHeight(backend: CryptoBackend, epoch: bigint, height: bigint, hash?: Uint8Array): EpochHeightVerdict {
    const found = this.lookup(epoch);
    return found.ok ? checkEpochHeight(backend, found, height, hash) : { ok: true };
  }

  /**
   * Trusts the membership `untrusted` proves if it verifies from the newest
   * trusted one (verifyEpochChain: the old quorum's certificate of the old
   * epoch's last header, which names the next membership, and the next
   * membership's epoch-accept quorum). A refused link changes nothing.
   */
  extend(backend: CryptoBackend, untrusted: EpochLink): ExtendResult {
    if (this.links.length >= this.linksMax) {
      return { ok: false, reason: 'too-many-trusted-links', detail: `this chain holds at most ${this.linksMax} links past the pinned epoch ${this.pinned.epoch}: pin a later membership` };
    }
    const verdict = verifyEpochChain(backend, this.newest, [untrusted]);
    if (!verdict.ok) return { ok: false, reason: verdict.reason, ...(verdict.detail === undefined ? {} : { detail: verdict.detail }) };
    return { ok: true, chain: new TrustedEpochs(this.pinned, [...this.links, untrusted], [...this.memberships, untrusted.nextMembership], this.linksMax) };
  }
}

/** Whether two links are the same hand-over: the same last header and the same next membership (signatures may differ). */
export function sameEpochLink(backend: CryptoBackend, a: EpochLink, b: EpochLink): boolean {
  return equalBytes(headerHash(backend, a.lastHeader), headerHash(backend, b.lastHeader)) && equalBytes(membershipHash(backend, a.nextMembership), membershipHash(backend, b.nextMembership));
}
