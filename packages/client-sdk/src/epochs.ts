// Walking the epoch chain (DESIGN section 6; docs/client-sdk.md, "Epochs").
// A header of an epoch later than the newest trusted one is judged only
// after its membership is proven: the client asks the replica that sent it
// (then the others in turn) for the links after the newest trusted epoch.
// The walk is the proofs' EpochWalk (one page of `GET /v1/epochs` at a time,
// parsed whole with the proofs' epochs-page schema, each link verified from
// the newest trusted membership before the next); this file only chooses
// the replicas and words the failures. A link that fails
// is never trusted; what was proven before it stays proven. One walk
// verifies at most `epochWalkLinksMax` links, checked before anything is
// fetched. The new links are persisted before the walk returns.
// Before any certificate is trusted, the newest epoch is learned from f+1
// replicas (surveyNewestEpoch), again when that knowledge is older than a
// bound or a newer link was trusted since.

import { assertNever, EpochWalk, epochsPagePath, runEpochWalk } from '@vcr/proofs';
import type { Attempt } from './errors';
import { sdkLimits } from './limits';
import type { TrustState } from './trust-state';

export interface WalkContext {
  trust: TrustState;
  settings: { epochWalkLinksMax: number };
  /** Every replica once, in failover order. */
  order(): string[];
  getOk(url: string, path: string): Promise<{ ok: true; body: unknown } | { ok: false; attempt: Attempt }>;
  persist(): Promise<void>;
}

/** Walk to this epoch, or as far as the replicas' chains go (within the cap). */
export type EpochTarget = bigint | 'latest';

/** `epoch`: the newest trusted epoch after the walk (it may have advanced even when the walk failed). */
export type WalkResult = { ok: true; epoch: bigint } | { ok: false; epoch: bigint; attempts: Attempt[] };

/** One line per replica, for an error's detail. */
export function describeWalk(attempts: readonly Attempt[]): string {
  return attempts.map((a) => `${a.replica}: ${a.code}: ${a.detail.slice(0, 300)}`).join('; ');
}

/**
 * Walks from the newest trusted membership to `target`, asking `first`
 * first. To an epoch: stops at the first replica that proves it. To
 * 'latest': asks every replica in turn (a replica may hide links, never
 * forge them) and succeeds if one answered without a failure.
 */
export async function walkEpochChain(ctx: WalkContext, target: EpochTarget, first?: string): Promise<WalkResult> {
  const { trust } = ctx;
  const start = trust.newestMembership.epoch;
  const budget = BigInt(ctx.settings.epochWalkLinksMax);
  if (target !== 'latest' && target <= start) return { ok: true, epoch: start };
  if (target !== 'latest' && target - start > budget) {
    const detail = `too-many-links: epoch ${target} is ${target - start} links past the newest trusted epoch ${start}; one walk verifies at most ${budget}`;
    return { ok: false, epoch: start, attempts: [{ replica: first ?? 'client', code: 'unknown-epoch', detail }] };
  }
  const replicas = first === undefined ? ctx.order() : [first, ...ctx.order().filter((u) => u !== first)];
  const attempts: Attempt[] = [];
  let answered = false;
  for (const url of replicas) {
    const failure = await walkFrom(ctx, url, target, start, budget);
    if (failure !== undefined) attempts.push(failure);
    else answered = true;
    if (target !== 'latest' && trust.newestMembership.epoch >= target) break;
    if (trust.newestMembership.epoch - start >= budget) break;
  }
  const epoch = trust.newestMembership.epoch;
  // Persisted before anything is judged by the new memberships (a failed save fails the call).
  if (epoch > start) await ctx.persist();
  const done = target === 'latest' ? answered : epoch >= target;
  return done ? { ok: true, epoch } : { ok: false, epoch, attempts };
}

export interface SurveyContext extends WalkContext {
  /** The replicas asked for the newest epoch, in order (`epochReplicas`, default: every replica). */
  epochSources(): string[];
  now(): number;
}

/**
 * Learns the newest epoch from f+1 replicas (DESIGN section 7, "Newest
 * epoch"): asks the epoch replicas in turn (`first` first) for the links
 * after the newest trusted epoch, walks every link each proves, and stops once
 * f+1 of the newest trusted membership have answered without a failure. One
 * of them is honest, so no epoch it knows of stays hidden, and a certificate
 * of an epoch that ended is then refused for its height. Fails, recording
 * nothing, when fewer answer; the links proven meanwhile stay trusted.
 */
export async function surveyNewestEpoch(ctx: SurveyContext, first?: string): Promise<WalkResult> {
  const { trust } = ctx;
  const start = trust.newestMembership.epoch;
  const budget = BigInt(ctx.settings.epochWalkLinksMax);
  const sources = ctx.epochSources();
  const replicas = first !== undefined && sources.includes(first) ? [first, ...sources.filter((u) => u !== first)] : sources;
  const attempts: Attempt[] = [];
  let answered = 0;
  for (const url of replicas) {
    const failure = await walkFrom(ctx, url, 'latest', start, budget);
    if (failure !== undefined) attempts.push(failure);
    else answered++;
    if (answered >= trust.newestEpochAnswersNeeded || trust.newestMembership.epoch - start >= budget) break;
  }
  const epoch = trust.newestMembership.epoch;
  if (epoch > start) await ctx.persist();
  // A walk cut short by its budget has not reached the newest epoch: the next call goes on from here.
  if (epoch - start < budget && trust.confirmNewestEpoch(answered, ctx.now())) return { ok: true, epoch };
  const detail = `the newest epoch was told by ${answered} replica(s) of the ${trust.newestEpochAnswersNeeded} needed (f+1 of epoch ${epoch}'s membership, asked among ${sources.length} configured)`;
  return { ok: false, epoch, attempts: [...attempts, { replica: 'client', code: 'unknown-epoch', detail }] };
}

/**
 * One replica's pages of links (the proofs' EpochWalk) until the target, its
 * end or the budget; undefined when it answered without a failure. Each link
 * goes through the trust state's addEpochLink, which adds the trusted head's
 * rules around the proofs' own.
 */
async function walkFrom(ctx: WalkContext, url: string, target: EpochTarget, start: bigint, budget: bigint): Promise<Attempt | undefined> {
  const { trust } = ctx;
  const left = Number(budget - (trust.newestMembership.epoch - start));
  const walk = new EpochWalk(trust.backend, trust.epochs, {
    target,
    linksMax: Math.max(0, left),
    pageLinks: sdkLimits.epochPageLinks,
    admit: (_chain, link) => {
      const verdict = trust.addEpochLink(link, url);
      return verdict.ok ? { ok: true, chain: trust.epochs } : verdict;
    },
  });
  let failed: Attempt | undefined;
  const outcome = await runEpochWalk(walk, async (after, limit) => {
    const answer = await ctx.getOk(url, epochsPagePath(after, limit));
    if (answer.ok) return answer;
    failed = answer.attempt;
    return { ok: false, detail: answer.attempt.detail };
  });
  if (outcome.ok) return undefined;
  const fail = (code: Attempt['code'], detail: string): Attempt => ({ replica: url, code, detail });
  const where = `epochs after ${outcome.after}`;
  switch (outcome.reason) {
    case 'fetch-failed':
      return { ...(failed ?? fail('transport', outcome.detail)), detail: `${where}: ${outcome.detail}` };
    case 'malformed-page':
    case 'too-many-links':
      return fail('malformed', `${where}: ${outcome.detail}`);
    case 'malformed-link':
      return fail('malformed', `${where}: links[${outcome.index ?? 0}]: ${outcome.detail}`);
    case 'no-link':
      return fail('unknown-epoch', outcome.detail);
    case 'link-refused':
    case 'conflicting-link':
      return fail('verification-failed', `${where}: links[${outcome.index}] (epoch ${outcome.into - 1n} -> ${outcome.into}): ${outcome.detail}`);
    default:
      return assertNever(outcome, 'epoch walk outcome');
  }
}
