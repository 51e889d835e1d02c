// The registry's rules through the real API (docs/registry.md): a replica
// process-equivalent (one-replica node, real HTTP, real SQLite file) with a
// closed root and one registry admin; organizations and namespaces created by
// signed requests; writes refused for an unknown namespace, a missing
// permission, a wrong value type, a stale revision; a critical change that
// waits for a second organization. Every answer is verified by the SDK, and
// every refusal leaves the certified state of the user keys unchanged.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { bytesToHex, type Membership, utf8 } from '@vcr/proofs';
import { encodeTypedValue, type NamespaceOp, type RegistryOp } from '@vcr/registry';
import { createServer } from '../apps/replica/src/http/server';
import { MemoryKeyStore } from '../apps/replica/src/keystore';
import { ReplicaNode } from '../apps/replica/src/replica-node';
import { ReplicaStore } from '../apps/replica/src/storage/replica-store';

const FLAG = encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off' });
const signers = { admin: createNodeSigner(randomBytes(32)), alice: createNodeSigner(randomBytes(32)), bob: createNodeSigner(randomBytes(32)), mallory: createNodeSigner(randomBytes(32)) };
const id = (s: { publicKey: Uint8Array }) => bytesToHex(s.publicKey);

let dir: string;
let node: ReplicaNode;
let server: Server;
let url: string;
let membership: Membership;
const clients = {} as Record<keyof typeof signers, RegistryClient>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-governance-'));
  const key = new MemoryKeyStore().generate('replica');
  membership = {
    chainId: 'vcr-governance',
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
  // A first certified block, so listings have a certificate to answer with.
  expect((await clients.admin.submit({ op: 'noop' })).result.ok).toBe(true);
});

afterAll(() => {
  node?.stop();
  server?.close();
  node?.store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ns = (prefix: string, extra: Partial<NamespaceOp> = {}): NamespaceOp => ({ op: 'namespace', prefix, owner: 'org1', writers: ['org1'], admins: ['org1'], valueType: 'any', approvals: null, ...extra });

/** Submits and checks that a refusal changed no user key: every listed key keeps its revision. */
async function refused(who: keyof typeof signers, op: RegistryOp): Promise<string> {
  const before = (await clients.admin.list('', { allowStale: true })).keys.map((k) => `${k.key}@${k.revision}`);
  const receipt = await clients[who].submit(op);
  expect(receipt.result.ok).toBe(false);
  const after = (await clients.admin.list('', { allowStale: true })).keys.map((k) => `${k.key}@${k.revision}`);
  expect(after).toEqual(before);
  return receipt.result.ok ? 'applied' : receipt.result.error;
}

describe('registry rules through the real API', () => {
  it('organizations and namespaces are created by the registry admin only', async () => {
    expect(await refused('mallory', { op: 'org', org: 'evil', clients: [id(signers.mallory)], admins: [id(signers.mallory)] })).toBe('forbidden');
    for (const org of [
      { org: 'org1', clients: [id(signers.alice)] },
      { org: 'org2', clients: [id(signers.bob)] },
    ]) {
      expect((await clients.admin.submit({ op: 'org', ...org, admins: [id(signers.admin)] })).result.ok).toBe(true);
    }
    expect((await clients.admin.submit(ns('edge/pins/', { valueType: 'pins' }))).result.ok).toBe(true);
    expect((await clients.admin.submit(ns('edge/flags/', { writers: ['org1', 'org2'], valueType: 'flag', approvals: { threshold: 2, from: ['org1', 'org2'], ttlMs: 86_400_000n } }))).result.ok).toBe(true);
    expect((await clients.admin.submit(ns('edge/free/'))).result.ok).toBe(true);
    expect(await refused('admin', ns('edge/x/', { writers: ['org9'] }))).toBe('unknown-org');
  });

  it('refuses an unknown namespace, a missing permission, a wrong value type and a stale revision, changing nothing', async () => {
    expect((await clients.alice.put('edge/free/a', utf8('1'))).result.ok).toBe(true);
    expect(await refused('alice', { op: 'put', key: 'nowhere/a', value: utf8('x') })).toBe('unknown-namespace');
    expect(await refused('bob', { op: 'put', key: 'edge/free/a', value: utf8('x') })).toBe('forbidden');
    expect(await refused('mallory', { op: 'put', key: 'edge/free/a', value: utf8('x') })).toBe('forbidden');
    expect(await refused('alice', { op: 'put', key: 'edge/pins/api', value: utf8('not a pin set') })).toBe('wrong-type');
    expect(await refused('alice', { op: 'cas', key: 'edge/free/a', expectedRevision: 7n, value: utf8('x') })).toBe('revision-mismatch');
    expect((await clients.alice.get('edge/free/a')).entry?.revision).toBe(1n);
  });

  it('a change in an approval namespace waits as pending until a second organization submits it, then applies', async () => {
    const first = await clients.alice.put('edge/flags/kill', FLAG);
    expect(first.result).toMatchObject({ ok: false, error: 'pending-approval' });
    expect((await clients.alice.get('edge/flags/kill')).entry).toBeUndefined();
    const second = await clients.bob.put('edge/flags/kill', FLAG);
    expect(second.result).toEqual({ ok: true, revisions: [1n] });
    const read = await clients.mallory.get('edge/flags/kill');
    expect(read.entry && bytesToHex(read.entry.value)).toBe(bytesToHex(FLAG));
    // The history names the request that applied it and its signer (org2's client), verified.
    const history = await clients.mallory.history('edge/flags/kill');
    expect(history.map((c) => [c.op, c.revision, c.clientId])).toEqual([['put', 1n, id(signers.bob)]]);
  });

  it('the registry records are certified state, not user keys: they cannot be read or listed as entries', async () => {
    const res = await fetch(`${url}/v1/keys/${encodeURIComponent('\u0000org/org1')}`);
    expect(res.status).toBe(400);
    expect((await clients.admin.list('', { allowStale: true })).keys.every((k) => !k.key.startsWith('\u0000'))).toBe(true);
  });
});
