// A FetchLike for Node services (entry "@vcr/client-sdk/node"): node:http(s)
// with keep-alive connections. Node's global fetch (undici) costs about 1 ms
// of CPU per request on the 2-core benchmark machine, about twice to five
// times what this does (docs/client-sdk.md, "Node transport"); a service
// making many small verified reads pays that on every one. The body is read
// into memory up to `bodyBytesMax` (default: the SDK's answer bound) and no
// further: a hostile replica's oversized body closes the socket and comes
// back as an answer whose content-length says it is too large, which the
// SDK's bounded reader (readCapped) refuses like any other. Redirects are
// never followed (node:http has no such thing): a 3xx comes back as it is,
// as fetch gives it with `redirect: 'manual'`, and with `redirect: 'error'`
// it is an error, so a signed request is never re-sent elsewhere.

import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FetchAnswer, FetchLike } from './http';
import { sdkLimits } from './limits';

export interface NodeFetchOptions {
  /** Extra CA certificates (PEM) for https:// replicas, e.g. a private CA; default: the system roots. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Open connections kept per replica (default 64). */
  socketsPerHost?: number;
  /** Bytes of one answer read at most (default: the SDK's responseBytesMax); keep it at least the client's own bound. */
  bodyBytesMax?: number;
}

/** The request's headers, names lower-case. A plain object (what the SDK passes) is copied as it is, so a request needs no undici. */
function headersOf(init: RequestInit | undefined): Record<string, string> {
  const given = init?.headers;
  const out: Record<string, string> = {};
  if (given === undefined) return out;
  const proto: unknown = Object.getPrototypeOf(given);
  if (!Array.isArray(given) && (proto === Object.prototype || proto === null)) {
    for (const [name, value] of Object.entries(given as Record<string, string>)) out[name.toLowerCase()] = String(value);
    return out;
  }
  new Headers(given).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** One answer as node:http gave it: its status, its headers (names lower-case) and its body, null when it was over the bound (the declared length then says so). */
interface NodeAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer | null;
}

type Send = (input: string, init: RequestInit | undefined) => Promise<NodeAnswer>;

function sender(options: NodeFetchOptions): Send {
  const maxSockets = options.socketsPerHost ?? 64;
  const bodyBytesMax = options.bodyBytesMax ?? sdkLimits.responseBytesMax;
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  const https = new HttpsAgent({ keepAlive: true, maxSockets, ...(options.ca === undefined ? {} : { ca: options.ca }) });
  return (input, init) =>
    new Promise<NodeAnswer>((resolve, reject) => {
      const url = new URL(input);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject(new TypeError(`nodeFetch: unsupported protocol ${url.protocol}`));
      const signal = init?.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const body = init?.body;
      if (body !== undefined && body !== null && typeof body !== 'string') return reject(new TypeError('nodeFetch: only string bodies'));
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: init?.method ?? 'GET', headers: headersOf(init), agent: url.protocol === 'https:' ? https : http }, (res) => {
        signal?.removeEventListener('abort', onAbort);
        const status = res.statusCode ?? 0;
        const fail = (error: unknown) => {
          res.destroy();
          reject(error);
        };
        if (init?.redirect === 'error' && status >= 300 && status < 400) return fail(new TypeError(`nodeFetch: HTTP ${status} redirect refused (redirect: 'error')`));
        // fetch's Response refuses a status outside 200..599 (a hostile server's); so does every answer here.
        if (status < 200 || status > 599) return fail(new RangeError(`nodeFetch: HTTP status ${status} is outside 200..599`));
        const onBodyAbort = () => fail(signal?.reason);
        signal?.addEventListener('abort', onBodyAbort, { once: true });
        const answer = (bytes: Buffer | null, headers: IncomingHttpHeaders) => {
          signal?.removeEventListener('abort', onBodyAbort);
          resolve({ status, headers, body: bytes });
        };
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > bodyBytesMax) {
            // Too large: stop reading; the declared length makes the SDK's reader refuse it.
            res.destroy();
            answer(null, { ...res.headers, 'content-length': String(total) });
            return;
          }
          chunks.push(chunk);
        });
        res.once('end', () => answer(Buffer.concat(chunks, total), res.headers));
        res.once('error', fail);
      });
      const onAbort = () => {
        req.destroy();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      });
      req.end(body ?? undefined);
    });
}

/** A fetch over node:http(s) with keep-alive agents: GET and POST with a string body, the init's signal honoured; answers are fetch Responses. */
export function nodeFetch(options: NodeFetchOptions = {}): (input: string, init?: RequestInit) => Promise<Response> {
  const send = sender(options);
  return async (input, init) => {
    const { status, headers: raw, body } = await send(input, init);
    const headers = new Headers();
    for (const [name, value] of Object.entries(raw)) {
      if (typeof value === 'string') headers.set(name, value);
      else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    }
    // Buffer.concat allocates a plain ArrayBuffer (never a SharedArrayBuffer), which Response takes.
    return new Response(body as Uint8Array<ArrayBuffer> | null, { status, headers });
  };
}

/** The body as a stream that gives it in one piece: what the SDK's bounded reader reads. */
function bodyOf(bytes: Buffer | null): FetchAnswer['body'] {
  if (bytes === null) return null;
  let left: Uint8Array | undefined = bytes;
  const cancel = () => {
    left = undefined;
    return Promise.resolve();
  };
  const reader = {
    read: (): Promise<ReadableStreamReadResult<Uint8Array>> => {
      const value = left;
      left = undefined;
      return Promise.resolve(value === undefined ? { done: true, value: undefined } : { done: false, value });
    },
    cancel,
  };
  return { getReader: () => reader, cancel };
}

/**
 * The same requests as nodeFetch, answered as the SDK reads them (status,
 * headers, body: FetchAnswer) instead of as fetch Responses. It never loads
 * undici, Node's fetch, whose start-up is a noticeable part of a short-lived
 * process's time (the vcr CLI, docs/cli.md); for a long-lived service the two
 * cost the same per request.
 */
export function nodeTransport(options: NodeFetchOptions = {}): FetchLike {
  const send = sender(options);
  return async (input, init) => {
    const { status, headers, body } = await send(input, init);
    return {
      status,
      headers: {
        get: (name: string) => {
          const value = headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
      },
      body: bodyOf(body),
    };
  };
}
