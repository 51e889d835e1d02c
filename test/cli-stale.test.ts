// The CLI fails closed on stale answers and keeps its trusted head between
// runs (issue 18, item 3). A real 4-replica cluster; the CLI runs as its own
// process against four real node:http proxies, one in front of each replica,
// which can replay old but validly certified answers (what any replica can
// do without a key). A stale answer exits 7 with the reason unless
// --allow-stale (exit 7, stale); an answer below the head a previous run verified is a
// rollback, refused even with --allow-stale.

import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { loadGenesis } from '../apps/replica/src/genesis';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { runScript } from './support/run-script';

const KEY = 'cli/k';
const LATE = 'cli/late';
const DEFAULT_BOUND_MS = 30_000;
const basePort = 23_000 + Math.floor(Math.random() * 1_000) * 4;
const proxyPort = basePort + 5_000;

let dir: string;
let cliDir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
const servers: Server[] = [];
/** Old answers by path (query left out), replayed while `replaying` is on. */
const old = new Map<string, string>();
let replaying = false;
let oldAtMs = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-cli-stale-'));
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, chainId: 'vcr-cli-stale', rootWrite: 'open' }); // its keys are under no namespace
  running = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  const urls = layout.replicas.map((r) => r.url);
  const writer = await RegistryClient.create({ membership: loadGenesis(layout.genesisFile), replicas: urls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  expect((await writer.put(KEY, 'old-value')).result.ok).toBe(true);
  // Old answers from one replica: KEY's value, LATE's absence (it is written next), the listing.
  const read = await writer.get(KEY, { linearizable: true });
  const from = read.replica;
  for (const path of [`/v1/keys/${encodeURIComponent(KEY)}`, `/v1/keys/${encodeURIComponent(LATE)}`]) old.set(path, await (await fetch(from + path)).text());
  oldAtMs = Date.now();
  expect((await writer.put(KEY, 'new-value')).result.ok).toBe(true);
  expect((await writer.put(LATE, 'exists')).result.ok).toBe(true);

  // The CLI's own data dir: the cluster's genesis, and replica URLs that are the proxies.
  cliDir = join(dir, 'cli');
  mkdirSync(cliDir);
  copyFileSync(layout.genesisFile, join(cliDir, 'genesis.json'));
  for (const [i, target] of urls.entries()) {
    const server = createServer((req, res) => {
      const route = (req.url ?? '/').split('?', 1)[0] as string;
      const replay = replaying ? old.get(route) : undefined;
      res.on('error', () => undefined);
      if (replay !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(replay);
        return;
      }
      void fetch(target + (req.url ?? '/')).then(async (up) => {
        res.writeHead(up.status, { 'content-type': 'application/json' });
        res.end(await up.text());
      }, () => res.destroy());
    });
    server.listen(proxyPort + i, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    servers.push(server);
  }
}, 90_000);

afterAll(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runScript('ops/cli.ts', args, { VCR_DATA_DIR: cliDir, VCR_BASE_PORT: String(proxyPort) });

describe('the CLI against replicas replaying old certified answers', () => {
  it('refuses a stale value and a stale proof of absence (exit 7, with the reason) unless --allow-stale', async () => {
    // Past the SDK's default bound (30 s), as in the review (41 s): the CLI's defaults are under test.
    const wait = oldAtMs + DEFAULT_BOUND_MS + 1_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    replaying = true;
    // A CLI with no trust file yet: nothing to roll back from, so only freshness stands between it and the old answers.
    const stale = await cli('get', KEY);
    expect(stale.code).toBe(7); // stale (docs/cli.md, "Exit codes")
    expect(stale.stdout).not.toContain('old-value');
    expect(stale.stderr).toMatch(/STALE: every verified answer was certified too long ago/);
    expect(stale.stderr).toMatch(/stale: certified \d+ ms ago, bound 30000 ms/);
    const absent = await cli('get', LATE);
    expect(absent.code).toBe(7);
    expect(absent.stdout).not.toContain('absent');
    expect(absent.stderr).toMatch(/stale: certified/);

    const allowed = await cli('get', KEY, '--allow-stale');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/cli\/k = old-value[\s\S]*STALE: \d+ ms old/);
    // The bound is the caller's: a looser one makes the same answer fresh enough.
    const loose = await cli('get', KEY, '--max-staleness-ms', '600000');
    expect(loose.code).toBe(0);
    expect(loose.stdout).toContain('cli/k = old-value');
    expect(loose.stdout).not.toContain('STALE');
  }, 90_000);

  it('keeps its trusted head between runs: after a fresh read, the old answer is a rollback even with --allow-stale', async () => {
    replaying = false;
    const fresh = await cli('get', KEY);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('cli/k = new-value');
    replaying = true;
    const rolledBack = await cli('get', KEY, '--allow-stale');
    expect(rolledBack.code).toBe(5); // a rollback is a verification failure
    expect(rolledBack.stdout).not.toContain('old-value');
    expect(rolledBack.stderr).toMatch(/rollback/);
  }, 60_000);
});
