// Request ids through the real API (docs/protocol.md, "Request ids"): a
// one-replica node (n = 1, f = 0, real SQLite, real HTTP). An id beyond the
// window, an id below the client's last executed one and an id reused for
// another operation are refused at once with a machine-readable error and
// change nothing; the client keeps writing; the SDK names the conflict.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, RegistryError } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { bytesToHex, clientRequestToJson, type Membership, signClientRequest, utf8 } from '@vcr/proofs';
import { encodeOp } from '@vcr/registry';
import type { ReplicaNode } from '../apps/replica/src/replica-node';
import { type OneReplica, startOneReplica } from './support/one-replica';

let replica: OneReplica;
let node: ReplicaNode;
let url: string;
let membership: Membership;

beforeAll(async () => {
  // The keys below are under no namespace: an open root.
  replica = await startOneReplica({ chainId: 'vcr-request-ids', registryPolicy: { rootWrite: 'open', admins: [] } });
  ({ node, url, membership } = replica);
});

afterAll(() => replica?.stop());

type Signer = ReturnType<typeof createNodeSigner>;

/** POSTs a put signed by `signer` under `requestId`; the status and the parsed body. */
async function post(signer: Signer, requestId: bigint, key: string, value: string): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const request = signClientRequest(signer, { chainId: membership.chainId, epoch: 0n }, { requestId, payload: encodeOp({ op: 'put', key, value: utf8(value) }) });
  const res = await fetch(`${url}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(clientRequestToJson(request)) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown> };
}

const clockId = () => BigInt(Date.now()) * 1000n;

describe('request ids', () => {
  it('an id beyond the window (2^63 - 1) is refused with 400 request-id-ahead, changes nothing, and the client writes on', async () => {
    const signer = createNodeSigner(new Uint8Array(32).fill(1));
    const sizeBefore = node.logSize;
    const far = await post(signer, (1n << 63n) - 1n, 'ids/far', 'hijack');
    expect([far.status, far.body.error?.code]).toEqual([400, 'request-id-ahead']);
    expect(far.body.error).toMatchObject({ requestId: ((1n << 63n) - 1n).toString() });
    expect(node.logSize).toBe(sizeBefore);
    // The SDK's ordinary ids (the clock's) still execute.
    const client = await RegistryClient.create({ membership, replicas: [url], signer, backend: nodeBackend });
    expect((await client.put('ids/far', 'ok')).result).toEqual({ ok: true, revisions: [1n] });
  });

  it('an id below the client\'s last executed one is refused at once with 409 request-id-superseded', async () => {
    const signer = createNodeSigner(new Uint8Array(32).fill(2));
    const id = clockId();
    expect((await post(signer, id, 'ids/low', 'a')).status).toBe(200);
    const sizeBefore = node.logSize;
    const started = Date.now();
    const low = await post(signer, id - 1n, 'ids/low', 'b');
    expect([low.status, low.body.error?.code]).toEqual([409, 'request-id-superseded']);
    expect(low.body.error).toMatchObject({ lastExecutedRequestId: id.toString() });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(node.logSize).toBe(sizeBefore);
    expect((await post(signer, id + 1n, 'ids/low', 'c')).status).toBe(200);
  });

  it('an id reused for another operation is refused with 409 request-id-conflict; the same operation gets its receipt', async () => {
    const signer = createNodeSigner(new Uint8Array(32).fill(3));
    const id = clockId();
    const first = await post(signer, id, 'ids/reuse', 'first');
    expect(first.status).toBe(200);
    const sizeBefore = node.logSize;
    const reused = await post(signer, id, 'ids/reuse', 'second');
    expect([reused.status, reused.body.error?.code]).toEqual([409, 'request-id-conflict']);
    expect(node.logSize).toBe(sizeBefore);
    const again = await post(signer, id, 'ids/reuse', 'first');
    expect(again.status).toBe(200);
    expect(again.body.logIndex).toBe(first.body.logIndex);
    // Two operations under one id in flight together: one is ordered, the other is refused.
    const both = await Promise.all([post(signer, id + 1n, 'ids/reuse', 'x'), post(signer, id + 1n, 'ids/reuse', 'y')]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(both.find((r) => r.status === 409)?.body.error?.code).toBe('request-id-conflict');
  });

  it('the SDK surfaces a reused id as a conflict error, not as a receipt that fails verification', async () => {
    // Two services sharing one key, whose clocks give the same millisecond: the same request id.
    const signer = createNodeSigner(new Uint8Array(32).fill(4));
    const frozen = Date.now();
    const [a, b] = await Promise.all([0, 1].map(() => RegistryClient.create({ membership, replicas: [url], signer, backend: nodeBackend, now: () => frozen })));
    expect((await a!.put('ids/shared', 'from a')).result.ok).toBe(true);
    const error = await b!.put('ids/shared', 'from b').then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('conflict');
    expect((error as RegistryError).message).toContain('request-id-conflict');
    expect(bytesToHex(signer.publicKey)).toBe(a!.clientId);
  });
});
