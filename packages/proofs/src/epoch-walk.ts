// Walking the epoch chain (DESIGN section 6; docs/client-sdk.md, "Epochs"):
// the one walk every verifier runs, in the consensus core's style. It is
// synchronous and does no I/O: `next()` says what the host must do (fetch the
// epochs page after epoch e, at most n links, from the one replica this walk
// reads) or that the walk is done; the host performs it and hands the answer
// to `onPage` (or its failure to `onFetchFailed`). Each page is counted and
// parsed whole before any signature work (epochs-page.ts), then its links are
// verified one at a time, strictly in order, from the newest trusted
// membership. A link into an epoch already trusted must be the trusted one:
// a different one that verifies from the same membership is a fork. A
// refused link is never trusted; what was proven before it stays proven.
// A replica may hide links, never forge them: hosts that ask several
// replicas run one walk per replica over the chain the last one left.

import type { CryptoBackend } from './crypto-backend';
import type { EpochLink } from './epoch-chain';
import { type EpochsPageRejection, parseEpochsPage } from './epochs-page';
import { limits } from './limits';
import { sameEpochLink, type TrustedEpochs } from './trusted-epochs';

/** Walk to this epoch, or as far as the replica's chain goes (within the budget). */
export type EpochTarget = bigint | 'latest';

/**
 * Trusts one link into the newest trusted epoch + 1, or says why not. The
 * default is the chain's own `extend`; a host with more rules of its own
 * (the SDK's trusted head, its fork memory) passes one that applies them
 * around `extend`.
 */
export type AdmitLink = (chain: TrustedEpochs, link: EpochLink) => { ok: true; chain: TrustedEpochs } | { ok: false; reason: string; detail?: string };

export interface EpochWalkOptions {
  target: EpochTarget;
  /** Links this walk may add past the chain it starts from; a walk that reaches it stops, successful but `capped`. */
  linksMax: number;
  /** Links asked per page; at most limits.epochsPageLinksMax. */
  pageLinks?: number;
  admit?: AdmitLink;
}

export type EpochWalkFailure =
  /** The host could not fetch the page (network, HTTP status, size): its own words. */
  | { reason: 'fetch-failed'; after: bigint; detail: string }
  | { reason: EpochsPageRejection; after: bigint; detail: string; index?: number }
  /** A target epoch past the newest link the replica serves. */
  | { reason: 'no-link'; after: bigint; current: bigint; detail: string }
  /** A link that does not verify from the membership before it (`rule`: the verifier's reason, `ruleDetail` its detail; `detail` both in one line). */
  | { reason: 'link-refused'; after: bigint; index: number; into: bigint; rule: string; ruleDetail?: string; detail: string }
  /** A second link into a trusted epoch: `verifies` says whether it verified from the same membership (a fork) or not. */
  | { reason: 'conflicting-link'; after: bigint; index: number; into: bigint; verifies: boolean; detail: string };

export type EpochWalkOutcome = { ok: true; capped: boolean } | ({ ok: false } & EpochWalkFailure);

export type EpochWalkStep = { type: 'fetch-epochs-page'; after: bigint; limit: number } | { type: 'done'; outcome: EpochWalkOutcome };

const min = (...values: bigint[]): bigint => values.reduce((a, b) => (a < b ? a : b));

export class EpochWalk {
  private chainValue: TrustedEpochs;
  private readonly start: bigint;
  private readonly pageLinks: number;
  private outcome: EpochWalkOutcome | undefined;
  /** Links this walk trusted. */
  added = 0;
  /** The current epoch the replica last claimed (unverified). */
  current: bigint | undefined;

  constructor(
    private readonly backend: CryptoBackend,
    chain: TrustedEpochs,
    private readonly options: EpochWalkOptions,
  ) {
    this.chainValue = chain;
    this.start = chain.newest.epoch;
    this.pageLinks = Math.min(options.pageLinks ?? limits.epochsPageLinksMax, limits.epochsPageLinksMax);
    if (!(this.pageLinks >= 1)) throw new RangeError('an epoch walk asks for at least one link per page');
  }

  /** The chain as far as the walk has verified it. */
  get chain(): TrustedEpochs {
    return this.chainValue;
  }

  /** What the host must do next. */
  next(): EpochWalkStep {
    if (this.outcome !== undefined) return { type: 'done', outcome: this.outcome };
    const after = this.chainValue.newest.epoch;
    const left = BigInt(this.options.linksMax) - (after - this.start);
    const target = this.options.target;
    if (target !== 'latest' && after >= target) return this.finish({ ok: true, capped: false });
    if (left <= 0n) return this.finish({ ok: true, capped: true });
    const wanted = target === 'latest' ? left : target - after;
    return { type: 'fetch-epochs-page', after, limit: Number(min(wanted, left, BigInt(this.pageLinks))) };
  }

  onFetchFailed(after: bigint, detail: string): void {
    this.outcome ??= { ok: false, reason: 'fetch-failed', after, detail };
  }

  /**
   * The replica's untrusted answer to the page request `{ after, limit }`
   * (normally the last `next()`; a host may also hand a page fetched for an
   * earlier epoch of the same chain, whose links into trusted epochs are then
   * compared with the trusted ones).
   */
  onPage(request: { after: bigint; limit: number }, untrusted: unknown): void {
    if (this.outcome !== undefined) return;
    const { after, limit } = request;
    const page = parseEpochsPage(untrusted, limit);
    if (!page.ok) {
      this.outcome = { ok: false, reason: page.reason, after, detail: page.detail, ...(page.index === undefined ? {} : { index: page.index }) };
      return;
    }
    this.current = page.current;
    const target = this.options.target;
    if (page.links.length === 0) {
      if (target === 'latest') this.outcome = { ok: true, capped: false };
      else this.outcome = { ok: false, reason: 'no-link', after, current: page.current, detail: `no epoch link after epoch ${after} (the replica's current epoch: ${page.current})` };
      return;
    }
    const addedBefore = this.added;
    for (const [index, link] of page.links.entries()) {
      const into = after + 1n + BigInt(index);
      if (!this.take(after, index, into, link)) return;
    }
    const newest = this.chainValue.newest.epoch;
    // A page that proves nothing new ends the walk (the replica may still be collecting the next link's accepts).
    const ended = this.added === addedBefore || page.links.length < limit || newest >= page.current;
    if (target === 'latest' && ended) this.outcome = { ok: true, capped: false };
    else if (target !== 'latest' && newest < target && this.added === addedBefore) {
      this.outcome = { ok: false, reason: 'no-link', after, current: page.current, detail: `no new epoch link after epoch ${newest} (the replica's current epoch: ${page.current})` };
    }
  }

  /** One link of a page: compared with the trusted one, or verified and trusted. False when the walk ends on it. */
  private take(after: bigint, index: number, into: bigint, link: EpochLink): boolean {
    const chain = this.chainValue;
    const known = chain.linkInto(into);
    if (known !== undefined) {
      if (sameEpochLink(this.backend, known, link)) return true;
      const verdict = chain.before(into).extend(this.backend, link);
      const detail = verdict.ok
        ? `a second link into epoch ${into}, verified from epoch ${into - 1n}'s membership, with a different last block or membership than the trusted one`
        : `link into epoch ${into} differs from the trusted one and does not verify: ${verdict.reason}${verdict.detail === undefined ? '' : ` (${verdict.detail.slice(0, 160)})`}`;
      this.outcome = { ok: false, reason: 'conflicting-link', after, index, into, verifies: verdict.ok, detail };
      return false;
    }
    if (into !== chain.newest.epoch + 1n) {
      this.outcome = { ok: false, reason: 'link-refused', after, index, into, rule: 'not-sequential', detail: `link into epoch ${into} does not follow the newest trusted epoch ${chain.newest.epoch}` };
      return false;
    }
    if (BigInt(this.options.linksMax) - (chain.newest.epoch - this.start) <= 0n) return false;
    const verdict = (this.options.admit ?? ((c, l) => c.extend(this.backend, l)))(chain, link);
    if (!verdict.ok) {
      const detail = `${verdict.reason}${verdict.detail === undefined ? '' : ` (${verdict.detail.slice(0, 160)})`}`;
      this.outcome = { ok: false, reason: 'link-refused', after, index, into, rule: verdict.reason, ...(verdict.detail === undefined ? {} : { ruleDetail: verdict.detail }), detail };
      return false;
    }
    this.chainValue = verdict.chain;
    this.added++;
    return true;
  }

  private finish(outcome: EpochWalkOutcome): EpochWalkStep {
    this.outcome = outcome;
    return { type: 'done', outcome };
  }
}
