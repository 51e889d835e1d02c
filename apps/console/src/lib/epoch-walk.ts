// Walking the epoch chain in the browser, as the SDK does for a client
// (packages/client-sdk/src/epochs.ts; docs/client-sdk.md, "Epochs"): from the
// newest trusted epoch, `GET /v1/epochs?after=<epoch>&limit=<n>` of every
// configured replica (the inspected one first), each page counted and parsed
// with the proofs' schema before any signature work, each link verified from
// the membership before it. A replica may hide links, never forge them: what
// one replica fails to prove another may prove, and every replica's answer is
// reported so the Membership page can show who served what.

import { equalBytes, type EpochLink, headerHash, membershipHash, nobleBackend, parseEpochLinkJson } from '@vcr/proofs';
import { type EpochChain, extendChain, linkInto, newestMembership } from './epoch-chain';
import { consoleLimits } from './limits';
import type { GetJson } from './replica-api';

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

type Page = { ok: true; current: bigint; links: EpochLink[] } | { ok: false; reason: string };

const EPOCH_TEXT = /^(0|[1-9][0-9]{0,18})$/;

/** One page of links after `after`, counted and parsed (no signature checked yet). */
export async function fetchEpochPage(get: GetJson, replica: string, after: bigint, limit: number): Promise<Page> {
  const answer = await get(replica, `/v1/epochs?after=${after}&limit=${limit}`);
  if (!answer.ok) return { ok: false, reason: `epochs after ${after}: ${answer.reason}` };
  const body = answer.body as { current?: unknown; links?: unknown } | null;
  if (typeof body !== 'object' || body === null || typeof body.current !== 'string' || !EPOCH_TEXT.test(body.current) || !Array.isArray(body.links)) {
    return { ok: false, reason: `epochs after ${after}: malformed answer (want { current, links })` };
  }
  const current = BigInt(body.current);
  if (current >= 1n << 63n) return { ok: false, reason: `epochs after ${after}: current epoch out of range` };
  if (body.links.length > limit) return { ok: false, reason: `epochs after ${after}: too-many-links: ${body.links.length} links where at most ${limit} were asked` };
  const links: EpochLink[] = [];
  for (const [i, item] of body.links.entries()) {
    const parsed = parseEpochLinkJson(item);
    if (!parsed.ok) return { ok: false, reason: `epochs after ${after}: links[${i}] malformed: ${parsed.issues.slice(0, 3).join('; ')}` };
    links.push(parsed.value);
  }
  return { ok: true, current, links };
}

function sameLink(a: EpochLink, b: EpochLink): boolean {
  return equalBytes(headerHash(nobleBackend, a.lastHeader), headerHash(nobleBackend, b.lastHeader)) && equalBytes(membershipHash(nobleBackend, a.nextMembership), membershipHash(nobleBackend, b.nextMembership));
}

/**
 * Applies a page that starts at the link into `after + 1`. Links into epochs
 * already trusted must be the trusted ones: a different one that verifies
 * from the same membership is a fork of the chain, reported as such.
 */
function applyPage(chain: EpochChain, report: WalkReport, after: bigint, links: EpochLink[]): EpochChain {
  let trusted = chain;
  for (const [i, link] of links.entries()) {
    const into = after + 1n + BigInt(i);
    const known = linkInto(trusted, into);
    if (known !== undefined) {
      if (sameLink(known.link, link)) continue;
      const before = { ...trusted, links: trusted.links.slice(0, Number(into - trusted.pinned.epoch - 1n)), memberships: trusted.memberships.slice(0, Number(into - trusted.pinned.epoch)) };
      const verdict = extendChain(before, link, report.replica);
      report.failure = verdict.ok
        ? `FORK: a second link into epoch ${into}, verified from epoch ${into - 1n}'s membership, with a different last block or membership than the trusted one`
        : `link into epoch ${into} differs from the trusted one and does not verify: ${verdict.reason}`;
      return trusted;
    }
    const verdict = extendChain(trusted, link, report.replica);
    if (!verdict.ok) {
      report.failure = `link into epoch ${into}: ${verdict.reason}`;
      return trusted;
    }
    trusted = verdict.chain;
    report.added++;
  }
  return trusted;
}

/**
 * Walks from the newest trusted epoch with every replica in turn. Answers to
 * the first page are fetched in parallel (one slow replica does not hold up
 * the others); further pages only from a replica that says it has more.
 */
export async function walkEpochs(start: EpochChain, replicas: readonly string[], get: GetJson): Promise<WalkResult> {
  const after = newestMembership(start).epoch;
  const firstLimit = Math.min(consoleLimits.epochPageLinks, Math.max(1, consoleLimits.epochLinksMax - start.links.length));
  const firstPages = await Promise.all(replicas.map((url) => fetchEpochPage(get, url, after, firstLimit)));
  let chain = start;
  const reports: WalkReport[] = [];
  for (const [i, replica] of replicas.entries()) {
    const page = firstPages[i] as Page;
    const report: WalkReport = { replica, current: page.ok ? page.current : undefined, added: 0, failure: page.ok ? undefined : page.reason };
    reports.push(report);
    if (page.ok) chain = applyPage(chain, report, after, page.links);
  }
  // Further pages, sequentially, from replicas that claim more than is trusted and have not failed.
  for (const report of reports) {
    while (report.failure === undefined && report.current !== undefined && report.current > newestMembership(chain).epoch) {
      const left = consoleLimits.epochLinksMax - chain.links.length;
      if (left <= 0) {
        report.failure = `too-many-links: the console verifies at most ${consoleLimits.epochLinksMax} links from the pinned genesis`;
        break;
      }
      const from = newestMembership(chain).epoch;
      const page = await fetchEpochPage(get, report.replica, from, Math.min(consoleLimits.epochPageLinks, left));
      if (!page.ok) {
        report.failure = page.reason;
        break;
      }
      report.current = page.current;
      const added = report.added;
      chain = applyPage(chain, report, from, page.links);
      // A page that adds nothing ends this replica's walk (it may still be collecting the next link's accepts).
      if (report.added === added) break;
    }
  }
  return { chain, reports };
}

/** Why the chain stops where it does, in one line (for the banner on every page). */
export function describeWalk(result: WalkResult): string {
  const newest = newestMembership(result.chain).epoch;
  const claimed = result.reports.reduce<bigint | undefined>((max, r) => (r.current !== undefined && (max === undefined || r.current > max) ? r.current : max), undefined);
  const failures = result.reports.filter((r) => r.failure !== undefined).length;
  const behind = claimed !== undefined && claimed > newest ? `; a replica claims epoch ${claimed}, no verified link into epoch ${newest + 1n} yet` : '';
  return `epoch chain verified from the pinned epoch ${result.chain.pinned.epoch} to epoch ${newest}${behind}${failures > 0 ? `; ${failures} replica answer(s) refused (see Membership)` : ''}`;
}
