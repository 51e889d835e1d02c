// What an auditor reads beyond keys, through the real API and the SDK
// (docs/replica.md, "Results, organizations and pending changes"): the
// certified result of every request of a block (a refusal with its rule and
// detail), organization records proven from the certified state, and
// pending changes listed with their records and every submission, proven,
// until the second organization's approval applies the change. Answers
// altered on the way are refused by the SDK's checks.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockResultsSchema, orgsOfClient, RegistryClient, verifyBlockResults } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { bytesToHex, type Membership, parseCertificateJson, utf8 } from '@vcr/proofs';
import { parseCommittedBlockJson } from '@vcr/consensus';
import { encodeTypedValue, type NamespaceOp } from '@vcr/registry';
import { createServer } from '../apps/replica/src/http/server';
import { MemoryKeyStore } from '../apps/replica/src/keystore';
import { ReplicaNode } from '../apps/replica/src/replica-node';
import { ReplicaStore } from '../apps/replica/src/storage/replica-store';

const FLAG = encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off' });
const signers = { admin: createNodeSigner(randomBytes(32)), alice: createNodeSigner(randomBytes(32)), bob: createNodeSigner(randomBytes(32)) };
const id = (s: { publicKey: Uint8Array }) => bytesToHex(s.publicKey);

let dir: string;
let node: ReplicaNode;
let server: Server;
let url: string;
let membership: Membership;
const clients = {} as Record<keyof typeof signers, RegistryClient>;

/** A client of a fetch that rewrites the answers of one path: a lying replica. */
function lyingClient(path: string, rewrite: (body: Record<string, unknown>) => void): Promise<RegistryClient> {
  const fetchLie: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (!String(input).includes(path)) return res;
    const body = (await res.json()) as Record<string, unknown>;
    rewrite(body);
    return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
  };
  return RegistryClient.create({ membership, replicas: [url], backend: nodeBackend, fetch: fetchLie });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-pending-'));
  const key = new MemoryKeyStore().generate('replica');
  membership = {
    chainId: 'vcr-pending',
    epoch: 0n,
    f: 0,
    replicas: [{ id: 'r1', organization: 'org1', publicKey: key.publicKey, address: 'http://127.0.0.1:1' }],
    governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key.publicKey }] },
  };
  node = new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(join(dir, 'replica.sqlite')), tickMs: 5, registryPolicy: { rootWrite: 'closed', admins: [id(signers.admin)] } });
  server = createServer(node).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  node.start();
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [name, signer] of Object.entries(signers)) clients[name as keyof typeof signers] = await RegistryClient.create({ membership, replicas: [url], signer, backend: nodeBackend });
  for (const org of [
    { org: 'org1', clients: [id(signers.alice)] },
    { org: 'org2', clients: [id(signers.bob)] },
  ]) {
    expect((await clients.admin.submit({ op: 'org', ...org, admins: [id(signers.admin)] })).result.ok).toBe(true);
  }
  const ns: NamespaceOp = { op: 'namespace', prefix: 'edge/flags/', owner: 'org1', writers: ['org1', 'org2'], admins: ['org1'], valueType: 'flag', approvals: { threshold: 2, from: ['org1', 'org2'], ttlMs: 86_400_000n } };
  expect((await clients.admin.submit(ns)).result.ok).toBe(true);
  expect((await clients.admin.submit({ ...ns, prefix: 'edge/free/', writers: ['org1'], valueType: 'any', approvals: null })).result.ok).toBe(true);
});

afterAll(() => {
  node?.stop();
  server?.close();
  node?.store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The block at `height`, its certificate, and its results verified by the SDK's check. */
async function resultsOf(height: bigint) {
  const block = parseCommittedBlockJson(await (await fetch(`${url}/v1/blocks/${height}`)).json());
  if (!block.ok) throw new Error('block malformed');
  const raw = await (await fetch(`${url}/v1/blocks/${height}/results`)).json();
  const parsed = blockResultsSchema.parse(raw);
  return { block: block.value, raw, checked: verifyBlockResults(nodeBackend, block.value.header, block.value.batch, parsed) };
}

describe('auditor reads through the real API', () => {
  it("a block's results name each request's certified outcome: a refusal with its rule and detail", async () => {
    const receipt = await clients.bob.put('edge/free/a', utf8('x'));
    expect(receipt.result).toMatchObject({ ok: false, error: 'forbidden' });
    const { checked, block } = await resultsOf(receipt.height);
    expect(checked.ok).toBe(true);
    const index = block.batch.findIndex((r) => r.clientId === id(signers.bob));
    const outcome = checked.ok ? checked.value[index] : undefined;
    expect(outcome).toMatchObject({ executed: true, result: { ok: false, error: 'forbidden', detail: expect.stringMatching(/ may not write edge\/free\/ \(writers: org1\)$/) } });
  });

  it("refuses a block's results with a leaf left out, or a previous header that is not the block's", async () => {
    const receipt = await clients.alice.put('edge/free/b', utf8('y'));
    const { block, raw } = await resultsOf(receipt.height);
    const fewer = blockResultsSchema.parse({ ...(raw as object), leaves: [] });
    expect(verifyBlockResults(nodeBackend, block.header, block.batch, fewer)).toMatchObject({ ok: false });
    const earlier = await (await fetch(`${url}/v1/blocks/1`)).json();
    const wrongPrevious = blockResultsSchema.parse({ ...(raw as object), previousHeader: (earlier as { header: unknown }).header });
    expect(verifyBlockResults(nodeBackend, block.header, block.batch, wrongPrevious)).toMatchObject({ ok: false, detail: 'the previous header is not the one the block chains to' });
  });

  it('names client keys by their organizations, from records proven against the certified state', async () => {
    const orgs = await clients.bob.organizations(['org1', 'org2', 'org9']);
    expect(orgs.orgs.get('org9')).toBeUndefined();
    expect(orgsOfClient(orgs.orgs, id(signers.bob))).toEqual(['org2']);
    expect(orgsOfClient(orgs.orgs, id(signers.alice))).toEqual(['org1']);
    const liar = await lyingClient('/v1/orgs', (body) => {
      const list = body.orgs as { record: string | null }[];
      if (list[0]) list[0].record = list[1]?.record ?? null; // org1 claimed to hold org2's keys
    });
    await expect(liar.organizations(['org1', 'org2'])).rejects.toThrow(/organization org1: map proof/);
  });

  it('lists a pending change with its proven record and proposal, then as no longer pending with both submissions once the second organization applies it', async () => {
    const first = await clients.alice.put('edge/flags/kill', FLAG);
    expect(first.result).toMatchObject({ ok: false, error: 'pending-approval' });
    const waiting = await clients.bob.pending();
    const change = waiting.changes[0];
    expect(change?.record).toMatchObject({ approvals: ['org1'], proposer: id(signers.alice) });
    expect(change?.record?.expiresAtMs).toBe(first.certificate.header.timestampMs + 86_400_000n);
    expect(change?.submissions.map((s) => [s.clientId, s.height])).toEqual([[id(signers.alice), first.height]]);
    expect(change?.submissions[0]?.op).toEqual({ op: 'put', key: 'edge/flags/kill', value: FLAG });

    const second = await clients.bob.put('edge/flags/kill', FLAG);
    expect(second.result.ok).toBe(true);
    const after = await clients.alice.pending();
    const done = after.changes.find((c) => c.change === change?.change);
    // No longer in the state: proven absent. The approving request applied it (it is in the key's history, not here).
    expect(done?.record).toBeUndefined();
    expect(done?.submissions.length).toBe(1);
  });

  it('refuses a pending listing whose record was altered or whose submission is for another change', async () => {
    await clients.alice.put('edge/flags/other', FLAG);
    const alteredRecord = await lyingClient('/v1/pending', (body) => {
      const c = (body.changes as { revision: string }[])[0];
      if (c) c.revision = '9';
    });
    await expect(alteredRecord.pending()).rejects.toThrow(/map proof/);
    const swapped = await lyingClient('/v1/pending', (body) => {
      const list = body.changes as { submissions: unknown[] }[];
      if (list[0] && list[1]) list[0].submissions = list[1].submissions;
    });
    await expect(swapped.pending()).rejects.toThrow(/submits another change/);
    expect(parseCertificateJson((await (await fetch(`${url}/v1/pending`)).json() as { certificate: unknown }).certificate).ok).toBe(true);
  });
});
