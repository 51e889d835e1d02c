// The membership CLI's reads from a replica: bounded JSON answers (the SDK's
// requestJson) and the GET /v1/epochs pages. Answers are untrusted: the caller
// verifies what it uses.

import * as z from 'zod';
import { u63String } from '@vcr/proofs';
import { errorSummary, requestJson } from '@vcr/client-sdk';
import { MembershipCliError, membershipCliLimits } from './common';

/** GET a JSON answer, bounded in size and time (the SDK's requestJson); any failure names the URL. */
export async function getJson(url: string): Promise<unknown> {
  const answer = await requestJson(fetch, { url, timeoutMs: membershipCliLimits.requestTimeoutMs, maxBytes: membershipCliLimits.responseBytesMax });
  if (!answer.ok) throw new MembershipCliError('network', `GET ${url}: ${answer.code}: ${answer.detail}`);
  if (answer.status < 200 || answer.status > 299) throw new MembershipCliError('network', `GET ${url}: ${errorSummary(answer.status, answer.body)}`);
  return answer.body;
}

const epochsPageSchema = z.strictObject({ current: u63String, links: z.array(z.unknown()).max(membershipCliLimits.linksPerPage) });

/** One page of epoch links after `after`, with the replica's current epoch; the links are still to be verified. */
export async function getEpochsPage(replica: string, after: bigint, limit: number = membershipCliLimits.linksPerPage): Promise<{ current: bigint; links: unknown[] }> {
  const url = `${replica}/v1/epochs?after=${after}&limit=${limit}`;
  const parsed = epochsPageSchema.safeParse(await getJson(url));
  if (!parsed.success) throw new MembershipCliError('network', `GET ${url}: not an epochs page (${parsed.error.issues[0]?.message ?? 'malformed'})`);
  return parsed.data;
}
