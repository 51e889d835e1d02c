// nodeFetch and nodeTransport against a real local HTTP server: answers as
// fetch gives them, an oversized body refused by the SDK's bounded reader
// without being read to the end, the signal honoured before and after the
// headers; nodeTransport the same without ever loading undici.

import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapped, requestJson } from './http';
import { nodeFetch, nodeTransport } from './node-fetch';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

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

describe('nodeTransport: the same requests, answered without fetch\'s Response', () => {
  it('gives the SDK the same answers as nodeFetch: status, retry-after, body, method and content type sent', async () => {
    const req = { url: `${base}/echo`, method: 'POST' as const, body: '{"x":1}', timeoutMs: 2_000, maxBytes: 1_000 };
    const viaTransport = await requestJson(nodeTransport(), req);
    expect(viaTransport).toEqual({ ok: true, status: 429, retryAfterMs: 2_000, body: { method: 'POST', type: 'application/json', body: '{"x":1}' } });
    expect(viaTransport).toEqual(await requestJson(nodeFetch(), req));
    const res = await nodeTransport()(`${base}/echo`, { headers: { Accept: 'application/json' } });
    expect([res.status, res.headers.get('Content-Type'), res.headers.get('x-none')]).toEqual([429, 'application/json', null]);
  });

  it('refuses an oversized body, a redirect and a slow answer like nodeFetch', async () => {
    const res = await nodeTransport({ bodyBytesMax: 2 * 1024 * 1024 })(`${base}/big`);
    expect(await readCapped(res, 2 * 1024 * 1024)).toBeUndefined();
    const transport = nodeTransport();
    expect(await requestJson(transport, { url: `${base}/redirect`, method: 'POST', body: '{}', timeoutMs: 2_000, maxBytes: 1_000 })).toMatchObject({ ok: false, code: 'redirect' });
    expect(await requestJson(transport, { url: `${base}/slow-body`, timeoutMs: 200, maxBytes: 1_000 })).toMatchObject({ ok: false, code: 'timeout' });
    expect(await requestJson(transport, { url: `${base}/echo`, timeoutMs: 2_000, maxBytes: 10 })).toMatchObject({ ok: false, code: 'too-large' });
  });

  it('never loads undici, Node\'s fetch (its start-up is what a short-lived process saves)', () => {
    // A process of its own: this one (vitest) has long loaded undici.
    const script = [
      "import { createServer } from 'node:http';",
      "import { requestJson } from './packages/client-sdk/src/http.ts';",
      "import { nodeTransport } from './packages/client-sdk/src/node-fetch.ts';",
      "const server = createServer((_, res) => res.end('{\"a\":1}')).listen(0, '127.0.0.1', async () => {",
      "  const answer = await requestJson(nodeTransport(), { url: `http://127.0.0.1:${server.address().port}/`, timeoutMs: 2000, maxBytes: 100 });",
      "  server.close();",
      "  console.log(JSON.stringify({ answer, undici: process.moduleLoadList.some((m) => m.includes('undici')) }));",
      '});',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ answer: { ok: true, status: 200, body: { a: 1 }, retryAfterMs: undefined }, undici: false });
  }, 30_000);
});
