// Fetching from a replica: JSON only, with a timeout and a size cap, since the
// answer is untrusted. Parsing and verification are verify.ts's job.

const TIMEOUT_MS = 5_000;
const BODY_BYTES_MAX = 8 * 1024 * 1024;

export type Fetched = { ok: true; body: unknown } | { ok: false; reason: string };

export async function getJson(baseUrl: string, path: string): Promise<Fetched> {
  try {
    const res = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(TIMEOUT_MS), cache: 'no-store' });
    const text = await res.text();
    if (text.length > BODY_BYTES_MAX) return { ok: false, reason: 'answer too large' };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, reason: `HTTP ${res.status}, not JSON` };
    }
    if (!res.ok && res.status !== 503) return { ok: false, reason: `HTTP ${res.status}: ${JSON.stringify((body as { error?: unknown }).error ?? body).slice(0, 200)}` };
    return { ok: true, body };
  } catch (error) {
    return { ok: false, reason: `unreachable (${error instanceof Error ? error.message : String(error)})` };
  }
}
