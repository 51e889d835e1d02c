// The client SDK against a real one-replica node over real HTTP (n = 1,
// f = 0, real SQLite), and through a tampering HTTP proxy (a real node:http
// server) that rewrites one field of the replica's answers: every operation
// verifies against the honest node, and every lie of the proxy is caught with
// failover to the honest URL.

import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Membership } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient, ReplicasFailedError, type VerifiedChange } from '@vcr/client-sdk';
import { FileStorage } from '@vcr/client-sdk/node';
import { createServer } from '../apps/replica/src/http/server';
import { MemoryKeyStore } from '../apps/replica/src/keystore';
import { ReplicaNode } from '../apps/replica/src/replica-node';
import { ReplicaStore } from '../apps/replica/src/storage/replica-store';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  cleanups.push(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function single() {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-sdk-'));
  const key = new MemoryKeyStore().generate('replica');
  const membership: Membership = {
    chainId: 'vcr-sdk',
    epoch: 0n,
    f: 0,
    replicas: [{ id: 'r1', organization: 'org1', publicKey: key.publicKey, address: 'http://127.0.0.1:1' }],
    governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key.publicKey }] },
  };
  const node = new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(join(dir, 'replica.sqlite')), tickMs: 5 });
  const server = createServer(node).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  node.start();
  cleanups.push(() => {
    node.stop();
    server.close();
    node.store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { membership, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dir };
}

/** A real HTTP proxy in front of `target` that passes `rewrite` every JSON answer of a path matching `match`. */
async function tamperingProxy(target: string, match: RegExp, rewrite: (body: Record<string, unknown>) => unknown): Promise<{ url: string; lies: () => number }> {
  let lies = 0;
  const server = createHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const init: RequestInit = { method: req.method ?? 'GET', headers: { 'content-type': 'application/json' } };
    if (chunks.length > 0) init.body = Buffer.concat(chunks);
    const upstream = await fetch(target + (req.url ?? '/'), init);
    let text = await upstream.text();
    if (upstream.ok && match.test(req.url ?? '')) {
      lies++;
      text = JSON.stringify(rewrite(JSON.parse(text) as Record<string, unknown>));
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(text);
  });
  return { url: await listen(server), lies: () => lies };
}

const sdk = (membership: Membership, replicas: string[], extra: Partial<Parameters<typeof RegistryClient.create>[0]> = {}) =>
  RegistryClient.create({ membership, replicas, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, ...extra });

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));

describe('client SDK over real HTTP', () => {
  it('writes with verified receipts; reads, lists, history and watch verify; linearizable reads', async () => {
    const { membership, url, dir } = await single();
    const client = await sdk(membership, [url], { storage: new FileStorage(join(dir, 'trust.json')) });
    expect((await client.put('edge/pins/a', '1')).result).toEqual({ ok: true, revisions: [1n] });
    expect((await client.put('edge/pins/b', '2')).result.ok).toBe(true);
    expect((await client.compareAndSet('edge/pins/a', 9n, 'no')).result).toMatchObject({ ok: false, error: 'revision-mismatch' });
    expect((await client.compareAndSet('edge/pins/a', 1n, '3')).result).toEqual({ ok: true, revisions: [2n] });
    expect((await client.transaction([{ op: 'delete', key: 'edge/pins/b' }, { op: 'put', key: 'edge/x', value: new TextEncoder().encode('4') }])).result).toEqual({ ok: true, revisions: [0n, 1n] });
    expect((await client.delete('edge/x')).result).toEqual({ ok: true, revisions: [0n] });

    const a = await client.get('edge/pins/a');
    expect([text(a.entry?.value), a.entry?.revision, a.stale]).toEqual(['3', 2n, false]);
    expect((await client.get('edge/pins/b')).entry).toBeUndefined();
    expect((await client.get('never/written')).entry).toBeUndefined();
    const lin = await client.get('edge/pins/a', { linearizable: true });
    expect(lin.height).toBeGreaterThan(a.height);

    const listed = await client.list('edge/');
    expect(listed.keys.map((k) => [k.key, text(k.value), k.revision])).toEqual([['edge/pins/a', '3', 2n]]);
    const history = await client.history('edge/pins/a');
    expect(history.map((c) => [c.op, text(c.value), c.revision])).toEqual([['put', '1', 1n], ['put', '3', 2n]]);
    expect((await client.history('edge/pins/b')).map((c) => c.op)).toEqual(['put', 'delete']);

    // Watch: the backlog in log order, then a change written after the watch started.
    const controller = new AbortController();
    const seen: VerifiedChange[] = [];
    const watching = (async () => {
      for await (const change of client.watch('edge/', { signal: controller.signal, waitMs: 5_000 })) {
        seen.push(change);
        if (change.key === 'edge/late') controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await client.put('edge/late', 'after');
    await watching;
    expect(seen.map((c) => c.key)).toEqual(['edge/pins/a', 'edge/pins/b', 'edge/pins/a', 'edge/pins/b', 'edge/x', 'edge/x', 'edge/late']);
    const indices = seen.map((c) => c.logIndex);
    expect([...indices].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(indices);

    // The trust state survives a restart: the same head, and request ids keep growing.
    const restarted = await sdk(membership, [url], { storage: new FileStorage(join(dir, 'trust.json')) });
    expect(restarted.trustedHead?.height).toBe(client.trustedHead?.height);
  }, 60_000);

  it('catches every lie of a tampering proxy and fails over to the honest replica', async () => {
    const { membership, url } = await single();
    const writer = await sdk(membership, [url]);
    await writer.put('k', 'honest');
    await writer.put('list/a', '1');
    const lies: [string, RegExp, (b: Record<string, unknown>) => unknown][] = [
      ['changed value', /^\/v1\/keys\/k$/, (b) => ({ ...b, entry: { ...(b.entry as object), value: '6c696573' } })],
      ['changed revision', /^\/v1\/keys\/k$/, (b) => ({ ...b, entry: { ...(b.entry as object), revision: '9' } })],
      ['absent claim', /^\/v1\/keys\/k$/, (b) => ({ ...b, entry: null })],
      ['changed state root', /^\/v1\/keys\/k$/, (b) => ({ ...b, certificate: { ...(b.certificate as object), header: { ...((b.certificate as Record<string, unknown>).header as object), stateRoot: '11'.repeat(32) } } })],
      ['no signatures', /^\/v1\/keys\/k$/, (b) => ({ ...b, certificate: { ...(b.certificate as object), signatures: [] } })],
      ['malformed JSON shape', /^\/v1\/keys\/k$/, () => ({ nothing: true })],
    ];
    for (const [what, match, rewrite] of lies) {
      const proxy = await tamperingProxy(url, match, rewrite);
      const client = await sdk(membership, [proxy.url, url]);
      const read = await client.get('k');
      expect([text(read.entry?.value), read.replica], what).toEqual(['honest', url]);
      expect(proxy.lies(), what).toBeGreaterThan(0);
      const alone = await sdk(membership, [proxy.url]);
      await expect(alone.get('k'), what).rejects.toBeInstanceOf(ReplicasFailedError);
    }
    // A forged listing entry, a changed receipt result, a changed history entry.
    const listProxy = await tamperingProxy(url, /^\/v1\/keys\?/, (b) => ({ ...b, keys: (b.keys as Record<string, unknown>[]).map((k) => ({ ...k, value: '99' })) }));
    const lister = await sdk(membership, [listProxy.url, url]);
    expect((await lister.list('list/')).keys.map((k) => text(k.value))).toEqual(['1']);
    const receiptProxy = await tamperingProxy(url, /^\/v1\/requests$/, (b) => ({ ...b, logIndex: '0' }));
    const committer = await sdk(membership, [receiptProxy.url, url]);
    const receipt = await committer.put('k2', 'v');
    expect([receipt.result.ok, receipt.replica]).toEqual([true, url]);
    const historyProxy = await tamperingProxy(url, /\/history/, (b) => ({ ...b, entries: (b.entries as Record<string, unknown>[]).map((e) => ({ ...e, revision: '5' })) }));
    const historian = await sdk(membership, [historyProxy.url, url]);
    expect((await historian.history('k')).map((c) => c.revision)).toEqual([1n]);
  }, 60_000);
});
