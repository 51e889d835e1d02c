// Local views (issue 19; docs/client-sdk.md "Local views", docs/merkle-map.md
// section 8) against four real replica processes: a view loads complete,
// follows verified changes, refuses a replica (a real node:http proxy in
// front of r1) that leaves a key out of the load, or skips or reorders a
// change, and fails over to an honest one; when every replica is stopped it
// serves flags STALE and fails pins closed, and recovers when they return.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToBase64, type Membership } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { type Attempt, RegistryClient, type RegistryView, ReplicasFailedError, type ViewEvent } from '@vcr/client-sdk';
import { encodeTypedValue, type FlagValue } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';

const PREFIX = 'app/';
const basePort = 23_000 + Math.floor(Math.random() * 1_000) * 4;
let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
let membership: Membership;
let urls: string[];
let writer: RegistryClient;
const servers: Server[] = [];
const views: RegistryView[] = [];

const flag = (on: boolean): FlagValue => ({
  type: 'flag',
  variants: { on: true, off: false },
  defaultVariant: on ? 'on' : 'off',
  rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }],
});
const pinDigest = new Uint8Array(32).fill(7);
const pins = () => encodeTypedValue({ type: 'pins', pins: [bytesToBase64(pinDigest)], backupPins: [bytesToBase64(new Uint8Array(32).fill(8))], expiresAtMs: Date.now() + 86_400_000 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-views-'));
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-views' });
  running = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  membership = loadGenesis(layout.genesisFile);
  urls = layout.replicas.map((r) => r.url);
  writer = await client(urls);
  const seeded = await writer.transaction([
    { op: 'put', key: 'app/flags/checkout', value: encodeTypedValue(flag(false)) },
    { op: 'put', key: 'app/flags/search', value: encodeTypedValue(flag(true)) },
    { op: 'put', key: 'app/pins/api', value: pins() },
    { op: 'put', key: 'app/endpoints/eu', value: encodeTypedValue({ type: 'endpoint', url: 'https://eu.example.internal', region: 'eu', weight: 1 }) },
    { op: 'put', key: 'other/x', value: new TextEncoder().encode('outside the prefix') },
  ]);
  expect(seeded.result.ok).toBe(true);
}, 90_000);

afterAll(() => {
  for (const v of views) v.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function client(replicas: string[], extra: Partial<Parameters<typeof RegistryClient.create>[0]> = {}): Promise<RegistryClient> {
  return RegistryClient.create({ membership, replicas, epochReplicas: urls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, readTimeoutMs: 2_000, ...extra });
}

async function openView(replicas: string[], options: Parameters<RegistryClient['view']>[1] = {}): Promise<RegistryView> {
  const view = await (await client(replicas)).view(PREFIX, { waitMs: 1_000, ...options });
  views.push(view);
  return view;
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Body = Record<string, unknown>;

/** A real proxy in front of `target` that rewrites the JSON answers of one route and passes everything else through. */
async function liar(target: string, route: string, rewrite: (body: Body) => Body): Promise<{ url: string; lies: () => number }> {
  let lies = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '/';
      const upstream = await fetch(target + path);
      let text = await upstream.text();
      if (upstream.ok && path.startsWith(route)) {
        const before = text;
        text = JSON.stringify(rewrite(JSON.parse(text) as Body));
        if (text !== before) lies++;
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(text);
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lies: () => lies };
}

const entriesOf = (b: Body) => b.entries as Body[];

describe('a local view of a prefix', () => {
  it('loads every key under the prefix, evaluates in memory with provenance, and follows verified changes', async () => {
    const view = await openView(urls);
    expect(view.keys()).toEqual(['app/endpoints/eu', 'app/flags/checkout', 'app/flags/search', 'app/pins/api']);
    const before = view.evaluateFlag('app/flags/checkout', { plan: 'free' });
    expect(before).toMatchObject({ value: false, variant: 'off', source: 'view', stale: false });
    expect(before.height).toBe(view.height);
    expect(view.evaluateFlag('app/flags/checkout', { plan: 'internal' }).reason.kind).toBe('rule');
    expect(view.checkPin('app/pins/api', pinDigest).ok).toBe(true);
    expect(view.getEndpoint('app/endpoints/eu').endpoint.region).toBe('eu');
    const events: ViewEvent[] = [];
    view.onEvent((e) => events.push(e));
    await writer.put('app/flags/checkout', encodeTypedValue(flag(true)));
    await writer.put('app/flags/new', encodeTypedValue(flag(true)));
    await writer.delete('app/flags/search');
    await until('the three changes', () => view.keys().includes('app/flags/new') && !view.keys().includes('app/flags/search'));
    expect(view.evaluateFlag('app/flags/checkout', { plan: 'free' }).value).toBe(true);
    expect(events.flatMap((e) => (e.type === 'changed' ? e.keys : []))).toEqual(expect.arrayContaining(['app/flags/checkout', 'app/flags/new', 'app/flags/search']));
    expect(() => view.evaluateFlag('app/flags/search', {})).toThrow(/absent/);
    expect(() => view.evaluateFlag('other/x', {})).toThrow(/not under the view's prefix/);
  }, 60_000);

  it('the view routes refuse bad input with a machine-readable error and a prefix deeper than the index with not-indexed', async () => {
    const r1 = urls[0] as string;
    const code = async (path: string) => {
      const res = await fetch(r1 + path);
      return { status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code };
    };
    expect(await code('/v1/views/keys?prefix=a/b/c/d/e/')).toEqual({ status: 400, code: 'not-indexed' });
    expect(await code('/v1/views/changes?prefix=a/b/c/d/e/&from=0')).toEqual({ status: 400, code: 'not-indexed' });
    expect(await code('/v1/views/keys?prefix=no-slash')).toEqual({ status: 400, code: 'malformed' });
    expect(await code('/v1/views/changes?prefix=app/')).toEqual({ status: 400, code: 'malformed' });
    expect(await code('/v1/views/keys?prefix=app/&limit=501')).toEqual({ status: 400, code: 'malformed' });
    await expect((await client(urls)).view('a/b/c/d/e/')).rejects.toThrow(/not-indexed/);
  }, 30_000);

  it('refuses a replica that leaves a key out of the load, and loads complete from an honest one', async () => {
    const dropOne = (b: Body) => ({ ...b, keys: (b.keys as Body[]).filter((k) => k.key !== 'app/pins/api') });
    const proxy = await liar(urls[0] as string, '/v1/views/keys', dropOne);
    const alone = await (await client([proxy.url])).view(PREFIX).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(alone).toBeInstanceOf(ReplicasFailedError);
    expect(String((alone as Error).message)).toMatch(/keys were left out/);
    const failures: Attempt[] = [];
    const view = await openView([proxy.url, urls[1] as string], { onFailure: (a) => failures.push(a) });
    expect(view.keys()).toContain('app/pins/api');
    expect(failures[0]).toMatchObject({ replica: proxy.url, code: 'verification-failed' });
    expect(proxy.lies()).toBeGreaterThan(0);
  }, 60_000);

  it('refuses a replica that skips a change, and takes the change from an honest one', async () => {
    const skipFirst = (b: Body) => ({ ...b, entries: entriesOf(b).slice(1) });
    const proxy = await liar(urls[0] as string, '/v1/views/changes', skipFirst);
    const failures: Attempt[] = [];
    const lonely: Attempt[] = [];
    const view = await openView([proxy.url, urls[1] as string], { onFailure: (a) => failures.push(a) });
    const alone = await openView([proxy.url], { onFailure: (a) => lonely.push(a) });
    const height = alone.height;
    await writer.put('app/flags/skipped', encodeTypedValue(flag(true)));
    await until('the change through the honest replica', () => view.keys().includes('app/flags/skipped'));
    await until('the liar caught', () => lonely.length > 0);
    expect(lonely[0]?.detail).toMatch(/changes were left out/);
    expect(failures.some((a) => a.replica === proxy.url && /changes were left out/.test(a.detail))).toBe(true);
    // The view that knows only the liar never applies a partial change set.
    expect(alone.keys()).not.toContain('app/flags/skipped');
    expect(alone.height).toBe(height);
  }, 60_000);

  it('refuses a replica that reorders the changes of a page', async () => {
    const reorder = (b: Body) => ({ ...b, entries: [...entriesOf(b)].reverse() });
    const proxy = await liar(urls[0] as string, '/v1/views/changes', reorder);
    const lonely: Attempt[] = [];
    const alone = await openView([proxy.url], { onFailure: (a) => lonely.push(a) });
    const view = await openView([proxy.url, urls[2] as string]);
    await writer.transaction([
      { op: 'put', key: 'app/flags/r1', value: encodeTypedValue(flag(true)) },
      { op: 'put', key: 'app/flags/r2', value: encodeTypedValue(flag(false)) },
    ]);
    await until('the transaction through the honest replica', () => view.keys().includes('app/flags/r2'));
    await until('the liar caught', () => lonely.length > 0);
    expect(lonely[0]?.detail).toMatch(/order/);
    expect(alone.keys()).not.toContain('app/flags/r1');
  }, 60_000);

  it('leaves a replica that keeps serving an old (validly certified) head for one whose head is fresh', async () => {
    let captured: Body | undefined;
    const proxy = await liar(urls[0] as string, '/v1/views/changes', (b) => (captured ??= b));
    const failures: Attempt[] = [];
    const view = await openView([proxy.url, urls[3] as string], { maxStalenessMs: 3_000, onFailure: (a) => failures.push(a) });
    await until('an old head refused as stale', () => failures.some((a) => a.replica === proxy.url && a.code === 'stale'), 20_000);
    await until('a fresh head from the honest replica', () => !view.stale && view.ageMs < 3_000, 20_000);
  }, 60_000);

  it('serves STALE flags and fails pins closed while every replica is stopped, and recovers when they return', async () => {
    const view = await openView(urls, { maxStalenessMs: 4_000 });
    const events: ViewEvent[] = [];
    view.onEvent((e) => events.push(e));
    for (const r of running) r.process.kill('SIGKILL');
    await Promise.all(running.map((r) => new Promise((resolve) => (r.process.exitCode !== null ? resolve(null) : r.process.once('exit', resolve)))));
    await until('the stale event', () => events.some((e) => e.type === 'stale'), 30_000);
    const stale = view.evaluateFlag('app/flags/checkout', { plan: 'free' });
    expect(stale).toMatchObject({ stale: true, value: true, source: 'view' });
    await until('the staleness bound to pass', () => view.ageMs > 4_000, 10_000);
    expect(() => view.checkPin('app/pins/api', pinDigest)).toThrow(/stale|bound/);
    running = layout.replicas.map((r) => spawnReplica(layout, r.id));
    await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
    await until('the recovered event', () => events.some((e) => e.type === 'recovered'), 30_000);
    await until('a fresh head', () => !view.stale, 15_000);
    expect(view.evaluateFlag('app/flags/checkout', { plan: 'free' }).stale).toBe(false);
    expect(view.checkPin('app/pins/api', pinDigest).ok).toBe(true);
    await writer.put('app/flags/after-restart', encodeTypedValue(flag(false)));
    await until('a change after the restart', () => view.keys().includes('app/flags/after-restart'), 20_000);
  }, 150_000);
});
