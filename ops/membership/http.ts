// The membership CLI's reads from a replica: bounded JSON answers (the SDK's
// readCapped) and the GET /v1/epochs pages. Answers are untrusted: the caller
// verifies what it uses.

import { z } from 'zod';
import { u63String } from '@vcr/proofs';
import { readCapped } from '@vcr/client-sdk';
import { MembershipCliError, membershipCliLimits, messageOf } from './common';

/** GET a JSON answer, bounded in size and time; any failure names the URL. */
export async function getJson(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(membershipCliLimits.requestTimeoutMs) });
  } catch (cause) {
    throw new MembershipCliError('network', `GET ${url}: ${messageOf(cause)}`, { cause });
  }
  const body = await readBounded(res, url);
  if (!res.ok) throw new MembershipCliError('network', `GET ${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new MembershipCliError('network', `GET ${url}: the answer is not JSON`, { cause });
  }
}

/** The body as text, refusing (before reading it all) an answer larger than responseBytesMax. */
async function readBounded(res: Response, url: string): Promise<string> {
  const bytes = await readCapped(res, membershipCliLimits.responseBytesMax);
  if (bytes === undefined) throw new MembershipCliError('network', `GET ${url}: the answer is larger than ${membershipCliLimits.responseBytesMax} bytes`);
  return new TextDecoder().decode(bytes);
}

const epochsPageSchema = z.strictObject({ current: u63String, links: z.array(z.unknown()).max(membershipCliLimits.linksPerPage) });

/** One page of epoch links after `after`, with the replica's current epoch; the links are still to be verified. */
export async function getEpochsPage(replica: string, after: bigint, limit: number = membershipCliLimits.linksPerPage): Promise<{ current: bigint; links: unknown[] }> {
  const url = `${replica}/v1/epochs?after=${after}&limit=${limit}`;
  const parsed = epochsPageSchema.safeParse(await getJson(url));
  if (!parsed.success) throw new MembershipCliError('network', `GET ${url}: not an epochs page (${parsed.error.issues[0]?.message ?? 'malformed'})`);
  return parsed.data;
}
