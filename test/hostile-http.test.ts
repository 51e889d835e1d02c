// Answers that attack the client's memory and its requests rather than the
// proofs (issue 18, item 5), from real node:http servers on real sockets:
// deeply nested JSON and floods of tiny elements are refused before JSON.parse
// builds them, each kind of answer has its own byte bound far below the global
// 8 MiB where it can, and redirects are never followed, by the global fetch
// or by the SDK's nodeFetch: the redirect target receives nothing, not even
// the signed body of a write.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster, testSigner } from '@vcr/proofs/testing';
import { type FetchLike, RegistryClient, RegistryError } from '@vcr/client-sdk';
import { nodeFetch } from '@vcr/client-sdk/node';

const cluster = testCluster();
const servers: Server[] = [];

async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const client = (url: string, fetch?: FetchLike) =>
  RegistryClient.create({ membership: cluster.membership, replicas: [url], signer: testSigner('client'), readTimeoutMs: 5_000, writeTimeoutMs: 5_000, writeDeadlineMs: 5_000, ...(fetch ? { fetch } : {}) });

async function refusal(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RegistryError);
  return error as RegistryError;
}

/** Serves `body` as JSON for every request, counting them. */
function constant(body: Buffer): { requests: () => number; handle: (req: IncomingMessage, res: ServerResponse) => void } {
  let n = 0;
  return {
    requests: () => n,
    handle: (_req, res) => {
      n++;
      res.on('error', () => undefined);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
    },
  };
}

describe('JSON that would cost the parser far more than its bytes', () => {
  it('a read answer nested 100,000 levels deep (under the read bound) is refused before parsing, with the reason', async () => {
    const server = constant(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)));
    const error = await refusal((await client(await serve(server.handle))).get('k'));
    expect(error.attempts.map((a) => a.code)).toEqual(['malformed']);
    expect(error.attempts[0]?.detail).toMatch(/nested deeper than 32 levels/);
  });

  it('an 8 MB deeply nested read answer is refused by the read bound, unread past 256 KiB', async () => {
    const server = constant(Buffer.from('['.repeat(4_000_000) + ']'.repeat(4_000_000)));
    const before = process.memoryUsage().rss;
    const error = await refusal((await client(await serve(server.handle))).get('k'));
    expect(error.attempts.map((a) => [a.code, a.detail])).toEqual([['too-large', 'answer over 262144 bytes']]);
    // For the record only (no assertion: RSS moves with the collector): before the bounds this cost ~400 MiB.
    console.log(`RSS change for an 8 MB nested read answer: ${Math.round((process.memoryUsage().rss - before) / 1048576)} MiB`);
  });

  it('a listing page (8 MiB bound) of 8 MB nesting or of 4 million tiny elements is refused before parsing', async () => {
    const nested = constant(Buffer.from('{"a":'.repeat(1_300_000) + '1' + '}'.repeat(1_300_000)));
    const deep = await refusal((await client(await serve(nested.handle))).list('p/'));
    expect(deep.attempts.map((a) => a.code)).toEqual(['malformed']);
    expect(deep.attempts[0]?.detail).toMatch(/nested deeper than 32 levels/);
    const flat = constant(Buffer.from(`[${Array(4_000_000).fill('0').join(',')}]`));
    const many = await refusal((await client(await serve(flat.handle))).list('p/'));
    expect(many.attempts.map((a) => a.code)).toEqual(['malformed']);
    expect(many.attempts[0]?.detail).toMatch(/more than 65536 elements/);
  });
});

describe('redirects are never followed', () => {
  let target: string;
  let targetRequests: { method: string; url: string; body: string }[];
  let redirector: string;

  beforeAll(async () => {
    targetRequests = [];
    target = await serve((req, res) => {
      targetRequests.push({ method: req.method ?? '', url: req.url ?? '', body: '' });
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"not-found","message":"the target"}}');
    });
    // 302 for reads, 307 (method and body kept) for writes: what a browser-style fetch would follow.
    redirector = await serve((req, res) => {
      res.writeHead(req.method === 'POST' ? 307 : 302, { location: `${target}${req.url ?? '/'}` });
      res.end();
    });
  });

  for (const [name, fetch] of [['the global fetch', undefined], ["the SDK's nodeFetch", nodeFetch()]] as const) {
    it(`a 302 on a read and a 307 on a write fail that replica with the reason (${name}); the target receives nothing`, async () => {
      const c = await client(redirector, fetch);
      const read = await refusal(c.get('k'));
      expect(read.attempts.map((a) => a.code)).toEqual(['redirect']);
      expect(read.attempts[0]?.detail).toMatch(/^HTTP 302 redirect to http:\/\/127\.0\.0\.1:\d+\/v1\/keys\/k.*never followed/);
      const write = await refusal(c.put('k', 'v'));
      expect(write.attempts.map((a) => a.code)).toEqual(['redirect']);
      expect(write.attempts[0]?.detail).toMatch(/^HTTP 307 redirect/);
      expect(targetRequests).toEqual([]);
    });
  }
});
