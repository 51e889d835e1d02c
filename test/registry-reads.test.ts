// The read and audit endpoints over real HTTP against a one-replica node
// (n = 1, f = 0: it commits on its own) with a real SQLite file: listing by
// prefix, key history, long-polled changes, the audit record, and the key
// index rebuilt for a store written before it existed. Every answer goes
// through the verifying client SDK (whose own tests cover tampered answers).

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type Membership, utf8 } from '@vcr/proofs';
import { createListener } from '../apps/replica/src/http/server';
import { MemoryKeyStore } from '../apps/replica/src/keystore';
import { ReplicaNode } from '../apps/replica/src/replica-node';
import { ReplicaStore } from '../apps/replica/src/storage/replica-store';
import { parsePeerMessageJson } from '../apps/replica/src/wire';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
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
    const s = createListener(node).listen(0, '127.0.0.1');
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

const sdk = (membership: Membership, url: string) => RegistryClient.create({ membership, replicas: [url], signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });

describe('registry reads and audit records over HTTP', () => {
  it('lists by prefix, serves verified history and changes, and refuses bad queries', async () => {
    const { membership, url } = await single();
    const client = await sdk(membership, url);
    for (const [k, v] of [['edge/pins/a', '1'], ['edge/pins/b', '2'], ['payments/flags/x', '3'], ['edge/pins/a', '4']] as const) {
      expect((await client.put(k, utf8(v))).result.ok).toBe(true);
    }
    expect((await client.transaction([{ op: 'delete', key: 'edge/pins/b' }, { op: 'put', key: 'edge/pinsX', value: utf8('5') }])).result.ok).toBe(true);
    // A failed CAS changes nothing and shows in no history.
    expect((await client.compareAndSet('edge/pins/a', 1n, utf8('no'))).result).toMatchObject({ ok: false, error: 'revision-mismatch' });

    const listed = await client.list('edge/pins/');
    expect(listed.keys.map((k) => [k.key, new TextDecoder().decode(k.value), k.revision])).toEqual([['edge/pins/a', '4', 2n]]);
    const all = await client.list('');
    expect(all.keys.map((k) => k.key)).toEqual(['edge/pins/a', 'edge/pinsX', 'payments/flags/x']);

    const history = await client.history('edge/pins/a');
    expect(history.map((c) => [c.op, new TextDecoder().decode(c.value), c.revision])).toEqual([['put', '1', 1n], ['put', '4', 2n]]);
    const deleted = await client.history('edge/pins/b');
    expect(deleted.map((c) => [c.op, c.revision])).toEqual([['put', 1n], ['delete', 0n]]);

    // Changes under a prefix, in log order, then a watcher waiting past the end (long poll) is woken by the next commit.
    const stop = new AbortController();
    const watch = client.watch('edge/', { fromLogIndex: 0n, waitMs: 20_000, signal: stop.signal });
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) seen.push(((await watch.next()).value as { key: string }).key);
    expect(seen).toEqual(['edge/pins/a', 'edge/pins/b', 'edge/pins/a', 'edge/pins/b', 'edge/pinsX']);
    const woken = watch.next();
    await client.put('edge/pins/c', utf8('6'));
    expect(((await woken).value as { key: string }).key).toBe('edge/pins/c');
    stop.abort();
    // The raw long poll answers at once when there is something, and says where to continue.
    const raw = (await get(`${url}/v1/changes?prefix=edge/&from=0&limit=2`)).body as { entries: unknown[]; next: string; more: boolean };
    expect(raw.entries.length).toBe(2);
    expect(raw.more).toBe(true);

    for (const bad of ['/v1/keys?limit=0', '/v1/keys?limit=201', `/v1/keys?prefix=${'x'.repeat(257)}`, '/v1/keys?colour=red', '/v1/changes?from=-1', '/v1/changes?waitMs=30001', '/v1/keys/a/history?from=x']) {
      const r = await get(url + bad);
      expect(r.status, bad).toBe(400);
      expect((r.body.error as { code: string }).code).toBe('malformed');
    }
  }, 30_000);

  it('a long poll answers empty only at its deadline, however many commits under other prefixes come first', async () => {
    const { membership, url } = await single();
    const client = await sdk(membership, url);
    await client.put('elsewhere/k', utf8('0'));
    const waitMs = 1_500;
    const sentAt = Date.now();
    const polling = get(`${url}/v1/changes?prefix=quiet/&from=0&waitMs=${waitMs}`);
    // Commits outside the prefix while the poll waits: each wakes the poll, none is an answer to it.
    for (let i = 1; i <= 3; i++) await client.put('elsewhere/k', utf8(String(i)));
    const answer = await polling;
    // A lower bound only: the replica must not answer before its own deadline (the SDK counts early empty answers against it).
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(waitMs - 50);
    expect(answer.body.entries).toEqual([]);
    expect(answer.body.next).toBe('0');
  }, 20_000);

  it('keeps every message it signed in the audit record, each verifiable on its own, and verifies the chain', async () => {
    const { membership, url, node } = await single();
    const client = await sdk(membership, url);
    await client.put('k', utf8('v'));
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
    // (One block so far: its pre-prepare and its commit, so a page of 1 has a next page.)
    const newest = (await get(`${url}/v1/audit/messages?order=desc&limit=1`)).body as { messages: { id: string }[]; next: string };
    const newestIds = newest.messages.map((m) => BigInt(m.id));
    expect([...newestIds].sort((a, b) => (a > b ? -1 : 1))).toEqual(newestIds);
    const older = (await get(`${url}/v1/audit/messages?order=desc&limit=3&before=${newest.next}`)).body as { messages: { id: string }[] };
    expect(older.messages.length).toBeGreaterThan(0);
    expect(older.messages.every((m) => BigInt(m.id) < BigInt(newest.next))).toBe(true);
    expect((await get(`${url}/v1/audit/messages?order=desc&after=1`)).status).toBe(400);

    const first = await verifyChain(membership, url);
    expect(first.ok).toBe(true);
    await client.put('k2', utf8('v'));
    const second = await verifyChain(membership, url, first.ok ? first.head : undefined);
    expect(second.ok && second.head.size > (first.ok ? first.head.size : 0n)).toBe(true);
    // A head that this log does not extend (another root at that size) is caught.
    const forgedHead = first.ok ? { size: first.head.size, root: new Uint8Array(32).fill(7) } : undefined;
    const forked = await verifyChain(membership, url, forgedHead);
    expect(forked.ok).toBe(false);
  }, 30_000);

  it('rebuilds the key index of a store written before the index existed', async () => {
    const { membership, url, path, halt, boot } = await single();
    const client = await sdk(membership, url);
    await client.put('old/a', utf8('1'));
    await client.put('old/a', utf8('2'));
    halt();
    const db = new Database(path);
    db.exec("DELETE FROM key_history; DELETE FROM live_keys; DELETE FROM meta WHERE key = 'keyIndexHeight'; UPDATE meta SET value = '1' WHERE key = 'schema';");
    db.close();
    const again = await boot();
    const history = await (await sdk(membership, again)).history('old/a');
    expect(history.map((c) => c.revision)).toEqual([1n, 2n]);
  }, 30_000);
});
