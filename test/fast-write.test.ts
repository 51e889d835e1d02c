// The replica's fast write path (apps/replica/src/http/fast-write.ts) against
// the express route, on one real node over real HTTP: the plain form of
// `POST /v1/requests` is taken before express and answered with the status,
// error code, message and receipt express gives; every other form, hostile
// ones included, reaches express untouched and gets the errors it got before.

import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSigner } from '@vcr/crypto-node';
import { clientRequestToJson, signClientRequest, utf8 } from '@vcr/proofs';
import { encodeOp } from '@vcr/registry';
import { fastWrite } from '../apps/replica/src/http/fast-write';
import { createServer } from '../apps/replica/src/http/server';
import { MAX_CLIENT_BODY_BYTES } from '../apps/replica/src/wire';
import { listen } from './support/listen';
import { type OneReplica, startOneReplica } from './support/one-replica';

let replica: OneReplica;
let expressOnly: Server;
let withFastPath: Server;
let fastTaken = 0;
let expressUrl = '';
let fastUrl = '';
const signer = createNodeSigner(randomBytes(32));
let nextId = BigInt(Date.now()) * 1000n;

beforeAll(async () => {
  replica = await startOneReplica({ chainId: 'vcr-fast-write', registryPolicy: { rootWrite: 'open', admins: [] } });
  expressOnly = createHttpServer(createServer(replica.node));
  const app = createServer(replica.node);
  const fast = fastWrite(replica.node);
  withFastPath = createHttpServer((req, res) => {
    if (fast(req, res)) fastTaken++;
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

function signedPut(key: string, value: string) {
  return clientRequestToJson(signClientRequest(signer, { chainId: replica.membership.chainId, epoch: replica.membership.epoch }, { requestId: nextId++, payload: encodeOp({ op: 'put', key, value: utf8(value) }) }));
}

/** A raw POST (node:http, so no client rewrites headers or body); status, the headers that matter, and the body as JSON. */
function post(base: string, path: string, body: Buffer | string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return new Promise<{ status: number; retryAfter: string | undefined; contentType: string | undefined; body: unknown }>((resolve, reject) => {
    const url = new URL(path, base);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const req = httpRequest(url, { method: 'POST', headers: { 'content-length': String(bytes.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          contentType: res.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        }),
      );
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

/** Posts the same bytes to both servers: the answers must be equal; says whether the fast path took it. */
async function same(path: string, body: Buffer | string, headers?: Record<string, string>) {
  const viaExpress = await post(expressUrl, path, body, headers);
  const before = fastTaken;
  const viaFast = await post(fastUrl, path, body, headers);
  expect(viaFast, `${path} ${String(body).slice(0, 60)}`).toEqual(viaExpress);
  return { answer: viaFast, fast: fastTaken > before };
}

describe('the fast write path', () => {
  it('takes a plain signed write and answers with the receipt the express route gives for it', async () => {
    expect((await post(fastUrl, '/v1/requests', JSON.stringify(signedPut('app/earlier', 'zero')))).status).toBe(200);
    const body = JSON.stringify(signedPut('app/fast', 'one'));
    // The first post commits it; the second gets the stored receipt: the same answer from either route.
    const first = await post(fastUrl, '/v1/requests', body);
    expect(first.status).toBe(200);
    const { answer, fast } = await same('/v1/requests', body);
    expect(fast).toBe(true);
    expect(answer.body).toEqual(first.body);
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    const withProof = await same('/v1/requests?proveFrom=1', body);
    expect(withProof.fast).toBe(true);
    expect(withProof.answer.status).toBe(200);
    expect(withProof.answer.body).toHaveProperty('consistency');
  });

  it('answers a body that is not JSON, not an object or array, empty, or not a request as express does', async () => {
    const request = signedPut('app/bad', 'x');
    const cases: (string | Buffer)[] = [
      '{"clientId":',
      '"a string"',
      '42',
      '',
      '   ',
      '[]',
      '{}',
      '\ufeff{}',
      Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
      JSON.stringify({ ...request, extra: 1 }),
      JSON.stringify({ ...request, clientId: 'not-a-key' }),
      JSON.stringify({ ...request, clientId: 'ab'.repeat(32) }),
      JSON.stringify({ ...request, signature: 'cd'.repeat(64) }),
      JSON.stringify({ ...request, requestId: '99999999999999999999' }),
      JSON.stringify({ ...request, payload: 'AB' }),
      '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
    ];
    for (const body of cases) {
      const { answer, fast } = await same('/v1/requests', body);
      expect(fast).toBe(true);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
    // A refusal whose message names the clock: the same code and id from either route.
    const ahead = JSON.stringify({ ...request, requestId: (BigInt(Date.now() + 3_600_000) * 1000n).toString() });
    const [viaExpress, viaFast] = [await post(expressUrl, '/v1/requests', ahead), await post(fastUrl, '/v1/requests', ahead)];
    expect(viaFast.status).toBe(400);
    expect(viaExpress.status).toBe(400);
    expect((viaFast.body as { error: { code: string } }).error.code).toBe('request-id-ahead');
    expect((viaExpress.body as { error: { code: string } }).error.code).toBe('request-id-ahead');
  });

  it('leaves every other form to express: other queries, content types, encodings, sizes and methods', async () => {
    const body = JSON.stringify(signedPut('app/other', 'y'));
    const cases: { path: string; body: string | Buffer; headers?: Record<string, string> }[] = [
      { path: '/v1/requests?proveFrom=01', body },
      { path: '/v1/requests?proveFrom=1&x=2', body },
      { path: '/v1/requests?x=1', body },
      { path: '/v1/requests/', body },
      { path: '/v1/requestsX', body },
      { path: '/v1/requests', body, headers: { 'content-type': 'text/plain' } },
      { path: '/v1/requests', body, headers: {} },
      { path: '/v1/requests', body, headers: { 'content-type': 'application/json; charset=latin1' } },
      { path: '/v1/requests', body: gzipSync(body), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
      { path: '/v1/requests', body: 'x'.repeat(MAX_CLIENT_BODY_BYTES + 1), headers: { 'content-type': 'application/json' } },
    ];
    for (const c of cases) {
      const { fast } = await same(c.path, c.body, c.headers);
      expect(fast, c.path).toBe(false);
    }
  });

  it('answers 500 internal, from either route, when the node throws instead of rejecting, and the replica goes on', async () => {
    const node = replica.node as unknown as { submit: unknown };
    const submit = node.submit;
    node.submit = () => {
      throw new Error('a broken invariant');
    };
    try {
      const { answer, fast } = await same('/v1/requests', JSON.stringify(signedPut('app/boom', 'x')));
      expect(fast).toBe(true);
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    } finally {
      node.submit = submit;
    }
    expect((await post(fastUrl, '/v1/requests', JSON.stringify(signedPut('app/after', 'y')))).status).toBe(200);
  });

  it('counts its writes in the HTTP latency metric under the route express would have matched', async () => {
    const count = async () => {
      const text = await (await fetch(`${expressUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('vcr_http_request_duration_seconds_count{') && l.includes('route="/v1/requests"') && l.includes('method="POST"') && l.includes('code="200"'));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const before = await count();
    expect((await post(fastUrl, '/v1/requests', JSON.stringify(signedPut('app/metric', 'z')))).status).toBe(200);
    expect(await count()).toBe(before + 1);
  });
});
