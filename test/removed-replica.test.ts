// Issue 23 on real processes: a replica is stopped, the others remove it
// (epoch 0 -> 1) and go on writing, and then it starts again. It comes back
// as a member of epoch 0 whose peers no longer talk to it (their links are
// of epoch 1, where it has no seat). It must learn of its removal from the
// certified blocks the members serve to anyone (GET /v1/peer/blocks, as a
// mirror fetches), verify the epoch link into epoch 1 from its own chain
// (GET /v1/epochs), say so in its log, /healthz, /readyz and
// vcr_replica_removed, sign nothing in the epoch that removed it or after,
// and then (onRemoval 'mirror', the default) keep serving verified reads, or
// (onRemoval 'exit') stop with status 0.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { clientRequestToJson, type Membership, parseEpochLinkJson, signClientRequest, verifyEpochChain } from '@vcr/proofs';
import { encodeOp, type MembershipChange, signMembershipApproval } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { type LocalClusterLayout, openOrgAdminKey, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';

const basePort = 31_000 + Math.floor(Math.random() * 1_500) * 5;
let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
let genesis: Membership;
const logs = new Map<string, string[]>();

function start(id: string): RunningReplica {
  logs.set(id, []);
  const r = spawnReplica(layout, id, (line) => {
    const list = logs.get(id) ?? [];
    if (list.length < 20_000) list.push(line);
    logs.set(id, list);
  });
  running = [...running.filter((x) => x.id !== id), r];
  return r;
}

async function stop(id: string): Promise<number | null> {
  const r = running.find((x) => x.id === id);
  if (r === undefined) return null;
  running = running.filter((x) => x !== r);
  if (r.process.exitCode !== null) return r.process.exitCode;
  const exited = new Promise<number | null>((resolve) => r.process.once('exit', (code) => resolve(code)));
  r.process.kill('SIGTERM');
  return exited;
}

const urlOf = (id: string) => (layout.replicas.find((r) => r.id === id) as { url: string }).url;
const client = (urls: string[]) => RegistryClient.create({ membership: genesis, replicas: urls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const events = (id: string, event: string) => (logs.get(id) ?? []).filter((l) => l.includes(`"event":"${event}"`));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${[...logs].map(([id, lines]) => `${id}: ${lines.slice(-6).join('\n  ')}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface JournalJson {
  index: string;
  kind: string;
  epoch: string;
}
async function journal(id: string): Promise<JournalJson[]> {
  const all: JournalJson[] = [];
  for (let from = 0; ; ) {
    const page = (await getJson(`${urlOf(id)}/v1/audit/signatures?from=${from}&limit=500`)).body.entries as JournalJson[];
    all.push(...page);
    if (page.length < 500) return all;
    from += page.length;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-removed-'));
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-removed' });
  for (const r of layout.replicas) start(r.id);
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  genesis = loadGenesis(layout.genesisFile);
}, 90_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('a replica removed while it was stopped (issue 23)', () => {
  it('learns of its removal when it starts, reports it in its log, /healthz, /readyz and vcr_replica_removed, signs nothing after it, and keeps serving verified reads', async () => {
    const writer = await client(['r1', 'r2', 'r3'].map(urlOf));
    expect((await writer.put('removed/before', 'zero')).result.ok).toBe(true);
    expect(await stop('r4')).toBe(0);

    // Removed by org1..org3's admins (the local cluster's threshold is 3); the three others go on (n = 3, quorum 2).
    const change: MembershipChange = { epoch: 0n, actions: [{ action: 'remove-replica', id: 'r4' }] };
    const approvals = [1, 2, 3].map((org) => ({ organization: `org${org}`, signature: signMembershipApproval(openOrgAdminKey(layout, org), genesis.chainId, change) }));
    expect((await writer.submit({ op: 'membership', change, approvals })).result.ok).toBe(true);
    for (const id of ['r1', 'r2', 'r3']) await until(`${id} in epoch 1`, async () => (await getJson(`${urlOf(id)}/healthz`)).body.epoch === 1);
    const after = await writer.put('removed/after', 'one');
    expect(after.certificate.header.epoch).toBe(1n);

    start('r4');
    await waitHealthy(urlOf('r4'), 60_000).catch(() => undefined);
    await until('r4 reports its removal', async () => (await getJson(`${urlOf('r4')}/healthz`)).body.removed === 1);

    const health = await getJson(`${urlOf('r4')}/healthz`);
    expect(health.body).toMatchObject({ replicaId: 'r4', removed: 1, removedAtEpoch: '1', epoch: 1, member: 0, mode: 'replica' });
    const ready = await getJson(`${urlOf('r4')}/readyz`);
    expect(ready).toMatchObject({ status: 503, body: { ready: false, reason: 'removed', removedAtEpoch: '1', checks: { member: { ok: false } } } });
    expect(await getJson(`${urlOf('r1')}/readyz`)).toMatchObject({ status: 200, body: { ready: true } });
    const metrics = await (await fetch(`${urlOf('r4')}/metrics`)).text();
    expect(metrics).toContain('vcr_replica_removed{replica="r4"} 1');
    expect(await (await fetch(`${urlOf('r1')}/metrics`)).text()).toContain('vcr_replica_removed{replica="r1"} 0');
    expect(events('r4', 'removed')).toHaveLength(1);

    // It verified the link into epoch 1 from its own chain (the members serve it to anyone) and serves it on.
    await until('r4 holds the link into epoch 1', async () => ((await getJson(`${urlOf('r4')}/v1/epochs?after=0`)).body.links as unknown[]).length === 1);
    const served = (await getJson(`${urlOf('r4')}/v1/epochs?after=0`)).body.links as unknown[];
    const link = parseEpochLinkJson(served[0]);
    if (!link.ok) throw new Error(link.issues.join('; '));
    const walked = verifyEpochChain(nodeBackend, genesis, [link.value]);
    expect(walked.ok && walked.latest.replicas.map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);

    // Nothing signed in the epoch that removed it, and nothing more at all once it knew.
    const signed = await journal('r4');
    expect(signed.filter((e) => BigInt(e.epoch) >= 1n)).toEqual([]);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await journal('r4')).toHaveLength(signed.length);

    // As a read-only follower (onRemoval 'mirror', the default) it serves verified reads of epoch 1 and takes no writes.
    const viaRemoved = await RegistryClient.create({ membership: genesis, replicas: [urlOf('r4')], epochReplicas: ['r4', 'r1', 'r2', 'r3'].map(urlOf), backend: nodeBackend });
    await until('r4 serving epoch 1 state', async () => (await viaRemoved.get('removed/after')).entry !== undefined);
    const request = signClientRequest(createNodeSigner(randomBytes(32)), { chainId: genesis.chainId, epoch: 1n }, { requestId: BigInt(Date.now()) * 1000n, payload: encodeOp({ op: 'put', key: 'removed/via-r4', value: new TextEncoder().encode('x') }) });
    const refused = await fetch(`${urlOf('r4')}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(clientRequestToJson(request)) });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('not-a-member');
  }, 240_000);

  it("with onRemoval 'exit' it stops with status 0 at its next start, saying why, and has still signed nothing", async () => {
    const before = await journal('r4');
    expect(await stop('r4')).toBe(0);
    const configFile = (layout.replicas.find((r) => r.id === 'r4') as { configFile: string }).configFile;
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), onRemoval: 'exit' }, null, 2));
    const r4 = start('r4');
    const code = await new Promise<number | null>((resolve) => r4.process.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(events('r4', 'removed')).toHaveLength(1);
    expect(events('r4', 'exiting').join('\n')).toContain('"reason":"removed"');

    // Its journal, read back from its store by a mirror-mode start, is unchanged.
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), onRemoval: 'mirror' }, null, 2));
    start('r4');
    await until('r4 up again', async () => (await getJson(`${urlOf('r4')}/healthz`)).body.removed === 1, 60_000);
    expect(await journal('r4')).toHaveLength(before.length);
  }, 120_000);
});
