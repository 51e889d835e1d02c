// Read-only mirrors (issue 10, docs/mirror.md) as real processes: four
// replicas, a mirror m1 following r1 and a mirror m2 following m1. m1 catches
// up, serves reads the SDK verifies, follows new writes, refuses writes and
// peer connections; m2 does the same off m1; a proxy that tampers with m1's
// answers is refused by the SDK, which fails over to an honest mirror; and
// bad mirror configs stop the process with a clear error.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, type Membership, utf8 } from '@vcr/proofs';
import { RegistryClient, RegistryError } from '@vcr/client-sdk';
import { signMembershipApproval } from '@vcr/registry';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { loadGenesis } from '../apps/replica/src/genesis';
import { generateReplicaKey, type LocalClusterLayout, openOrgAdminKey, prepareLocalCluster, prepareMirror, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { runScript } from './support/run-script';

type Body = Record<string, unknown>;

const basePort = 26_000 + Math.floor(Math.random() * 700) * 8;
let dir: string;
let layout: LocalClusterLayout;
let membership: Membership;
let replicaUrls: string[];
let m1: string;
let m2: string;
const running: RunningReplica[] = [];
const servers: Server[] = [];
const logs = new Map<string, string[]>();
/** m1's honest answer for `mirror/a` while it was still at its first value: validly certified, and old later on. */
let oldAnswer: string;

/** Mirrors are not members: the newest epoch is learned from f+1 of the replicas themselves. */
const sdk = (replicas: string[], extra: Partial<Parameters<typeof RegistryClient.create>[0]> = {}) =>
  RegistryClient.create({ membership, replicas, epochReplicas: replicaUrls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, readTimeoutMs: 2_000, ...extra });
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));
const keyPath = (key: string) => `/v1/keys/${encodeURIComponent(key)}`;

function start(l: LocalClusterLayout, id: string): void {
  running.push(
    spawnReplica(l, id, (line) => {
      const list = logs.get(id) ?? [];
      if (list.length < 500) list.push(line);
      logs.set(id, list);
    }),
  );
}

/** Reads `key` from `url` alone through the SDK until it verifies with `value`. */
async function untilServes(url: string, key: string, value: string, timeoutMs = 15_000): Promise<void> {
  const reader = await sdk([url]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await reader.get(key).catch(() => undefined);
    if (read !== undefined && text(read.entry?.value) === value) return;
    if (Date.now() > deadline) throw new Error(`${url} never served ${value} for ${key}; its log: ${(logs.get(url === m1 ? 'm1' : 'm2') ?? []).slice(-5).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function health(url: string): Promise<Body> {
  return (await (await fetch(`${url}/healthz`)).json()) as Body;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-mirror-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-mirror' });
  for (const r of layout.replicas) start(layout, r.id);
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  membership = loadGenesis(layout.genesisFile);
  replicaUrls = layout.replicas.map((r) => r.url);
  const writer = await sdk(replicaUrls);
  expect((await writer.put('mirror/a', 'one')).result.ok).toBe(true);
  // The mirrors start after the first write, so m1 catches up by state transfer.
  const first = prepareMirror(layout, 'm1', basePort + 4, [replicaUrls[0] as string]);
  const second = prepareMirror(first.layout, 'm2', basePort + 5, [first.url]);
  m1 = first.url;
  m2 = second.url;
  start(second.layout, 'm1');
  start(second.layout, 'm2');
  await Promise.all([waitHealthy(m1, 30_000), waitHealthy(m2, 30_000)]);
}, 90_000);

afterAll(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('a read-only mirror following r1', () => {
  it('catches up by state transfer and serves reads the SDK verifies against the pinned genesis', async () => {
    await untilServes(m1, 'mirror/a', 'one');
    const read = await (await sdk([m1])).get('mirror/a');
    expect(read.replica).toBe(m1);
    expect(text(read.entry?.value)).toBe('one');
    oldAnswer = await (await fetch(m1 + keyPath('mirror/a'))).text();
    const absent = await (await sdk([m1])).get('mirror/never-written');
    expect(absent.entry).toBeUndefined();
  }, 30_000);

  it('follows new writes', async () => {
    const writer = await sdk(replicaUrls);
    expect((await writer.put('mirror/a', 'two')).result.ok).toBe(true);
    expect((await writer.put('mirror/b', 'bee')).result.ok).toBe(true);
    await untilServes(m1, 'mirror/a', 'two');
    await untilServes(m1, 'mirror/b', 'bee');
  }, 30_000);

  it('refuses writes with read-only-mirror naming its upstream; an SDK with a replica after it writes there', async () => {
    const res = await fetch(`${m1}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(405);
    const body = (await res.json()) as { error: { code: string; message: string; upstream: string[] } };
    expect(body.error.code).toBe('read-only-mirror');
    expect(body.error.upstream).toEqual([replicaUrls[0]]);
    expect(body.error.message).toContain(replicaUrls[0]);

    const alone = await sdk([m1]);
    const refused = await alone.put('mirror/c', 'x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).code).toBe('rejected');
    expect((refused as RegistryError).message).toContain('read-only-mirror');

    const receipt = await (await sdk([m1, replicaUrls[1] as string])).put('mirror/c', 'sea');
    expect(receipt.result.ok).toBe(true);
    expect(receipt.replica).toBe(replicaUrls[1]);
  }, 30_000);

  it('takes no peer connections and reports itself as a mirror with its upstream in /healthz', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${m1}/v1/peer/ws`);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') } });
      req.on('upgrade', () => reject(new Error('the mirror accepted a WebSocket upgrade')));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    const h = await health(m1);
    expect(h.mode).toBe('mirror');
    expect(h.connectedPeers).toEqual([]);
    const mirror = h.mirror as { upstream: { url: string; claimedHeight: string | null }[]; height: string; behindBlocks: string | null; certifiedAgeMs: number | null };
    expect(mirror.upstream.map((u) => u.url)).toEqual([replicaUrls[0]]);
    expect(mirror.upstream[0]?.claimedHeight).toMatch(/^[1-9][0-9]*$/);
    expect(Number(mirror.behindBlocks)).toBeLessThanOrEqual(2);
    expect(mirror.certifiedAgeMs).toBeGreaterThanOrEqual(0);
    expect((await health(replicaUrls[0] as string)).mode).toBe('replica');
    // Nothing was signed: the double-sign guard's journal is empty.
    const journal = (await (await fetch(`${m1}/v1/audit/signatures`)).json()) as { entries: unknown[] };
    expect(journal.entries).toEqual([]);
  });
});

describe('a mirror chained off another mirror', () => {
  it('follows m1 and serves reads the SDK verifies, new writes included', async () => {
    await untilServes(m2, 'mirror/a', 'two');
    await untilServes(m2, 'mirror/c', 'sea');
    const writer = await sdk(replicaUrls);
    expect((await writer.put('mirror/d', 'dee')).result.ok).toBe(true);
    await untilServes(m2, 'mirror/d', 'dee');
    const h = await health(m2);
    // It asks m1, not the replicas: m1 answered with its height.
    const upstream = (h.mirror as { upstream: { url: string; claimedHeight: string | null }[] }).upstream;
    expect(upstream.map((u) => u.url)).toEqual([m1]);
    expect(upstream[0]?.claimedHeight).toMatch(/^[1-9][0-9]*$/);
  }, 30_000);
});

/** A real HTTP proxy in front of `target`, honest except for reads of `key`, whose body it replaces. */
async function lyingProxy(target: string, key: string, lie: (honest: Body) => string): Promise<string> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '/';
      const upstream = await fetch(target + path, { method: req.method ?? 'GET' });
      const honest = await upstream.text();
      // The SDK adds ?proveFrom=N to its reads (a consistency proof with the answer): the lie is chosen by the path alone.
      const body = path.split('?')[0] === keyPath(key) && upstream.ok ? lie(JSON.parse(honest) as Body) : honest;
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(body);
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('a lying mirror', () => {
  it('a tampered value fails verification; the SDK fails over to an honest mirror', async () => {
    const liar = await lyingProxy(m1, 'mirror/a', (honest) => JSON.stringify({ ...honest, entry: { ...(honest.entry as Body), value: bytesToHex(utf8('forged')) } }));
    const refused = await (await sdk([liar])).get('mirror/a').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).code).toBe('verification-failed');
    const read = await (await sdk([liar, m2])).get('mirror/a');
    expect(text(read.entry?.value)).toBe('two');
    expect(read.replica).toBe(m2);
  }, 30_000);

  it('an old answer replayed (validly certified, below the head the client trusts) is a rollback; the SDK fails over', async () => {
    const liar = await lyingProxy(m1, 'mirror/a', () => oldAnswer);
    // Both clients first read another key through the liar, honestly: their trusted head is now current.
    const alone = await sdk([liar]);
    await alone.get('mirror/b');
    const refused = await alone.get('mirror/a').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).code).toBe('rollback');
    const withHonest = await sdk([liar, m2]);
    expect((await withHonest.get('mirror/b')).replica).toBe(liar);
    const read = await withHonest.get('mirror/a');
    expect(read.replica).toBe(m2);
    expect(text(read.entry?.value)).toBe('two');
  }, 30_000);

  it('a stale mirror answer is refused under the caller\'s staleness bound, and allowed when flagged', async () => {
    const strict = await (await sdk([m2])).get('mirror/a', { maxStalenessMs: 0 }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(RegistryError);
    expect((strict as RegistryError).code).toBe('stale');
    const flagged = await (await sdk([m2])).get('mirror/a', { maxStalenessMs: 0, allowStale: true });
    expect(flagged.stale).toBe(true);
  }, 30_000);
});

describe('mirrors across an epoch change', () => {
  it('follow a key rotation into epoch 1 by re-execution and serve its reads to a genesis-pinned client, m2 via m1 alone', async () => {
    // r2's next key is made in its keystore while it runs; org1..org3's admins approve (the local threshold).
    const change = { epoch: 0n, actions: [{ action: 'rotate-key' as const, id: 'r2', publicKey: generateReplicaKey(layout, 'r2', 'replica-epoch-1', { fastKdf: true }) }] };
    const approvals = [1, 2, 3].map((org) => ({ organization: `org${org}`, signature: signMembershipApproval(openOrgAdminKey(layout, org), membership.chainId, change) }));
    const writer = await sdk(replicaUrls);
    expect((await writer.submit({ op: 'membership', change, approvals })).result.ok).toBe(true);
    expect((await writer.put('mirror/epoch1', 'after')).result.ok).toBe(true);
    // Pinned to the genesis: the SDK walks the epoch chain from the mirror's GET /v1/epochs (links the mirror fetched and verified).
    await untilServes(m1, 'mirror/epoch1', 'after', 30_000);
    await untilServes(m2, 'mirror/epoch1', 'after', 30_000);
    for (const url of [m1, m2]) expect((await health(url)).epoch).toBe(1);
    const journal = (await (await fetch(`${m1}/v1/audit/signatures`)).json()) as { entries: unknown[] };
    expect(journal.entries).toEqual([]);
  }, 60_000);
});

describe('mirror config errors stop the process with a clear error', () => {
  function mirrorConfig(name: string, config: Body): string {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port: basePort + 6, dataDir: name, genesisFile: layout.genesisFile, ...config }));
    return file;
  }

  it('a replica id used as a mirror id, and a mirror without upstream', async () => {
    const [member, noUpstream] = await Promise.all([
      runScript('apps/replica/src/main.ts', ['--config', mirrorConfig('member-id', { replicaId: 'r2', mirror: { upstream: [m1] } })]),
      runScript('apps/replica/src/main.ts', ['--config', mirrorConfig('no-upstream', { replicaId: 'm9', mirror: {} })]),
    ]);
    expect(member.code).toBe(1);
    expect(member.stdout).toMatch(/ConfigError: invalid config .*member-id\.json: replicaId: \\"r2\\" is a replica of epoch 0; a mirror needs an id no replica has/);
    expect(noUpstream.code).toBe(1);
    expect(noUpstream.stdout).toMatch(/ConfigError: invalid config .*no-upstream\.json: mirror\.upstream: a mirror needs upstream/);
  }, 30_000);
});
