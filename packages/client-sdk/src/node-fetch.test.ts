// nodeFetch against a real local HTTP server: answers as fetch gives them,
// an oversized body refused by the SDK's bounded reader without being read
// to the end, the signal honoured before and after the headers.

import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapped, requestJson } from './http';
import { BufferedAnswer } from './buffered-answer';
import { nodeFetch } from './node-fetch';

let server: Server;
let base = '';
let bytesSentBig = 0;
let redirectsServed = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/echo') {
        res.setHeader('content-type', 'application/json');
        res.setHeader('retry-after', '2');
        res.statusCode = 429;
        res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'] ?? null, body: Buffer.concat(chunks).toString() }));
      } else if (url.pathname === '/big') {
        // Chunked, no content-length: 1 MiB at a time until the client goes away.
        const chunk = Buffer.alloc(1024 * 1024, 0x61);
        const pump = () => {
          while (!res.destroyed && bytesSentBig < 64 * chunk.length) {
            bytesSentBig += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (url.pathname === '/redirect') {
        redirectsServed++;
        res.writeHead(307, { location: '/echo' });
        res.end();
      } else if (url.pathname === '/slow-body') {
        res.write('{"a":');
        setTimeout(() => res.end('1}'), 2_000);
      } else {
        setTimeout(() => res.end('{}'), 2_000);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('nodeFetch', () => {
  it('answers like fetch: status, headers and body, with the method, content type and body sent', async () => {
    const answer = await requestJson(nodeFetch(), { url: `${base}/echo`, method: 'POST', body: '{"x":1}', timeoutMs: 2_000, maxBytes: 1_000 });
    expect(answer).toEqual({ ok: true, status: 429, retryAfterMs: 2_000, body: { method: 'POST', type: 'application/json', body: '{"x":1}' } });
  });

  it('stops reading an oversized body: the bounded reader refuses it and the server sees the connection go', async () => {
    const res = await nodeFetch({ bodyBytesMax: 2 * 1024 * 1024 })(`${base}/big`);
    expect(await readCapped(res, 2 * 1024 * 1024)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    expect(bytesSentBig).toBeLessThan(64 * 1024 * 1024);
  });

  it('honours the signal before the headers and while the body is read', async () => {
    const fetchFn = nodeFetch();
    const early = await requestJson(fetchFn, { url: `${base}/slow-headers`, timeoutMs: 200, maxBytes: 1_000 });
    expect(early).toMatchObject({ ok: false, code: 'timeout' });
    const late = await requestJson(fetchFn, { url: `${base}/slow-body`, timeoutMs: 200, maxBytes: 1_000 });
    expect(late).toMatchObject({ ok: false, code: 'timeout' });
  });

  it('never follows a redirect: the 3xx comes back as it is, or is an error with redirect: error', async () => {
    const fetchFn = nodeFetch();
    const manual = await fetchFn(`${base}/redirect`, { method: 'POST', body: '{"signed":true}', redirect: 'manual' });
    expect([manual.status, manual.headers.get('location')]).toEqual([307, '/echo']);
    await expect(fetchFn(`${base}/redirect`, { method: 'POST', body: '{}', redirect: 'error' })).rejects.toThrow(/HTTP 307 redirect refused/);
    expect(await requestJson(fetchFn, { url: `${base}/redirect`, method: 'POST', body: '{}', timeoutMs: 2_000, maxBytes: 1_000 })).toMatchObject({ ok: false, code: 'redirect' });
    expect(redirectsServed).toBe(3);
  });

  it('refuses other protocols', async () => {
    await expect(nodeFetch()('file:///etc/passwd')).rejects.toThrow(/unsupported protocol/);
  });
});

describe('BufferedAnswer (what nodeFetch gives)', () => {
  it('is read by the SDK without a stream, under the same byte bound', async () => {
    const body = new TextEncoder().encode('{"a":[1,2]}');
    const answer = new BufferedAnswer(200, body, [['Content-Type', 'application/json'], ['Retry-After', '3']]);
    expect(await readCapped(answer, 1_000)).toBe(body);
    expect(await readCapped(answer, body.length - 1)).toBeUndefined();
    expect([answer.headers.get('content-type'), answer.headers.get('RETRY-AFTER'), answer.headers.get('x'), answer.ok, answer.type]).toEqual(['application/json', '3', null, true, 'basic']);
    const viaSdk = await requestJson(async () => answer, { url: 'http://in-memory/x', timeoutMs: 1_000, maxBytes: 1_000 });
    expect(viaSdk).toEqual({ ok: true, status: 200, body: { a: [1, 2] }, retryAfterMs: 3_000 });
  });

  it('answers like a Response for other readers: text, json, arrayBuffer (a copy of its own) and a body stream', async () => {
    const pooled = Buffer.concat([Buffer.from('{"b":'), Buffer.from('true}')]);
    const answer = new BufferedAnswer(404, pooled, [['set-cookie', ['a=1', 'b=2']]]);
    expect([answer.ok, answer.headers.get('set-cookie'), await answer.text(), await answer.json()]).toEqual([false, 'a=1, b=2', '{"b":true}', { b: true }]);
    expect((await answer.arrayBuffer()).byteLength).toBe(pooled.length);
    expect(new TextDecoder().decode(await new Response(answer.body).arrayBuffer())).toBe('{"b":true}');
    expect(() => new BufferedAnswer(99, pooled)).toThrow(RangeError);
  });

  it('a request that answers in time leaves no timer behind, and one that does not is a timeout', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const answer = await requestJson(async () => new BufferedAnswer(200, new TextEncoder().encode('{}')), { url: 'http://in-memory/x', timeoutMs: 60_000, maxBytes: 100 });
    expect(answer.ok).toBe(true);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
    const never = (_input: string, init?: RequestInit) => new Promise<never>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    expect(await requestJson(never, { url: 'http://in-memory/x', timeoutMs: 30, maxBytes: 100 })).toMatchObject({ ok: false, code: 'timeout' });
    const caller = new AbortController();
    const cancelled = requestJson(never, { url: 'http://in-memory/x', timeoutMs: 60_000, maxBytes: 100, signal: caller.signal });
    caller.abort(new Error('closed'));
    expect(await cancelled).toMatchObject({ ok: false, code: 'transport', detail: 'closed' });
  });
});

describe('nodeFetch request headers', () => {
  it('sends a plain object\'s headers as Headers would: names in any case, one name in two cases joined', async () => {
    const fetchFn = nodeFetch();
    const plain = await requestJson(fetchFn, { url: `${base}/echo`, method: 'POST', body: '{}', timeoutMs: 2_000, maxBytes: 1_000 });
    expect(plain).toMatchObject({ ok: true, body: { type: 'application/json' } });
    const mixed = await fetchFn(`${base}/echo`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain', 'content-type': 'application/json' } });
    expect(((await mixed.json()) as { type: string }).type).toBe('text/plain, application/json');
  });
});
