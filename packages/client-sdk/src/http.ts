// The HTTP seam: one request to one replica through the injected fetch, with
// a timeout, a cap on the body size (checked while reading, never after),
// bounds on JSON nesting and elements (checked before parsing) and JSON
// parsing that never throws. Redirects are never followed: a replica that
// answers 3xx has failed, and a signed request is never re-sent elsewhere.
// Everything returned is still untrusted.

import type { AttemptCode } from './errors';
import { type JsonBounds, scanJson } from './json-scan';
import { type AnswerKind, answerBounds, sdkLimits } from './limits';

/**
 * What the SDK reads of an HTTP answer: a WHATWG Response has all of it. A
 * transport that already holds the whole body (nodeFetch, an in-memory one:
 * BufferedAnswer) gives it as `bodyBytes`, and the SDK reads it without a
 * stream, under the same byte bound.
 */
export interface FetchAnswer {
  readonly status: number;
  readonly ok: boolean;
  /** 'opaqueredirect' for a redirect a browser hides (redirect: 'manual'). */
  readonly type?: string;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  readonly bodyBytes?: Uint8Array;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<FetchAnswer>;

export type HttpAnswer =
  | { ok: true; status: number; body: unknown; retryAfterMs: number | undefined }
  | { ok: false; code: Extract<AttemptCode, 'timeout' | 'transport' | 'too-large' | 'malformed' | 'redirect'>; detail: string };

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  /** JSON bounds checked before parsing (default: sdkLimits.jsonDepthMax, no element bound). */
  json?: Partial<JsonBounds>;
  /** Aborts the request (e.g. a watch that was closed). */
  signal?: AbortSignal;
}

/**
 * The request's signal: aborted with a TimeoutError after `timeoutMs`, or
 * when the caller's signal aborts. A timer the caller clears when the answer
 * is in (AbortSignal.timeout cost about 12 us per read, a tenth of the
 * SDK's whole read, and keeps its timer until it fires).
 */
function deadline(timeoutMs: number, signal: AbortSignal | undefined): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  if (signal === undefined) return { signal: controller.signal, clear: () => clearTimeout(timer) };
  const follow = () => controller.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', follow);
    },
  };
}

/** Reads at most `maxBytes` of the body; undefined when it is larger (also for tools that fetch from replicas without the client). */
export async function readCapped(res: FetchAnswer, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    if (res.bodyBytes === undefined) await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (res.bodyBytes !== undefined) return res.bodyBytes.length > maxBytes ? undefined : res.bodyBytes;
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

function retryAfterMs(res: FetchAnswer): number | undefined {
  const header = res.headers.get('retry-after');
  if (header === null || !/^[0-9]{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export async function requestJson(fetchFn: FetchLike, req: HttpRequest): Promise<HttpAnswer> {
  const { signal, clear } = deadline(req.timeoutMs, req.signal);
  try {
    // 'manual': the 3xx answer itself comes back (an opaque one in browsers) and is refused below.
    const init: RequestInit = { method: req.method ?? 'GET', signal, redirect: 'manual', headers: { accept: 'application/json' } };
    if (req.body !== undefined) init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    if (req.body !== undefined) init.body = req.body;
    const res = await fetchFn(req.url, init);
    if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
      await res.body?.cancel().catch(() => undefined);
      const location = (res.headers.get('location') ?? '(hidden)').slice(0, 200);
      return { ok: false, code: 'redirect', detail: `HTTP ${res.status} redirect to ${location}: redirects are never followed` };
    }
    const bytes = await readCapped(res, req.maxBytes);
    if (bytes === undefined) return { ok: false, code: 'too-large', detail: `answer over ${req.maxBytes} bytes` };
    const scan = scanJson(bytes, { depthMax: req.json?.depthMax ?? sdkLimits.jsonDepthMax, elementsMax: req.json?.elementsMax ?? Number.POSITIVE_INFINITY });
    if (!scan.ok) return { ok: false, code: 'malformed', detail: `HTTP ${res.status}: ${scan.detail}` };
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
  } finally {
    clear();
  }
}

/** The byte and JSON bounds of one kind of answer, within the client's own byte bound. */
export function boundsOf(kind: AnswerKind, responseBytesMax: number): { maxBytes: number; json: JsonBounds } {
  const b = answerBounds[kind];
  return { maxBytes: Math.min(b.bytesMax, responseBytesMax), json: { depthMax: sdkLimits.jsonDepthMax, elementsMax: b.elementsMax } };
}

/** Which kind of answer a replica path gives (docs/replica.md section 1); undefined for a path the SDK never asks. */
export function answerKindOf(path: string): AnswerKind | undefined {
  const q = path.indexOf('?');
  const route = q < 0 ? path : path.slice(0, q);
  if (route === '/v1/keys') return 'list';
  if (route.startsWith('/v1/keys/')) return route.endsWith('/history') ? 'history' : 'read';
  switch (route) {
    case '/v1/changes':
      return 'changes';
    case '/v1/views/keys':
      return 'view-keys';
    case '/v1/views/changes':
      return 'view-changes';
    case '/v1/requests':
      return 'receipt';
    case '/v1/headers/latest':
      return 'header';
    case '/v1/log/consistency':
      return 'consistency';
    case '/v1/epochs':
      return 'epochs';
    case '/v1/orgs':
      return 'orgs';
    case '/v1/pending':
      return 'pending';
    default:
      return undefined;
  }
}

/** A replica's machine-readable error body, for messages; untrusted text, shortened. */
export function errorSummary(status: number, body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code.slice(0, 40) : 'unknown';
  const message = typeof error?.message === 'string' ? error.message.slice(0, 200) : '';
  return `HTTP ${status} ${code}${message ? `: ${message}` : ''}`;
}
