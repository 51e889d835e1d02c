// `vcr watch` (issue 19 item 5) against a real 4-replica cluster, the compiled
// CLI as its own process: it starts from now by default (an earlier change is not
// replayed), `--from <log index>` replays from that index, and
// `--from-revision <r>` from the change that made revision r of one key.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { loadGenesis } from '../apps/replica/src/genesis';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { buildCliOnce } from './support/cli-bin';
import { repoRoot } from './support/run-script';

const basePort = 21_000 + Math.floor(Math.random() * 1_000) * 4;
let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
let writer: RegistryClient;
const children: ChildProcess[] = [];
let bin: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-cli-watch-'));
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, chainId: 'vcr-cli-watch', rootWrite: 'open' });
  running = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  writer = await RegistryClient.create({ membership: loadGenesis(layout.genesisFile), replicas: layout.replicas.map((r) => r.url), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  expect((await writer.put('w/k', 'first')).result.ok).toBe(true);
  expect((await writer.put('w/k', 'second')).result.ok).toBe(true);
  bin = await buildCliOnce();
}, 90_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `cli watch ...`; `output()` is what it printed so far. */
function watch(args: string[]): { output: () => string; started: Promise<void> } {
  const child = spawn(process.execPath, [bin, 'watch', ...args], { cwd: repoRoot, env: { ...process.env, VCR_DATA_DIR: dir, VCR_BASE_PORT: String(basePort) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const started = new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('watching')) {
        clearInterval(t);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`cli watch exited: ${out}`));
      }
    }, 20);
  });
  return { output: () => out, started };
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('cli watch', () => {
  it('starts from now by default: earlier changes are not replayed, new ones are printed', async () => {
    const w = watch(['w/']);
    await w.started;
    expect(w.output()).toMatch(/from log index \d+ \(now: height \d+\)/);
    expect((await writer.put('w/k', 'third')).result.ok).toBe(true);
    await until('the new change', () => w.output().includes('revision 3'));
    expect(w.output()).not.toMatch(/revision 1\b/);
    expect(w.output()).not.toMatch(/revision 2\b/);
  }, 60_000);

  it('--from 0 replays from the beginning of the log', async () => {
    const w = watch(['w/', '--from', '0']);
    await w.started;
    await until('the replayed changes', () => /revision 1\b/.test(w.output()) && /revision 2\b/.test(w.output()));
  }, 60_000);

  it('--from-revision replays one key from the change that made that revision', async () => {
    const w = watch(['w/k', '--from-revision', '2']);
    await w.started;
    await until('revision 2 and after', () => /revision 2\b/.test(w.output()) && /revision 3\b/.test(w.output()));
    expect(w.output()).not.toMatch(/revision 1\b/);
  }, 60_000);
});
