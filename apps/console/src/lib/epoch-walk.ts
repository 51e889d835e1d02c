// Walking the epoch chain in the browser with the walk the SDK uses (the
// proofs' EpochWalk; docs/client-sdk.md, "Epochs"): from the newest trusted
// epoch, `GET /v1/epochs?after=<epoch>&limit=<n>` of every configured replica
// (the inspected one first), each page counted and parsed before any
// signature work, each link verified from the membership before it. A replica may hide links, never forge them: what
// one replica fails to prove another may prove, and every replica's answer is
// reported so the Membership page can show who served what.

import { EpochWalk, type EpochWalkOutcome, type EpochWalkStep, epochsPagePath, nobleBackend, runEpochWalk } from '@vcr/proofs';
import { chainOf, type EpochChain, newestMembership } from './epoch-chain';
import { consoleLimits } from './limits';
import type { Fetched, GetJson } from './replica-api';

export interface WalkReport {
  replica: string;
  /** The current epoch the replica claims (unverified), if it answered. */
  current: bigint | undefined;
  /** Links this replica's answers added to the chain. */
  added: number;
  /** Why its answer stopped being used, if it did. */
  failure: string | undefined;
}

export interface WalkResult {
  chain: EpochChain;
  reports: WalkReport[];
}

/** A walk's failure in the words the Membership page shows. */
function failureText(outcome: EpochWalkOutcome): string | undefined {
  if (outcome.ok) return outcome.capped ? `too-many-links: the console verifies at most ${consoleLimits.epochLinksMax} links from the pinned genesis` : undefined;
  switch (outcome.reason) {
    case 'fetch-failed':
    case 'too-many-links':
    case 'no-link':
      return `epochs after ${outcome.after}: ${outcome.detail}`;
    case 'malformed-link':
      return `epochs after ${outcome.after}: links[${outcome.index ?? 0}] malformed: ${outcome.detail}`;
    case 'malformed-page':
      return `epochs after ${outcome.after}: malformed answer (want { current, links })`;
    case 'link-refused':
      return `link into epoch ${outcome.into}: ${outcome.detail}`;
    case 'conflicting-link':
      return outcome.verifies ? `FORK: ${outcome.detail}` : outcome.detail;
  }
}

const fetchPage = (get: GetJson, replica: string) => async (after: bigint, limit: number) => toPage(await get(replica, epochsPagePath(after, limit)));
const toPage = (answer: Fetched) => (answer.ok ? answer : { ok: false as const, detail: answer.reason });

/**
 * Walks from the newest trusted epoch with every replica in turn, each with
 * the proofs' EpochWalk over the chain the replica before left. The first
 * pages are fetched in parallel (one slow replica does not hold up the
 * others); further pages only from a replica that says it has more.
 */
export async function walkEpochs(start: EpochChain, replicas: readonly string[], get: GetJson): Promise<WalkResult> {
  const options = { target: 'latest' as const, linksMax: Math.max(0, consoleLimits.epochLinksMax - start.links.length), pageLinks: consoleLimits.epochPageLinks };
  const first: EpochWalkStep = new EpochWalk(nobleBackend, start.trusted, options).next();
  const firstPages = await Promise.all(replicas.map((url) => (first.type === 'done' ? undefined : get(url, epochsPagePath(first.after, first.limit)))));
  let trusted = start.trusted;
  const servedBy = start.links.map((l) => l.servedBy);
  const reports: WalkReport[] = [];
  for (const [i, replica] of replicas.entries()) {
    const walk = new EpochWalk(nobleBackend, trusted, { ...options, linksMax: Math.max(0, consoleLimits.epochLinksMax - trusted.links.length) });
    const page = firstPages[i];
    if (first.type !== 'done' && page !== undefined) {
      if (page.ok) walk.onPage(first, page.body);
      else walk.onFetchFailed(first.after, page.reason);
    }
    const outcome = await runEpochWalk(walk, fetchPage(get, replica));
    for (let n = 0; n < walk.added; n++) servedBy.push(replica);
    trusted = walk.chain;
    reports.push({ replica, current: walk.current, added: walk.added, failure: failureText(outcome) });
  }
  return { chain: trusted === start.trusted ? start : chainOf(trusted, servedBy), reports };
}

/** Why the chain stops where it does, in one line (for the banner on every page). */
export function describeWalk(result: WalkResult): string {
  const newest = newestMembership(result.chain).epoch;
  const claimed = result.reports.reduce<bigint | undefined>((max, r) => (r.current !== undefined && (max === undefined || r.current > max) ? r.current : max), undefined);
  const failures = result.reports.filter((r) => r.failure !== undefined).length;
  const behind = claimed !== undefined && claimed > newest ? `; a replica claims epoch ${claimed}, no verified link into epoch ${newest + 1n} yet` : '';
  return `epoch chain verified from the pinned epoch ${result.chain.pinned.epoch} to epoch ${newest}${behind}${failures > 0 ? `; ${failures} replica answer(s) refused (see Membership)` : ''}`;
}
