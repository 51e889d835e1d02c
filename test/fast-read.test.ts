// The replica's fast read path (apps/replica/src/http/fast-read.ts) against
// the express route, on one real node over real HTTP: the plain form of
// `GET /v1/keys/{key}` is answered before express with the same status,
// headers and bytes express gives; every other form, hostile ones included,
// reaches express untouched and gets the errors it got before.

import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { utf8 } from '@vcr/proofs';
import { AnswerCache } from '../apps/replica/src/http/answer-cache';
import { fastKeyRead } from '../apps/replica/src/http/fast-read';
import { createServer } from '../apps/replica/src/http/server';
import { listen } from './support/listen';
import { type OneReplica, startOneReplica } from './support/one-replica';

// express's ETag generator itself, the package express depends on (no types of its own).
const expressEtag = createRequire(import.meta.url)('etag') as (body: Buffer, options: { weak: boolean }) => string;

let replica: OneReplica;
let expressOnly: Server;
let withFastPath: Server;
let fastServed = 0;
let expressUrl = '';
let fastUrl = '';

beforeAll(async () => {
  replica = await startOneReplica({ chainId: 'vcr-fast-read', registryPolicy: { rootWrite: 'open', admins: [] } });
  const client = await RegistryClient.create({ membership: replica.membership, replicas: [replica.url], signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  for (const [k, v] of [['app/a', 'one'], ['app/b', 'two'], ['app/a', 'three']] as const) expect((await client.put(k, utf8(v))).result.ok).toBe(true);
  // Two servers over the same node: express alone (as before the fast path), and the fast path in front of express.
  expressOnly = createHttpServer(createServer(replica.node));
  const answers = new AnswerCache(1024 * 1024);
  const app = createServer(replica.node, answers);
  const fast = fastKeyRead(replica.node, answers);
  withFastPath = createHttpServer((req, res) => {
    if (fast(req, res)) fastServed++;
    else app(req, res);
  });
  expressUrl = await listen(expressOnly);
  fastUrl = await listen(withFastPath);
}, 60_000);

afterAll(() => {
  expressOnly?.close();
  withFastPath?.close();
  replica?.stop();
});

/** Status, the headers a client sees (Date and Keep-Alive vary by the second), and the body bytes. */
async function answer(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const seen: [string, string][] = [];
  res.headers.forEach((value, name) => seen.push([name, value]));
  const kept = seen.filter(([name]) => name !== 'date' && name !== 'keep-alive');
  return { status: res.status, headers: Object.fromEntries(kept), body: Buffer.from(await res.arrayBuffer()).toString('utf8') };
}

async function servedFast(path: string, headers: Record<string, string> = {}): Promise<boolean> {
  const before = fastServed;
  await answer(fastUrl + path, headers);
  return fastServed > before;
}

describe('the fast read path', () => {
  it('answers plain key reads before express, byte for byte and header for header as the express route does', async () => {
    const logSize = replica.node.logSize;
    const paths = ['/v1/keys/app%2Fa', '/v1/keys/app%2Fb', '/v1/keys/absent', '/v1/keys/app%2Fa?proveFrom=1', `/v1/keys/app%2Fa?proveFrom=${logSize}`, '/v1/keys/app%2Fa?proveFrom=0'];
    for (const path of paths) {
      for (let round = 0; round < 2; round++) {
        expect(await servedFast(path), path).toBe(true);
        const fast = await answer(fastUrl + path);
        const slow = await answer(expressUrl + path);
        expect(fast.status, path).toBe(200);
        expect(fast, path).toEqual(slow);
      }
    }
    const withProof = JSON.parse((await answer(`${fastUrl}/v1/keys/app%2Fa?proveFrom=1`)).body) as { consistency?: { from: string; to: string } };
    expect(withProof.consistency).toMatchObject({ from: '1', to: logSize.toString() });
    // The ETag is the one express's own generator (the etag package, weak) gives the body, and a
    // conditional GET with it is answered 304 (fetch adds no-cache to conditional requests unless told otherwise).
    const plain = await answer(`${fastUrl}/v1/keys/app%2Fa`);
    expect(plain.headers.etag).toBe(expressEtag(Buffer.from(plain.body), { weak: true }));
    expect((await answer(`${fastUrl}/v1/keys/app%2Fa`, { 'if-none-match': plain.headers.etag as string, 'cache-control': 'max-age=0' })).status).toBe(304);
  });

  it('serves the new state after a commit, not a cached answer of the old one', async () => {
    const client = await RegistryClient.create({ membership: replica.membership, replicas: [fastUrl], signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
    const before = await client.get('app/b');
    expect((await client.put('app/b', utf8('four'))).result.ok).toBe(true);
    const after = await client.get('app/b');
    expect(after.height).toBeGreaterThan(before.height);
    expect(new TextDecoder().decode(after.entry?.value)).toBe('four');
    const raw = JSON.parse((await answer(`${fastUrl}/v1/keys/app%2Fb`)).body) as { certificate: { header: { height: string } } };
    expect(raw.certificate.header.height).toBe(replica.node.latestBlock()?.header.height.toString());
  });

  it('leaves every other form to express, which answers it as before', async () => {
    const hostile: [string, Record<string, string>?][] = [
      [`/v1/keys/${'x'.repeat(300)}`],
      ['/v1/keys/has%20space'],
      ['/v1/keys/%E0%A4%A'],
      ['/v1/keys/a?proveFrom=01'],
      ['/v1/keys/a?proveFrom=-1'],
      ['/v1/keys/a?proveFrom=1&proveFrom=2'],
      ['/v1/keys/a?colour=red'],
      ['/v1/keys/a?proveFrom=99999999999999999999'],
      ['/v1/keys/app%2Fa', { 'if-none-match': '"nope"' }],
      ['/v1/keys/app%2Fa/history'],
      ['/V1/KEYS/app%2Fa'],
      ['/v1/keys/'],
      ['/v1/keys/%00reserved'],
    ];
    for (const [path, headers] of hostile) {
      expect(await servedFast(path, headers), path).toBe(false);
      expect(await answer(fastUrl + path, headers), path).toEqual(await answer(expressUrl + path, headers));
    }
    const refused = await answer(`${fastUrl}/v1/keys/has%20space`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'malformed', message: expect.stringMatching(/^key refused: /) } });
  });
});

describe('change and history pages', () => {
  it('are joined from entry texts kept across requests: the same bytes as made fresh, without loading blocks again', async () => {
    const spy = vi.spyOn(replica.node, 'loadCommittedBlock');
    for (const path of ['/v1/changes?prefix=app%2F', '/v1/keys/app%2Fa/history', '/v1/changes?prefix=app%2F&from=2&limit=1']) {
      spy.mockClear();
      const first = await answer(fastUrl + path);
      expect(first.status, path).toBe(200);
      // The first page loads its blocks; later pages find entries the earlier ones made (history shares them with changes).
      if (path.startsWith('/v1/changes?prefix=app%2F&from')) expect(spy.mock.calls.length, path).toBe(0);
      else if (path === '/v1/changes?prefix=app%2F') expect(spy.mock.calls.length, path).toBeGreaterThan(0);
      spy.mockClear();
      const again = await answer(fastUrl + path);
      expect(spy.mock.calls.length, path).toBe(0);
      expect(again, path).toEqual(first);
      // The other server made its page fresh: the same bytes, in res.json's form (JSON.stringify of the page).
      expect(await answer(expressUrl + path), path).toEqual(first);
      expect(first.body).toBe(JSON.stringify(JSON.parse(first.body)));
    }
    spy.mockRestore();
  });
});
