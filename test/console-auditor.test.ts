// The auditor's console (issue 22) in a real headless Chromium against 4 real
// replica processes with the demo registry (organizations org1..org4, a
// flags namespace only org1 writes, a critical namespace whose changes need 2
// of org1, org2, org3): a refused write shown as refused with its rule and
// detail and its signer's organization; a pending change listed with its
// approvals, then applied after the second approval without a reload; new
// writes appearing on the Blocks and Registry pages without a reload; a
// block that does not exist shown as not found, not FAILED; and a lying
// replica (an HTTP proxy in front of r1) serving a VIEW-CHANGE correctly
// signed with r3's real key but carrying a forged prepared certificate,
// which the console marks FAILED.
//
// With VCR_DOCS_SCREENSHOTS=1 the screenshots also refresh docs/images/console/
// (the ones docs/console.md shows); they always go to test-artifacts/.

import { type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { nodeBackend } from '@vcr/crypto-node';
import type { Signer } from '@vcr/proofs';
import { parseCommittedBlockJson, peerMessageToJson, type PrePrepare, signMessage, type ViewChange } from '@vcr/consensus';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { encodeTypedValue } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { spawnConsole, waitForConsole } from '../ops/console';
import { bootstrapDemoRegistry, clientSeedSigner } from '../ops/demo-registry';
import { type LocalClusterLayout, openOrgAdminKey, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { CHROMIUM, launchChromium } from './support/chromium';
import { buildConsoleOnce } from './support/console-build';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console-auditor');
const DOCS_IMAGES = join(process.cwd(), 'docs', 'images', 'console');
const basePort = 27_000 + Math.floor(Math.random() * 1_000) * 4;
const consolePort = basePort - 1;
const consoleUrl = `http://127.0.0.1:${consolePort}`;

const flag = (on: boolean) => encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: on ? 'on' : 'off' });

let dir: string;
let layout: LocalClusterLayout;
let replicas: RunningReplica[] = [];
let consoleProcess: ChildProcess | undefined;
let browser: Browser;
let page: Page;
let org1: RegistryClient;
let org2: RegistryClient;
let org4: RegistryClient;
let liar: Server;
let liarUrl: string;

/**
 * A VIEW-CHANGE as a Byzantine r3 could send it: really signed with r3's key (read from the
 * cluster's encrypted key file), to view 1, from the genesis checkpoint, carrying a prepared
 * certificate for block 1 whose pre-prepare claims to be r1's but bears no valid signature, and
 * no prepares. Its own signature verifies; what it carries does not.
 */
async function forgedViewChange(): Promise<string> {
  const keys = new EncryptedFileKeyStore(join(layout.dataDir, 'r3', 'keys'), readFileSync(layout.passphraseFile, 'utf8').trim());
  const block = parseCommittedBlockJson(await (await fetch(`${layout.replicas[0]!.url}/v1/blocks/1`)).json());
  if (!block.ok) throw new Error('block 1 malformed');
  const prePrepare: PrePrepare = { type: 'pre-prepare', epoch: 0n, from: 'r1', view: 0n, seq: 1n, header: block.value.header, batch: block.value.batch, signature: new Uint8Array(64).fill(7) };
  const ctx = { backend: nodeBackend, chainId: 'vcr-console-auditor' };
  const vc = signMessage<ViewChange>(ctx, keys.open('replica'), { type: 'view-change', epoch: 0n, from: 'r3', newView: 1n, checkpoint: { seq: 0n, headerHash: new Uint8Array(32), proof: [] }, prepared: [{ prePrepare, prepares: [] }] });
  return JSON.stringify({ messages: [{ id: '1', receivedAtMs: String(Date.now()), message: peerMessageToJson(vc) }], next: null });
}

/** Serves the forged view change as r1's audit record of view changes; everything else from r1, untouched. */
async function startLiar(target: string): Promise<Server> {
  const forged = await forgedViewChange();
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/audit/messages?type=view-change')) {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(forged);
      return;
    }
    fetch(`${target}${req.url ?? '/'}`)
      .then(async (upstream) => {
        const body = await upstream.text();
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

async function clientOf(signer: Signer): Promise<RegistryClient> {
  return RegistryClient.create({ membership: loadGenesis(layout.genesisFile), replicas: layout.replicas.map((r) => r.url), signer, backend: nodeBackend });
}

async function open(path: string, replica = layout.replicas[0]!.url): Promise<void> {
  const sep = path.includes('?') ? '&' : '?';
  await page.goto(`${consoleUrl}${path}${sep}replica=${encodeURIComponent(replica)}`, { waitUntil: 'domcontentloaded' });
}

async function shot(name: string): Promise<void> {
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.VCR_DOCS_SCREENSHOTS === '1') copyFileSync(file, join(DOCS_IMAGES, `${name}.png`));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  if (process.env.VCR_DOCS_SCREENSHOTS === '1') mkdirSync(DOCS_IMAGES, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'vcr-console-auditor-'));
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, chainId: 'vcr-console-auditor' });
  replicas = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await buildConsoleOnce();
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  await bootstrapDemoRegistry(layout, loadGenesis(layout.genesisFile));
  org1 = await clientOf(clientSeedSigner(layout, 'demo-client'));
  org2 = await clientOf(openOrgAdminKey(layout, 2));
  org4 = await clientOf(openOrgAdminKey(layout, 4));
  expect((await org1.put('demo/flags/checkout', flag(false))).result.ok).toBe(true);
  expect((await org1.put('demo/flags/checkout', flag(true))).result.ok).toBe(true);
  liar = await startLiar(layout.replicas[0]!.url);
  liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  consoleProcess = spawnConsole({ port: consolePort, genesisFile: layout.genesisFile, replicaUrls: [...layout.replicas.map((r) => r.url), liarUrl] });
  await waitForConsole(consoleUrl, 60_000);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  consoleProcess?.kill('SIGKILL');
  liar?.close();
  for (const r of replicas) r.process.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the auditor's console in headless Chromium", () => {
  it('shows a refused write as refused, with its rule, its detail and the organization that signed it', async () => {
    const receipt = await org4.put('demo/flags/checkout', flag(false));
    expect(receipt.result).toMatchObject({ ok: false, error: 'forbidden' });
    await open(`/blocks/${receipt.height}`);
    const row = page.locator('[data-testid="requests"] tbody tr[data-result="refused"]');
    await row.first().waitFor({ timeout: 30_000 });
    const text = await row.first().textContent();
    expect(text).toContain('refused: forbidden');
    expect(text).toContain('org4 may not write demo/flags/ (writers: org1)');
    expect(await row.first().locator('[data-testid="org"]').textContent()).toBe('org4');
    expect(await row.first().getAttribute('data-operation')).toBe('put');
    await shot('block-refused');
  }, 60_000);

  it('shows an applied write with its organization and a diff against the previous revision', async () => {
    const receipt = await org1.put('demo/flags/checkout', flag(false));
    expect(receipt.result.ok).toBe(true);
    await open(`/blocks/${receipt.height}`);
    const row = page.locator('[data-testid="requests"] tbody tr[data-result="applied"]');
    await row.first().locator('[data-testid="diff"] .removed').first().waitFor({ timeout: 30_000 });
    expect(await row.first().locator('[data-testid="org"]').textContent()).toBe('org1');
    expect(await row.first().locator('[data-testid="diff"] .removed').allTextContents()).toEqual(['-   "defaultVariant": "on",']);
    expect(await row.first().locator('[data-testid="diff"] .added').allTextContents()).toEqual(['+   "defaultVariant": "off",']);
    await shot('block');
  }, 60_000);

  it('lists a pending change with its approvals, then shows it applied after the second approval, without a reload', async () => {
    await open('/pending');
    await page.getByRole('heading', { name: 'Pending approvals' }).waitFor({ timeout: 30_000 });
    const first = await org1.put('demo/flags/critical/payments-kill', flag(true));
    expect(first.result).toMatchObject({ ok: false, error: 'pending-approval' });
    const card = page.locator('[data-testid="pending-change"]').first();
    await page.locator('[data-testid="pending-change"][data-status="pending"]').first().waitFor({ timeout: 30_000 });
    expect(await card.locator('[data-testid="approvals"]').textContent()).toBe('org1');
    expect(await card.locator('[data-testid="progress"]').textContent()).toContain('needs 2 of org1, org2, org3');
    expect(await card.locator('[data-testid="submissions"] tbody tr').count()).toBe(1);
    await shot('pending');
    const second = await org2.put('demo/flags/critical/payments-kill', flag(true));
    expect(second.result.ok).toBe(true);
    await page.locator('[data-testid="pending-change"][data-status="applied"]').first().waitFor({ timeout: 30_000 });
    expect(await card.textContent()).toContain(`applied at height ${second.height}`);

    // The key's history: the proposal, then the approving change, each verified.
    await open('/registry');
    await page.getByRole('button', { name: 'demo/flags/critical/payments-kill' }).click();
    await page.locator('[data-testid="history"] tbody tr').nth(1).waitFor({ timeout: 30_000 });
    const kinds = await page.locator('[data-testid="history"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    expect(kinds).toEqual(['proposal', 'change']);
    const signers = await page.locator('[data-testid="history"] tbody tr td:nth-child(6)').allTextContents();
    expect(signers[0]).toContain('org1');
    expect(signers[1]).toContain('org2');
    await shot('registry');
  }, 90_000);

  it('shows a new write on the Blocks and Registry pages without a reload', async () => {
    await open('/blocks');
    await page.locator('[data-testid="blocks"] tbody tr [data-verdict]').first().waitFor({ timeout: 30_000 });
    const receipt = await org1.put('demo/flags/new-search', flag(true));
    await page.locator(`[data-testid="blocks"] tbody tr[data-height="${receipt.height}"] [data-verdict="verified"]`).waitFor({ timeout: 30_000 });
    await shot('blocks');

    await open('/registry');
    await page.locator('[data-testid="keys"] tbody tr').first().waitFor({ timeout: 30_000 });
    expect(await page.getByRole('button', { name: 'demo/flags/later' }).count()).toBe(0);
    await org1.put('demo/flags/later', flag(false));
    await page.getByRole('button', { name: 'demo/flags/later' }).waitFor({ timeout: 30_000 });
  }, 90_000);

  it('lists blocks with requests only by default, and filters them by organization and key prefix', async () => {
    await open('/blocks');
    await page.locator('[data-testid="blocks"] tbody tr [data-verdict]').first().waitFor({ timeout: 30_000 });
    const requestCounts = await page.locator('[data-testid="blocks"] tbody tr td:nth-child(4)').allTextContents();
    expect(requestCounts.length).toBeGreaterThan(0);
    expect(requestCounts.every((n) => Number(n) > 0)).toBe(true);
    await page.locator('[data-testid="filter-org"]').fill('org4');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => {
      const cells = Array.from(document.querySelectorAll('[data-testid="blocks"] tbody tr td:nth-child(5)')).map((c) => c.textContent ?? '');
      return cells.length > 0 && cells.every((c) => c.includes('org4'));
    }, undefined, { timeout: 30_000 });
    await page.locator('[data-testid="filter-org"]').fill('');
    await page.locator('[data-testid="filter-keyPrefix"]').fill('demo/flags/critical/');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => {
      const cells = Array.from(document.querySelectorAll('[data-testid="blocks"] tbody tr td:nth-child(6)')).map((c) => c.textContent ?? '');
      return cells.length === 2 && cells.every((c) => c.includes('demo/flags/critical/payments-kill'));
    }, undefined, { timeout: 30_000 });
    await shot('blocks-filtered');
  }, 60_000);

  it('marks a correctly signed view change that carries a forged prepared certificate FAILED', async () => {
    await open('/view-changes', liarUrl);
    const row = page.locator('[data-testid="view-changes"] tbody tr', { hasText: 'view-change' });
    await row.first().locator('[data-verdict]').waitFor({ timeout: 30_000 });
    expect(await row.first().locator('[data-verdict]').getAttribute('data-verdict')).toBe('failed');
    expect(await row.first().locator('[data-verdict]').textContent()).toContain("r3's view change to view 1: a prepared certificate does not verify");
    await shot('view-changes');
  }, 60_000);

  it('lists the newest sequence numbers with their verdicts, explains what Activity counts, and renders every other page', async () => {
    await open('/votes');
    const index = page.locator('[data-testid="sequence-index"] tbody tr');
    await index.first().locator('[data-verdict]').waitFor({ timeout: 30_000 });
    const verdicts = await page.locator('[data-testid="sequence-index"] [data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(verdicts.length).toBeGreaterThan(5);
    expect(verdicts.every((v) => v === 'verified')).toBe(true);
    await shot('vote-index');
    await index.first().locator('a').click();
    await page.locator('[data-testid="votes"] tbody tr').nth(2).waitFor({ timeout: 30_000 });
    await shot('vote-history');
    await open('/activity');
    await page.locator('[data-testid="charts"] svg rect').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="activity-explained"]').textContent()).toContain('grouped by the replica that signed them');
    await shot('activity');
    await open('/');
    await page.locator('[data-testid="overview"] tbody tr').nth(3).locator('[data-verdict]').waitFor({ timeout: 30_000 });
    await shot('overview');
    await open('/epochs');
    await page.getByRole('heading', { name: 'Membership and epoch chain' }).waitFor({ timeout: 30_000 });
    await shot('membership');
    await open('/evidence');
    await page.getByRole('heading', { name: 'Evidence of equivocation' }).waitFor({ timeout: 30_000 });
    await shot('evidence');
    await open('/genesis');
    await page.getByRole('heading', { name: 'Pinned genesis' }).waitFor({ timeout: 30_000 });
    await shot('genesis');
  }, 90_000);

  it('shows a block the replica does not have as not found, not FAILED', async () => {
    await open('/blocks/999999');
    const verdict = page.locator('h1 [data-verdict]');
    await verdict.waitFor({ timeout: 30_000 });
    expect(await verdict.getAttribute('data-verdict')).toBe('not-found');
    expect(await verdict.textContent()).not.toContain('FAILED');
  }, 60_000);
});
