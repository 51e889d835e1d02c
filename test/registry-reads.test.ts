// The read and audit endpoints over real HTTP against a one-replica node
// (n = 1, f = 0: it commits on its own) with a real SQLite file: listing by
// prefix, key history, long-polled changes, the audit record, and the key
// index rebuilt for a store written before it existed. Every answer goes
// through the verifying client, and tampered answers are caught.

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type Membership, utf8 } from '@vcr/proofs';
import { createServer } from '../apps/replica/src/http/server';
import { MemoryKeyStore } from '../apps/replica/src/keystore';
import { ReplicaNode } from '../apps/replica/src/replica-node';
import { ReplicaStore } from '../apps/replica/src/storage/replica-store';
import { parsePeerMessageJson } from '../apps/replica/src/wire';
import { RegistryClient } from '../ops/registry-client';
import { verifyChange } from '../ops/verify-change';
import { verifyChain } from '../ops/verify-chain';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function single() {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-reads-'));
  const keys = new MemoryKeyStore();
  const key = keys.generate('replica');
  const membership: Membership = {
    chainId: 'vcr-reads',
    epoch: 0n,
    f: 0,
    replicas: [{ id: 'r1', organization: 'org1', publicKey: key.publicKey, address: 'http://127.0.0.1:1' }],
    governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key.publicKey }] },
  };
  const path = join(dir, 'replica.sqlite');
  let node: ReplicaNode | undefined;
  let server: Server | undefined;
  const boot = async () => {
    node = new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(path), tickMs: 5 });
    const s = createServer(node).listen(0, '127.0.0.1');
    await new Promise((resolve) => s.once('listening', resolve));
    server = s;
    node.start();
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  const halt = () => {
    node?.stop();
    server?.close();
    node?.store.close();
    node = undefined;
  };
  cleanups.push(() => {
    halt();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await boot();
  return { membership, url, path, halt, boot, node: () => node as ReplicaNode };
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('registry reads and audit records over HTTP', () => {
  it('lists by prefix, serves verified history and changes, and refuses bad queries', async () => {
    const { membership, url } = await single();
    const client = new RegistryClient(membership, [url], randomBytes(32));
    for (const [k, v] of [['edge/pins/a', '1'], ['edge/pins/b', '2'], ['payments/flags/x', '3'], ['edge/pins/a', '4']] as const) {
      expect((await client.write({ op: 'put', key: k, value: utf8(v) })).ok).toBe(true);
    }
    expect((await client.write({ op: 'txn', ops: [{ op: 'delete', key: 'edge/pins/b' }, { op: 'put', key: 'edge/pinsX', value: utf8('5') }] })).ok).toBe(true);
    // A failed CAS changes nothing and shows in no history.
    expect((await client.write({ op: 'cas', key: 'edge/pins/a', expectedRevision: 1n, value: utf8('no') })).ok).toBe(true);

    const listed = await client.list('edge/pins/', url);
    expect(listed.ok && listed.value.keys.map((k) => [k.key, new TextDecoder().decode(k.value), k.revision])).toEqual([['edge/pins/a', '4', 2n]]);
    const all = await client.list('', url);
    expect(all.ok && all.value.keys.map((k) => k.key)).toEqual(['edge/pins/a', 'edge/pinsX', 'payments/flags/x']);

    const history = await client.history('edge/pins/a', 0n, url);
    expect(history.ok && history.value.changes.map((c) => [c.op, new TextDecoder().decode(c.value), c.revision])).toEqual([['put', '1', 1n], ['put', '4', 2n]]);
    const deleted = await client.history('edge/pins/b', 0n, url);
    expect(deleted.ok && deleted.value.changes.map((c) => [c.op, c.revision])).toEqual([['put', 1n], ['delete', 0n]]);

    const changes = await client.changes('edge/', 0n, 0, url);
    expect(changes.ok && changes.value.changes.map((c) => c.key)).toEqual(['edge/pins/a', 'edge/pins/b', 'edge/pins/a', 'edge/pins/b', 'edge/pinsX']);

    // Long poll: a watcher waiting past the end is woken by the next commit and gets just that change.
    const next = changes.ok ? changes.value.next : 0n;
    const waiting = client.changes('edge/', next, 20_000, url);
    await client.write({ op: 'put', key: 'edge/pins/c', value: utf8('6') });
    const woken = await waiting;
    expect(woken.ok && woken.value.changes.map((c) => c.key)).toEqual(['edge/pins/c']);

    for (const bad of ['/v1/keys?limit=0', '/v1/keys?limit=201', `/v1/keys?prefix=${'x'.repeat(257)}`, '/v1/keys?colour=red', '/v1/changes?from=-1', '/v1/changes?waitMs=30001', '/v1/keys/a/history?from=x']) {
      const r = await get(url + bad);
      expect(r.status, bad).toBe(400);
      expect((r.body.error as { code: string }).code).toBe('malformed');
    }
  }, 30_000);

  it('catches a tampered change: another value, another revision, a forged leaf, a foreign key', async () => {
    const { membership, url } = await single();
    const client = new RegistryClient(membership, [url], randomBytes(32));
    await client.write({ op: 'put', key: 'k', value: utf8('honest') });
    const { body } = await get(`${url}/v1/keys/k/history`);
    const entry = (body.entries as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(verifyChange(membership, entry).ok).toBe(true);
    const request = entry.request as Record<string, unknown>;
    const tampered: [string, Record<string, unknown>][] = [
      ['value', { ...entry, request: { ...request, payload: String(request.payload).replace(/686f6e657374$/, '6c79696e6721') } }],
      ['revision', { ...entry, revision: '7' }],
      ['leaf', { ...entry, leafData: String(entry.leafData).slice(0, -2) + '00' }],
      ['log index', { ...entry, logIndex: '1' }],
      ['op', { ...entry, op: 'delete' }],
      ['key', { ...entry, key: 'other' }],
    ];
    for (const [what, forged] of tampered) expect(verifyChange(membership, forged).ok, what).toBe(false);
  }, 30_000);

  it('keeps every message it signed in the audit record, each verifiable on its own, and verifies the chain', async () => {
    const { membership, url, node } = await single();
    const client = new RegistryClient(membership, [url], randomBytes(32));
    await client.write({ op: 'put', key: 'k', value: utf8('v') });
    node().store.audit.flush();
    const { body } = await get(`${url}/v1/audit/messages?type=commit&limit=5`);
    const messages = body.messages as { id: string; message: unknown }[];
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) {
      const parsed = parsePeerMessageJson(m.message);
      expect(parsed.ok && parsed.value.type).toBe('commit');
    }
    const ids = messages.map((m) => BigInt(m.id));
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    if (messages.length === 5) expect(body.next).toBe(messages[4]?.id);
    const seq = (await get(`${url}/v1/audit/messages?seq=1`)).body.messages as { message: { type: string; seq: string } }[];
    expect(seq.length).toBeGreaterThan(0);
    expect(seq.every((m) => m.message.seq === '1')).toBe(true);
    expect((await get(`${url}/v1/audit/evidence`)).body).toEqual({ evidence: [], next: null });
    expect((await get(`${url}/v1/audit/messages?type=vote`)).status).toBe(400);
    // Newest first, paged backwards with `before`.
    const newest = (await get(`${url}/v1/audit/messages?order=desc&limit=3`)).body as { messages: { id: string }[]; next: string };
    const newestIds = newest.messages.map((m) => BigInt(m.id));
    expect([...newestIds].sort((a, b) => (a > b ? -1 : 1))).toEqual(newestIds);
    const older = (await get(`${url}/v1/audit/messages?order=desc&limit=3&before=${newest.next}`)).body as { messages: { id: string }[] };
    expect(older.messages.every((m) => BigInt(m.id) < BigInt(newest.next))).toBe(true);
    expect((await get(`${url}/v1/audit/messages?order=desc&after=1`)).status).toBe(400);

    const first = await verifyChain(membership, url);
    expect(first.ok).toBe(true);
    await client.write({ op: 'put', key: 'k2', value: utf8('v') });
    const second = await verifyChain(membership, url, first.ok ? first.head : undefined);
    expect(second.ok && second.head.size > (first.ok ? first.head.size : 0n)).toBe(true);
    // A head that this log does not extend (another root at that size) is caught.
    const forgedHead = first.ok ? { size: first.head.size, root: new Uint8Array(32).fill(7) } : undefined;
    const forked = await verifyChain(membership, url, forgedHead);
    expect(forked.ok).toBe(false);
  }, 30_000);

  it('rebuilds the key index of a store written before the index existed', async () => {
    const { membership, url, path, halt, boot } = await single();
    const client = new RegistryClient(membership, [url], randomBytes(32));
    await client.write({ op: 'put', key: 'old/a', value: utf8('1') });
    await client.write({ op: 'put', key: 'old/a', value: utf8('2') });
    halt();
    const db = new Database(path);
    db.exec("DELETE FROM key_history; DELETE FROM live_keys; DELETE FROM meta WHERE key = 'keyIndexHeight'; UPDATE meta SET value = '1' WHERE key = 'schema';");
    db.close();
    const again = await boot();
    const history = await client.history('old/a', 0n, again);
    expect(history.ok && history.value.changes.map((c) => c.revision)).toEqual([1n, 2n]);
  }, 30_000);
});
