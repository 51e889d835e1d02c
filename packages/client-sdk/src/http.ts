// The HTTP seam: one request to one replica through the injected fetch, with
// a timeout, a cap on the body size (checked while reading, never after) and
// JSON parsing that never throws. Everything returned is still untrusted.

import type { AttemptCode } from './errors';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export type HttpAnswer =
  | { ok: true; status: number; body: unknown; retryAfterMs: number | undefined }
  | { ok: false; code: Extract<AttemptCode, 'timeout' | 'transport' | 'too-large' | 'malformed'>; detail: string };

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  /** Aborts the request (e.g. a watch that was closed). */
  signal?: AbortSignal;
}

function combine(timeoutMs: number, signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
}

/** Reads at most `maxBytes` of the body; undefined when it is larger (also for tools that fetch from replicas without the client). */
export async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (res.body === null) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function retryAfterMs(res: Response): number | undefined {
  const header = res.headers.get('retry-after');
  if (header === null || !/^[0-9]{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export async function requestJson(fetchFn: FetchLike, req: HttpRequest): Promise<HttpAnswer> {
  const signal = combine(req.timeoutMs, req.signal);
  try {
    const init: RequestInit = { method: req.method ?? 'GET', signal, headers: { accept: 'application/json' } };
    if (req.body !== undefined) init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    if (req.body !== undefined) init.body = req.body;
    const res = await fetchFn(req.url, init);
    const bytes = await readCapped(res, req.maxBytes);
    if (bytes === undefined) return { ok: false, code: 'too-large', detail: `answer over ${req.maxBytes} bytes` };
    let body: unknown;
    try {
      body = JSON.parse(decoder.decode(bytes));
    } catch {
      return { ok: false, code: 'malformed', detail: `HTTP ${res.status}: body is not JSON` };
    }
    return { ok: true, status: res.status, body, retryAfterMs: retryAfterMs(res) };
  } catch (error) {
    if (signal.aborted && (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError') {
      return { ok: false, code: 'timeout', detail: `no answer within ${req.timeoutMs} ms` };
    }
    return { ok: false, code: 'transport', detail: error instanceof Error ? error.message : String(error) };
  }
}

/** A replica's machine-readable error body, for messages; untrusted text, shortened. */
export function errorSummary(status: number, body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code.slice(0, 40) : 'unknown';
  const message = typeof error?.message === 'string' ? error.message.slice(0, 200) : '';
  return `HTTP ${status} ${code}${message ? `: ${message}` : ''}`;
}
