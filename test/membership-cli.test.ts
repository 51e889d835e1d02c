// The operator CLI for membership changes (ops/membership.ts) on real
// processes: a four-replica cluster grows to five through propose, three
// offline approvals and submit; `list` (and `cli epochs`) verify the epoch
// chain from the genesis and show the change with its approvals. A change
// with one approval, and a change file edited after it was approved, are
// refused by the registry and the CLI exits non-zero. A replica that serves
// a link without the new quorum, or a block that is not the certified one,
// gets NOT VERIFIED naming the link and the rule.

import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '@vcr/proofs';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { type LocalClusterLayout, prepareJoiningReplica, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { runScript } from './support/run-script';

// Below the ephemeral port range, away from the other suites' ranges.
const basePort = 11_000 + Math.floor(Math.random() * 1_000) * 6;
const chainId = 'vcr-membership-cli';
let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
const logs = new Map<string, string[]>();

function start(id: string): void {
  const r = spawnReplica(layout, id, (line) => {
    const list = logs.get(id) ?? [];
    if (list.length < 2_000) list.push(line);
    logs.set(id, list);
  });
  running = [...running.filter((x) => x.id !== id), r];
}

const membership = (...args: string[]) => runScript('ops/membership.ts', args);
const urlOf = (id: string) => (layout.replicas.find((r) => r.id === id) as { url: string }).url;
const allUrls = () => layout.replicas.flatMap((r) => ['--replica', r.url]);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const tail = [...logs].map(([id, lines]) => `${id}: ${lines.slice(-6).join('\n  ')}`).join('\n');
      throw new Error(`timed out waiting for ${what}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-membership-cli-'));
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, chainId });
  for (const r of layout.replicas) start(r.id);
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 40_000)));
}, 60_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('ops/membership.ts on a real cluster', () => {
  it('adds a fifth replica with three approvals; refuses one approval and a change edited after approval; list verifies epoch 1', async () => {
    const joining = prepareJoiningReplica(layout, 'r5', basePort + 4, { fastKdf: true });
    layout = joining.layout;
    start('r5');
    const r5Key = bytesToHex(joining.publicKey);

    // keygen: a new key in r5's configured keystore; only the public key comes out.
    const keygen = await runScript('ops/membership.ts', ['keygen', '--config', join(dir, 'r5', 'config.json'), '--label', 'spare'], { VCR_KEY_PASSPHRASE_FILE: layout.passphraseFile });
    expect(keygen.code, keygen.stderr).toBe(0);
    const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
    expect(keygen.stdout).toContain(`public key ${bytesToHex(new EncryptedFileKeyStore(join(dir, 'r5', 'keys'), passphrase).open('spare').publicKey)}`);

    const change = join(dir, 'change.json');
    const proposed = await membership('propose', '--replica', urlOf('r1'), '--add', `r5,org5,${r5Key},${joining.url}`, '--out', change);
    expect(proposed.code, proposed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(change, 'utf8'))).toEqual({ epoch: '0', actions: [{ action: 'add-replica', replica: { id: 'r5', organization: 'org5', publicKey: r5Key, address: joining.url } }] });

    const approvals = await Promise.all(
      [1, 2, 3].map(async (org) => {
        const out = join(dir, `approval-org${org}.json`);
        const approved = await membership('approve', change, '--organization', `org${org}`, '--local-cluster', dir, '--chain', chainId, '--out', out);
        expect(approved.code, approved.stderr).toBe(0);
        // The approver saw the change in human terms, with the whole key, before signing.
        expect(approved.stdout).toContain(`epoch 0`);
        expect(approved.stdout).toContain(`add replica r5: organization org5, key ${r5Key}`);
        return out;
      }),
    );

    // One approval is below the governance threshold of 3.
    const weak = await membership('submit', change, approvals[0] as string, ...allUrls(), '--genesis', layout.genesisFile);
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toContain('REFUSED by the registry: approvals-below-threshold');

    // The same approvals on a change edited afterwards (another address for r5) do not verify.
    const tampered = join(dir, 'change-tampered.json');
    const edited = JSON.parse(readFileSync(change, 'utf8')) as { actions: { replica: { address: string } }[] };
    (edited.actions[0] as { replica: { address: string } }).replica.address = 'http://127.0.0.1:1';
    writeFileSync(tampered, JSON.stringify(edited));
    const forged = await membership('submit', tampered, ...approvals, ...allUrls(), '--genesis', layout.genesisFile);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toContain('REFUSED by the registry: bad-approval');
    expect((await (await fetch(`${urlOf('r1')}/healthz`)).json()).epoch).toBe(0);

    const submitted = await membership('submit', change, ...approvals, ...allUrls(), '--genesis', layout.genesisFile);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout).toContain('ok: the membership change with 3 approvals (org1, org2, org3)');

    // The link needs the new quorum's acceptance too; then the listing verifies it from the genesis.
    await until('the link into epoch 1 at r1', async () => ((await (await fetch(`${urlOf('r1')}/v1/epochs?after=0`)).json()) as { links: unknown[] }).links.length === 1);
    const listed = await membership('list', '--replica', urlOf('r1'), '--genesis', layout.genesisFile);
    expect(listed.code, listed.stderr).toBe(0);
    const epoch1 = listed.stdout.slice(listed.stdout.indexOf('epoch 1  VERIFIED'));
    expect(epoch1).toMatch(/^epoch 1 {2}VERIFIED: 5 replicas, f = 1, quorum 4/);
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) expect(epoch1).toContain(`    ${id}  org${id.slice(1)}  key `);
    expect(epoch1).toContain(`change: add replica r5: organization org5, key ${r5Key.slice(0, 16)}...`);
    expect(epoch1).toContain('approved by org1, org2, org3 (threshold 3 of epoch 0)');
    expect(listed.stdout).toContain('VERIFIED: the epoch chain from the pinned genesis to epoch 1');

    // `npm run cli -- epochs` is the same listing, from the local cluster's layout.
    const cli = await runScript('ops/cli.ts', ['epochs'], { VCR_DATA_DIR: dir, VCR_BASE_PORT: String(basePort) });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('approved by org1, org2, org3');

    // The fifth replica, started before the change, votes from epoch 1 on.
    await until('r5 votes in epoch 1', async () => {
      const h = (await (await fetch(`${joining.url}/healthz`)).json()) as { epoch: number; member: number };
      return h.epoch === 1 && h.member === 1;
    });
  }, 90_000);

  it('list exits non-zero naming the link and the rule when a replica strips the new quorum or serves another block', async () => {
    // A lying front for r1: it edits what r1 serves, per mode.
    let mode: 'strip-new-quorum' | 'other-block' = 'strip-new-quorum';
    const liar = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`${urlOf('r1')}${req.url ?? '/'}`);
        const body = (await upstream.json()) as { links?: { newSignatures: unknown[] }[]; batch?: unknown[] };
        if (mode === 'strip-new-quorum' && body.links) body.links = body.links.map((l) => ({ ...l, newSignatures: l.newSignatures.slice(0, 1) }));
        if (mode === 'other-block' && body.batch) body.batch = body.batch.slice(1);
        res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      })().catch(() => res.writeHead(502).end());
    });
    await new Promise<void>((ok) => liar.listen(basePort + 5, '127.0.0.1', ok));
    try {
      const liarUrl = `http://127.0.0.1:${basePort + 5}`;
      const stripped = await membership('list', '--replica', liarUrl, '--genesis', layout.genesisFile);
      expect(stripped.code).toBe(1);
      expect(stripped.stderr).toContain('NOT VERIFIED: link 0 (epoch 0 -> 1): new-quorum-below-quorum');
      expect(stripped.stdout).not.toContain('VERIFIED');
      mode = 'other-block';
      const otherBlock = await membership('list', '--replica', liarUrl, '--genesis', layout.genesisFile);
      expect(otherBlock.code).toBe(1);
      expect(otherBlock.stderr).toMatch(/NOT VERIFIED: link 0 \(epoch 0 -> 1\), block [0-9]+: batch-hash-mismatch/);
    } finally {
      liar.close();
    }
  }, 30_000);
});
