// Fetching from a replica: JSON only, with a timeout and a size cap checked
// while reading (the SDK's readCapped), since the answer is untrusted.
// Parsing and verification are verify.ts's job.

import { readCapped } from '@vcr/client-sdk';
import { consoleLimits } from './limits';

const TIMEOUT_MS = 5_000;

/** `status`: the HTTP status of a refusal, so a page can tell "not found" (404) from a failed rule. */
export type Fetched = { ok: true; body: unknown } | { ok: false; reason: string; status?: number };

/** The shape of getJson, so the epoch walk can be driven by a fake replica in unit tests. */
export type GetJson = (baseUrl: string, path: string) => Promise<Fetched>;

export async function getJson(baseUrl: string, path: string): Promise<Fetched> {
  try {
    const res = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(TIMEOUT_MS), cache: 'no-store' });
    const bytes = await readCapped(res, consoleLimits.answerBytesMax);
    if (bytes === undefined) return { ok: false, reason: `answer larger than ${consoleLimits.answerBytesMax} bytes` };
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return { ok: false, reason: `HTTP ${res.status}, not JSON` };
    }
    if (!res.ok && res.status !== 503) return { ok: false, status: res.status, reason: `HTTP ${res.status}: ${JSON.stringify((body as { error?: unknown } | null)?.error ?? body).slice(0, 200)}` };
    return { ok: true, body };
  } catch (error) {
    return { ok: false, reason: `unreachable (${error instanceof Error ? error.message : String(error)})` };
  }
}
