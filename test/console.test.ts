// The audit console in a real headless Chromium (Debian's chromium, driven by
// playwright-core) against 4 real replica processes, plus one lying replica:
// an HTTP proxy in front of r2 that flips a byte of every signature it
// serves. The console must verify the honest replicas' certificates and votes
// in the browser and mark everything the liar serves as FAILED. Screenshots
// of the main pages go to test-artifacts/console/.

import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from './support/chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { loadGenesis } from '../apps/replica/src/genesis';
import { readFileSync } from 'node:fs';
import { type Prepare, peerMessageToJson, signMessage } from '@vcr/consensus';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { spawnConsole, waitForConsole } from '../ops/console';
import { buildConsoleOnce } from './support/console-build';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const basePort = 23_000 + Math.floor(Math.random() * 1_000) * 4;
const consolePort = basePort - 1;

let dir: string;
let layout: LocalClusterLayout;
let replicas: RunningReplica[] = [];
let consoleProcess: ChildProcess | undefined;
let liar: Server;
let liarUrl: string;
let browser: Browser;
let page: Page;
const consoleUrl = `http://127.0.0.1:${consolePort}`;

/** Flips the last hex digit of every "signature" value in a JSON text. */
function tamperSignatures(text: string): string {
  return text.replace(/"signature":"([0-9a-f]{127})([0-9a-f])"/g, (_m, head: string, last: string) => `"signature":"${head}${last === '0' ? '1' : '0'}"`);
}

/**
 * Equivocation as a Byzantine r3 would commit it: two PREPAREs for one slot with different header
 * hashes, both really signed with r3's key (read from the cluster's encrypted key file).
 */
function forgedEvidence(): string {
  const keys = new EncryptedFileKeyStore(join(layout.dataDir, 'r3', 'keys'), readFileSync(layout.passphraseFile, 'utf8').trim());
  const ctx = { backend: nodeBackend, chainId: 'vcr-console' };
  const prepare = (fill: number) => peerMessageToJson(signMessage<Prepare>(ctx, keys.open('replica'), { type: 'prepare', epoch: 0n, from: 'r3', view: 0n, seq: 5n, headerHash: new Uint8Array(32).fill(fill) }));
  return JSON.stringify({ evidence: [{ id: '1', detectedAtMs: String(Date.now()), replica: 'r3', epoch: '0', view: '0', seq: '5', phase: 'prepare', first: prepare(1), second: prepare(2) }], next: null });
}

function startLiar(target: string): Promise<Server> {
  const evidence = forgedEvidence();
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/audit/evidence')) {
      // Served untampered: real signatures, so the console must show it as verified evidence.
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(evidence);
      return;
    }
    fetch(`${target}${req.url ?? '/'}`)
      .then(async (upstream) => {
        const body = tamperSignatures(await upstream.text());
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'access-control-allow-origin': '*' });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function open(path: string): Promise<void> {
  await page.goto(`${consoleUrl}${path}`, { waitUntil: 'domcontentloaded' });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`); // before starting a cluster
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'vcr-console-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-console' });
  replicas = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await buildConsoleOnce();
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  // Something for the registry browser: two versions of one key, written through the SDK.
  const writer = await RegistryClient.create({ membership: loadGenesis(layout.genesisFile), replicas: layout.replicas.map((r) => r.url), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  await writer.put('demo/notes/hello', 'first');
  await writer.put('demo/notes/hello', 'second');
  liar = await startLiar(layout.replicas[1]!.url);
  liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  consoleProcess = spawnConsole({ port: consolePort, genesisFile: layout.genesisFile, replicaUrls: [...layout.replicas.map((r) => r.url), liarUrl] });
  await waitForConsole(consoleUrl, 60_000);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Heartbeat blocks commit every 2 s; wait until a few exist so every page has content.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const health = (await (await fetch(`${layout.replicas[0]!.url}/healthz`)).json()) as { committed: number };
    if (health.committed >= 3) break;
    await new Promise((r) => setTimeout(r, 300));
  }
}, 180_000);

afterAll(async () => {
  await browser?.close();
  consoleProcess?.kill('SIGKILL');
  liar?.close();
  for (const r of replicas) r.process.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the audit console in headless Chromium', () => {
  it('shows every replica side by side, the honest ones verified and the liar FAILED', async () => {
    await open('/');
    const rows = page.locator('[data-testid="overview"] tbody tr');
    await rows.nth(4).locator('[data-verdict]').waitFor({ timeout: 30_000 });
    for (let i = 0; i < 4; i++) expect(await rows.nth(i).locator('[data-verdict]').getAttribute('data-verdict'), `replica ${i + 1}`).toBe('verified');
    expect(await rows.nth(4).locator('[data-verdict]').getAttribute('data-verdict')).toBe('failed');
    expect(await rows.nth(4).locator('[data-verdict]').textContent()).toContain('FAILED');
    await shot('overview');
  }, 60_000);

  it('opens a block and shows its certificate verified, signer by signer', async () => {
    await open(`/blocks/2?replica=${encodeURIComponent(layout.replicas[0]!.url)}`);
    await page.locator('[data-testid="signers"] tbody tr').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('h1 [data-verdict]').getAttribute('data-verdict')).toBe('verified');
    const signerVerdicts = await page.locator('[data-testid="signers"] [data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(signerVerdicts.length).toBeGreaterThanOrEqual(3);
    expect(signerVerdicts.every((v) => v === 'verified')).toBe(true);
    await shot('block');
  }, 60_000);

  it('marks the same block served by the lying replica as FAILED, signature by signature', async () => {
    await open(`/blocks/2?replica=${encodeURIComponent(liarUrl)}`);
    await page.locator('h1 [data-verdict]').waitFor({ timeout: 30_000 });
    expect(await page.locator('h1 [data-verdict]').getAttribute('data-verdict')).toBe('failed');
    const signerVerdicts = await page.locator('[data-testid="signers"] [data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(signerVerdicts.length).toBeGreaterThan(0);
    expect(signerVerdicts.every((v) => v === 'failed')).toBe(true);
    await shot('block-lying-replica');
  }, 60_000);

  it("shows one sequence number's vote history with every signature verified, and the liar's votes FAILED", async () => {
    await open(`/votes/2?replica=${encodeURIComponent(layout.replicas[0]!.url)}`);
    await page.locator('[data-testid="votes"] tbody tr').nth(3).waitFor({ timeout: 30_000 });
    const phases = await page.locator('[data-testid="votes"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-phase')));
    expect(phases).toContain('pre-prepare');
    expect(phases).toContain('prepare');
    expect(phases).toContain('commit');
    const verdicts = await page.locator('[data-testid="votes"] [data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(verdicts.every((v) => v === 'verified')).toBe(true);
    await shot('vote-history');

    await open(`/votes/2?replica=${encodeURIComponent(liarUrl)}`);
    await page.locator('[data-testid="votes"] tbody tr').first().waitFor({ timeout: 30_000 });
    const lies = await page.locator('[data-testid="votes"] [data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(lies.length).toBeGreaterThan(0);
    expect(lies.every((v) => v === 'failed')).toBe(true);
  }, 60_000);

  it('renders the blocks, view-change, evidence and genesis pages', async () => {
    await open(`/blocks?replica=${encodeURIComponent(layout.replicas[0]!.url)}`);
    await page.locator('[data-testid="blocks"] tbody tr [data-verdict]').first().waitFor({ timeout: 30_000 });
    const verdicts = await page.locator('[data-testid="blocks"] [data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(verdicts.every((v) => v === 'verified')).toBe(true);
    await shot('blocks');
    await open(`/activity?replica=${encodeURIComponent(layout.replicas[0]!.url)}`);
    await page.locator('[data-testid="charts"] svg rect').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-verdict="failed"]').count()).toBe(0);
    await shot('activity');
    await open('/view-changes');
    await page.getByRole('heading', { name: 'View changes' }).waitFor();
    await shot('view-changes');
    await open('/evidence');
    await page.getByRole('heading', { name: 'Evidence of equivocation' }).waitFor();
    await open(`/evidence?replica=${encodeURIComponent(liarUrl)}`);
    const item = page.locator('[data-testid="evidence-item"]');
    await item.first().waitFor({ timeout: 30_000 });
    // The two conflicting messages side by side, each signature verified, and the evidence as a whole.
    const evidenceVerdicts = await item.first().locator('[data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(evidenceVerdicts).toEqual(['verified', 'verified', 'verified']);
    await shot('evidence');
    await open(`/registry?replica=${encodeURIComponent(layout.replicas[2]!.url)}`);
    await page.locator('[data-testid="keys"] tbody tr').first().waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'demo/notes/hello' }).click();
    await page.locator('[data-testid="history"] tbody tr').nth(1).waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="history"] tbody tr').count()).toBe(2);
    await shot('registry');
    await open(`/registry?replica=${encodeURIComponent(liarUrl)}`);
    await page.locator('[data-verdict="failed"]').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="keys"]').count()).toBe(0);
    await open('/genesis');
    await page.getByRole('heading', { name: 'Pinned genesis' }).waitFor();
    expect(await page.locator('table tbody tr').count()).toBe(4);
    await shot('genesis');
  }, 60_000);
});
