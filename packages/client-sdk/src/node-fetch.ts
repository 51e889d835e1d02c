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

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BufferedAnswer } from './buffered-answer';
import type { FetchLike } from './http';
import { sdkLimits } from './limits';

export interface NodeFetchOptions {
  /** Extra CA certificates (PEM) for https:// replicas, e.g. a private CA; default: the system roots. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Open connections kept per replica (default 64). */
  socketsPerHost?: number;
  /** Bytes of one answer read at most (default: the SDK's responseBytesMax); keep it at least the client's own bound. */
  bodyBytesMax?: number;
}

function headersOf(init: RequestInit | undefined): Record<string, string> {
  const headers = init?.headers;
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  // The SDK's own requests name their headers in a plain object: copied as they are (node:http checks
  // names and values), without building a WHATWG Headers per request.
  if (Object.getPrototypeOf(headers) === Object.prototype) {
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      const lower = name.toLowerCase();
      // Anything unusual (a value that is not a string, one name in two cases) is left to Headers' rules.
      if (typeof value !== 'string' || Object.hasOwn(out, lower)) return headersOf({ headers: new Headers(headers) });
      out[lower] = value;
    }
    return out;
  }
  new Headers(headers).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** A fetch over node:http(s) with keep-alive agents: GET and POST with a string body, the init's signal honoured. */
export function nodeFetch(options: NodeFetchOptions = {}): FetchLike {
  const maxSockets = options.socketsPerHost ?? 64;
  const bodyBytesMax = options.bodyBytesMax ?? sdkLimits.responseBytesMax;
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  const https = new HttpsAgent({ keepAlive: true, maxSockets, ...(options.ca === undefined ? {} : { ca: options.ca }) });
  return (input, init) =>
    new Promise<BufferedAnswer>((resolve, reject) => {
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
        if (init?.redirect === 'error' && status >= 300 && status < 400) {
          res.destroy();
          return reject(new TypeError(`nodeFetch: HTTP ${status} redirect refused (redirect: 'error')`));
        }
        const fail = (error: unknown) => {
          res.destroy();
          reject(error);
        };
        const onBodyAbort = () => fail(signal?.reason);
        signal?.addEventListener('abort', onBodyAbort, { once: true });
        const answer = (body: Buffer, extra: Record<string, string> = {}) => {
          signal?.removeEventListener('abort', onBodyAbort);
          try {
            // The body is in memory already: a BufferedAnswer, not a Response with a stream over it (buffered-answer.ts).
            resolve(new BufferedAnswer(res.statusCode ?? 0, body, [...Object.entries(res.headers), ...Object.entries(extra)]));
          } catch (error) {
            // A status outside 200..599 from a hostile server (as Response refuses it).
            fail(error);
          }
        };
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > bodyBytesMax) {
            // Too large: stop reading; the declared length makes the SDK's reader refuse it.
            res.destroy();
            answer(Buffer.alloc(0), { 'content-length': String(total) });
            return;
          }
          chunks.push(chunk);
        });
        res.once('end', () => answer(Buffer.concat(chunks, total)));
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
