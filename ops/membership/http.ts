// The membership CLI's reads from a replica: bounded JSON answers (the SDK's
// requestJson) and the GET /v1/epochs pages. Answers are untrusted: the caller
// verifies what it uses.

import { type EpochLink, epochsPagePath, limits, parseEpochsPage } from '@vcr/proofs';
import { errorSummary, requestJson } from '@vcr/client-sdk';
import { MembershipCliError, membershipCliLimits } from './common';

/** GET a JSON answer, bounded in size and time (the SDK's requestJson); any failure names the URL. */
export async function getJson(url: string): Promise<unknown> {
  const answer = await requestJson(fetch, { url, timeoutMs: membershipCliLimits.requestTimeoutMs, maxBytes: membershipCliLimits.responseBytesMax });
  if (!answer.ok) throw new MembershipCliError('network', `GET ${url}: ${answer.code}: ${answer.detail}`);
  if (answer.status < 200 || answer.status > 299) throw new MembershipCliError('network', `GET ${url}: ${errorSummary(answer.status, answer.body)}`);
  return answer.body;
}

/** One page of epoch links after `after` (the proofs' parseEpochsPage), with the replica's current epoch; the links are still to be verified. */
export async function getEpochsPage(replica: string, after: bigint, limit: number = limits.epochsPageLinksMax): Promise<{ current: bigint; links: EpochLink[] }> {
  const url = `${replica}${epochsPagePath(after, limit)}`;
  const page = parseEpochsPage(await getJson(url), limit);
  if (!page.ok) throw new MembershipCliError('network', `GET ${url}: not an epochs page (${page.reason}: ${page.detail})`);
  return page;
}
