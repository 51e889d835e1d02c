// The production replica (docs/runbook.md "Production install"): the
// compiled bundle (apps/replica/scripts/build.mjs) installed the way the
// Dockerfile and the systemd unit do it, outside the monorepo: the root
// manifest, the lockfile and the workspace manifests, then
// `npm ci --omit=dev -w @vcr/replica` from the npm registry. No dev
// dependency (tsx, typescript, esbuild) is installed and no TypeScript
// source is copied; four replicas run from that install with plain `node`,
// and the SDK gets a certified, verified read from them.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { nodeFetch } from '@vcr/client-sdk/node';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { loadGenesis } from '../apps/replica/src/genesis';
import { prepareLocalCluster, waitHealthy } from '../ops/local-cluster';
import { repoRoot } from './support/run-script';

const dir = mkdtempSync(join(tmpdir(), 'vcr-production-'));
const install = join(dir, 'opt-vcr');
const processes: ChildProcess[] = [];
const logs: string[] = [];

/** The workspace folders the root manifest names (packages/*, apps/*): npm ci checks the lockfile against their manifests. */
function workspaceFolders(): string[] {
  const globs = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return globs.flatMap((glob) => {
    const parent = glob.replace(/\/\*$/, '');
    return readdirSync(join(repoRoot, parent)).filter((name) => existsSync(join(repoRoot, parent, name, 'package.json'))).map((name) => `${parent}/${name}`);
  });
}

/** Environment for child processes without the test runner's loaders (no tsx, no vitest hooks). */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

beforeAll(() => {
  const built = spawnSync(process.execPath, ['apps/replica/scripts/build.mjs'], { cwd: repoRoot, encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  mkdirSync(install, { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(install, 'package.json'));
  cpSync(join(repoRoot, 'package-lock.json'), join(install, 'package-lock.json'));
  for (const folder of workspaceFolders()) {
    mkdirSync(join(install, folder), { recursive: true });
    cpSync(join(repoRoot, folder, 'package.json'), join(install, folder, 'package.json'));
  }
  cpSync(join(repoRoot, 'apps/replica/dist'), join(install, 'apps/replica/dist'), { recursive: true });
  cpSync(join(repoRoot, 'apps/replica/openapi.yaml'), join(install, 'apps/replica/openapi.yaml'));
  const ci = spawnSync('npm', ['ci', '--omit=dev', '-w', '@vcr/replica', '--no-audit', '--no-fund'], { cwd: install, encoding: 'utf8', env: plainEnv({ npm_config_update_notifier: 'false' }), timeout: 900_000 });
  expect(ci.status, `${ci.stdout}\n${ci.stderr}`).toBe(0);
}, 1_000_000);

afterAll(() => {
  for (const p of processes) p.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('production install of the replica', () => {
  it('has the runtime dependencies and no development tools or TypeScript sources', () => {
    const modules = join(install, 'node_modules');
    for (const name of ['express', 'better-sqlite3', 'ws', 'zod', 'pino', 'prom-client', '@noble/ed25519']) expect(existsSync(join(modules, name, 'package.json')), name).toBe(true);
    for (const name of ['tsx', 'typescript', 'esbuild', 'vitest', 'next', 'react', 'playwright-core']) expect(existsSync(join(modules, name)), name).toBe(false);
    expect(existsSync(join(install, 'apps/replica/src'))).toBe(false);
    expect(existsSync(join(install, 'packages/proofs/src'))).toBe(false);
    // The bundle imports npm packages and Node built-ins only: the workspace code is compiled in.
    const bundle = readFileSync(join(install, 'apps/replica/dist/replica.mjs'), 'utf8');
    expect(bundle).not.toMatch(/from "@vcr\//);
    expect(bundle).not.toMatch(/from "[^"]+\.ts"/);
  });

  it('four replicas run from it with plain node, and serve a certified read the SDK verifies', async () => {
    const basePort = 45_000 + Math.floor(Math.random() * 1_000) * 4;
    const layout = prepareLocalCluster({ dataDir: join(dir, 'data'), basePort, fastKdf: true, rootWrite: 'open' });
    for (const r of layout.replicas) {
      const child = spawn(process.execPath, [join(install, 'apps/replica/dist/replica.mjs'), '--config', r.configFile], {
        // Run from the install, not the repository: nothing may resolve into the monorepo.
        cwd: install,
        env: plainEnv({ VCR_KEY_PASSPHRASE_FILE: layout.passphraseFile }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (b: Buffer) => logs.push(`${r.id} ${b.toString()}`));
      child.stderr?.on('data', (b: Buffer) => logs.push(`${r.id} ERR ${b.toString()}`));
      processes.push(child);
    }
    try {
      await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
    } catch (error) {
      throw new Error(`${String(error)}\n${logs.join('')}`);
    }
    const client = await RegistryClient.create({
      membership: loadGenesis(layout.genesisFile),
      replicas: layout.replicas.map((r) => r.url),
      signer: createNodeSigner(randomBytes(32)),
      backend: nodeBackend,
      fetch: nodeFetch(),
    });
    const written = await client.put('prod/greeting', 'hello from the production install');
    expect(written.result.ok).toBe(true);
    const read = await client.get('prod/greeting');
    expect(new TextDecoder().decode(read.entry?.value)).toBe('hello from the production install');
    expect(read.height).toBeGreaterThanOrEqual(written.height);
    // The compiled replica serves the OpenAPI document and Prometheus metrics like the source one.
    expect((await fetch(`${layout.replicas[0]?.url}/openapi.yaml`)).status).toBe(200);
    expect(await (await fetch(`${layout.replicas[0]?.url}/metrics`)).text()).toMatch(/^# HELP vcr_committed_height /m);
    expect(logs.join('')).toMatch(/"level":"info"[^\n]*"event":"listening"/);
  }, 120_000);
});
