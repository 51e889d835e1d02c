// Walking the epoch chain (DESIGN section 6; docs/client-sdk.md, "Epochs").
// A header of an epoch later than the newest trusted one is judged only
// after its membership is proven: the client asks the replica that sent it
// (then the others in turn) for the links after the newest trusted epoch,
// `GET /v1/epochs?after=<epoch>&limit=<n>`, a page of at most 64, parses
// them with the proofs' schema, and hands them one at a time, strictly in
// order, to the trust state, which verifies each with verifyEpochChain from
// the newest trusted membership before trusting the next. A link that fails
// is never trusted; what was proven before it stays proven. One walk
// verifies at most `epochWalkLinksMax` links, checked before anything is
// fetched. The new links are persisted before the walk returns.
// Before any certificate is trusted, the newest epoch is learned from f+1
// replicas (surveyNewestEpoch), again when that knowledge is older than a
// bound or a newer link was trusted since.

import { type EpochLink, parseEpochLinkJson } from '@vcr/proofs';
import type { Attempt } from './errors';
import { sdkLimits } from './limits';
import type { TrustState } from './trust-state';
import { epochsAnswerSchema, parseAnswer } from './wire';

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

/** Pages of links from one replica until the target (or its end); undefined when it answered without a failure. */
async function walkFrom(ctx: WalkContext, url: string, target: EpochTarget, start: bigint, budget: bigint): Promise<Attempt | undefined> {
  const { trust } = ctx;
  const fail = (code: Attempt['code'], detail: string): Attempt => ({ replica: url, code, detail });
  // Every page verifies at least one link or ends the walk, so the budget bounds the pages.
  for (;;) {
    const after = trust.newestMembership.epoch;
    const left = budget - (after - start);
    const wanted = target === 'latest' ? left : target - after;
    if (wanted <= 0n || left <= 0n) return undefined;
    const limit = Number([wanted, left, BigInt(sdkLimits.epochPageLinks)].reduce((a, b) => (a < b ? a : b)));
    const answer = await ctx.getOk(url, `/v1/epochs?after=${after}&limit=${limit}`);
    if (!answer.ok) return { ...answer.attempt, detail: `epochs after ${after}: ${answer.attempt.detail}` };
    const parsed = parseAnswer(epochsAnswerSchema, answer.body);
    if (!parsed.ok) return fail('malformed', `epochs after ${after}: ${parsed.detail}`);
    const { current, links: raw } = parsed.value;
    if (raw.length > limit) return fail('malformed', `epochs after ${after}: too-many-links: ${raw.length} links where at most ${limit} were asked`);
    if (raw.length === 0) return target === 'latest' ? undefined : fail('unknown-epoch', `no epoch link after epoch ${after} (the replica's current epoch: ${current})`);
    // Parse the whole page before any signature work.
    const links: EpochLink[] = [];
    for (const [i, item] of raw.entries()) {
      const link = parseEpochLinkJson(item);
      if (!link.ok) return fail('malformed', `epochs after ${after}: links[${i}]: ${link.issues.slice(0, 3).join('; ')}`);
      links.push(link.value);
    }
    for (const [i, link] of links.entries()) {
      const from = trust.newestMembership.epoch;
      const verdict = trust.addEpochLink(link, url);
      if (!verdict.ok) {
        const detail = verdict.detail === undefined ? '' : ` (${verdict.detail.slice(0, 120)})`;
        return fail('verification-failed', `epochs after ${after}: links[${i}] (epoch ${from} -> ${from + 1n}): ${verdict.reason}${detail}`);
      }
    }
    if (target === 'latest' && (raw.length < limit || trust.newestMembership.epoch >= current)) return undefined;
  }
}
