// The client SDK as a service installs it (issue 20, item 1): the libraries
// are built (npm run build:packages), packed with `npm pack`, and installed
// from the tarballs into a plain Node project in a temporary folder outside
// the monorepo (its other dependencies come from the npm registry). Then:
//   - plain `node` (no TypeScript loader) runs a script that reads a key and
//     evaluates a flag through the OpenFeature provider, verified against 4
//     real replica processes;
//   - tsc type-checks a consumer with moduleResolution NodeNext against the
//     packed .d.ts files;
//   - esbuild bundles the installed SDK for the browser, and headless
//     Chromium verifies a read with it (default @noble backend, no Node).
// test/sdk-browser.test.ts covers the SDK in Chromium through the Next
// console, with a lying replica; this one covers what a bundler makes of the
// published package.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { encodeTypedValue } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { buildLibraries } from '../ops/build/packages';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { CHROMIUM, launchChromium } from './support/chromium';
import { repoRoot } from './support/run-script';

const run = promisify(execFile);
const KEY = 'pkg/notes/greeting';
const FLAG = 'pkg/flags/checkout';
const VALUE = 'read through the packed SDK';
const basePort = 29_000 + Math.floor(Math.random() * 900) * 4; // below the ephemeral range (32768), where npm's own connections take ports

let dir: string;
let project: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
let browser: Browser | undefined;
let server: Server | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  dir = mkdtempSync(join(tmpdir(), 'vcr-sdk-package-'));
  layout = prepareLocalCluster({ dataDir: join(dir, 'cluster'), basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-sdk-package' });
  const logs: string[] = [];
  running = layout.replicas.map((r) => spawnReplica(layout, r.id, (line) => logs.push(`${r.id}: ${line}`)));

  // Build and pack while the replicas start.
  const outDirs = await buildLibraries();
  const tarballs: string[] = [];
  for (const outDir of outDirs) {
    const packed = await run('npm', ['pack', outDir, '--pack-destination', dir, '--json'], { cwd: dir });
    const [info] = JSON.parse(packed.stdout) as { filename: string }[];
    tarballs.push(join(dir, (info as { filename: string }).filename));
  }
  // A plain Node 20 project outside the monorepo: nothing of the repository's node_modules is reachable from it.
  project = join(dir, 'service');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-service', private: true, type: 'module' }, null, 2));
  // @openfeature/server-sdk is the provider's peer dependency: the service installs it, as its README says.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, '@openfeature/server-sdk@^1.23.0'], { cwd: project, timeout: 240_000 });

  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 90_000))).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${logs.slice(-40).join('\n')}`);
  });
  const writer = await RegistryClient.create({ membership: loadGenesis(layout.genesisFile), replicas: layout.replicas.map((r) => r.url), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  expect((await writer.put(KEY, VALUE)).result.ok).toBe(true);
  const flag = encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off', rules: [{ id: 'pro', when: [{ attribute: 'plan', op: 'equals', value: 'pro' }], serve: { variant: 'on' } }] });
  expect((await writer.put(FLAG, flag)).result.ok).toBe(true);
  copyFileSync(layout.genesisFile, join(project, 'genesis.json'));
}, 420_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  for (const r of running) r.process.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed client SDK outside the monorepo', () => {
  it('installs from npm pack tarballs and verifies a read and a flag under plain node, with no TypeScript loader', async () => {
    writeFileSync(
      join(project, 'read.mjs'),
      `import { readFileSync } from 'node:fs';
import { parseMembershipJson } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { FileStorage } from '@vcr/client-sdk/node';
import { RegistryFlagProvider } from '@vcr/client-sdk/openfeature';
import { OpenFeature } from '@openfeature/server-sdk';

const pinned = parseMembershipJson(JSON.parse(readFileSync('genesis.json', 'utf8')).membership);
if (!pinned.ok) throw new Error('bad genesis');
const client = await RegistryClient.create({ membership: pinned.value, replicas: process.argv.slice(2), backend: nodeBackend, storage: new FileStorage('trust.json') });
const read = await client.get(${JSON.stringify(KEY)});
await OpenFeature.setProviderAndWait(new RegistryFlagProvider(client, { keyPrefix: 'pkg/flags/' }));
const details = await OpenFeature.getClient().getBooleanDetails('checkout', false, { targetingKey: 'u-1', plan: 'pro' });
console.log(JSON.stringify({ value: new TextDecoder().decode(read.entry.value), height: String(read.height), replica: read.replica, flag: details.value, variant: details.variant }));
`,
    );
    const out = await run(process.execPath, ['read.mjs', ...layout.replicas.map((r) => r.url)], { cwd: project, env: { PATH: process.env.PATH ?? '' } });
    const result = JSON.parse(out.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ value: VALUE, replica: layout.replicas[0]?.url, flag: true, variant: 'on' });
    expect(Number(result.height)).toBeGreaterThan(0);
    // The installed packages are JavaScript with declarations beside it, not the workspace's TypeScript sources.
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/@vcr/client-sdk/package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }>; dependencies: Record<string, string> };
    expect(installed.exports['.']).toEqual({ types: './types/index.d.ts', default: './index.js' });
    expect(installed.exports['./node']).toEqual({ types: './types/node.d.ts', default: './node.js' });
    expect(installed.dependencies['@vcr/proofs']).toBe('0.1.0');
    expect(existsSync(join(project, 'node_modules/@vcr/client-sdk/src'))).toBe(false);
  }, 60_000);

  it('type-checks a consumer on moduleResolution NodeNext against the packed declarations (and catches a type error)', async () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { RegistryClient, type VerifiedRead, receiptOutcome } from '@vcr/client-sdk';
import { FileStorage } from '@vcr/client-sdk/node';
import { nodeBackend } from '@vcr/crypto-node';
import { parseMembershipJson } from '@vcr/proofs';
export async function read(client: RegistryClient): Promise<VerifiedRead> { return client.get('k'); }
export const storage = new FileStorage('trust.json');
export { nodeBackend, parseMembershipJson, receiptOutcome };
`,
    );
    const config = { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: ['node'], typeRoots: [join(repoRoot, 'node_modules/@types')] }, files: ['consumer.ts'] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(config));
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const ok = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).then(() => 'ok', (e: { stdout?: string }) => e.stdout ?? String(e));
    expect(ok).toBe('ok');
    // The same check fails on a wrong use, so the declarations are read, not silently 'any'.
    writeFileSync(join(project, 'consumer.ts'), `import { FileStorage } from '@vcr/client-sdk/node';\nexport const n: number = new FileStorage('trust.json');\n`);
    const bad = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).then(() => 'ok', (e: { stdout?: string }) => e.stdout ?? String(e));
    expect(bad).toMatch(/TS2322: Type 'FileStorage' is not assignable to type 'number'/);
  }, 180_000);

  it('bundles for the browser with esbuild and verifies a read in headless Chromium', async () => {
    writeFileSync(
      join(project, 'browser.mjs'),
      `import { parseMembershipJson } from '@vcr/proofs';
import { RegistryClient } from '@vcr/client-sdk';
const out = document.getElementById('out');
try {
  const pinned = parseMembershipJson(window.GENESIS.membership);
  if (!pinned.ok) throw new Error('bad genesis');
  const client = await RegistryClient.create({ membership: pinned.value, replicas: window.REPLICAS, epochReplicas: window.ALL_REPLICAS });
  const read = await client.get(${JSON.stringify(KEY)});
  out.dataset.outcome = 'verified';
  out.textContent = JSON.stringify({ value: new TextDecoder().decode(read.entry.value), height: String(read.height), replica: read.replica, certificateChecks: client.certificateChecks });
} catch (error) {
  out.dataset.outcome = 'failed';
  out.textContent = String(error && error.stack || error);
}
`,
    );
    // platform 'browser': a node: import anywhere in what the SDK's main entry pulls in fails this build.
    const bundle = await build({ absWorkingDir: project, entryPoints: ['browser.mjs'], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
    const js = bundle.outputFiles[0]?.text ?? '';
    expect(js.length).toBeGreaterThan(0);
    const genesis = readFileSync(layout.genesisFile, 'utf8');
    const html = `<!doctype html><meta charset="utf-8"><div id="out"></div><script>window.GENESIS = ${genesis}; window.REPLICAS = ${JSON.stringify([layout.replicas[1]?.url])}; window.ALL_REPLICAS = ${JSON.stringify(layout.replicas.map((r) => r.url))};</script><script type="module" src="/app.js"></script>`;
    server = createServer((req, res) => {
      if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const out = page.locator('#out[data-outcome]');
    await out.waitFor({ timeout: 30_000 });
    const text = (await out.textContent()) ?? '';
    expect(await out.getAttribute('data-outcome'), text).toBe('verified');
    expect(JSON.parse(text)).toMatchObject({ value: VALUE, replica: layout.replicas[1]?.url, certificateChecks: 1 });
  }, 90_000);
});
