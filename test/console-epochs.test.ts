// The audit console across a membership change, in a real headless Chromium
// against 4 real replica processes: r2's key is rotated (generated in its
// keystore while it runs, approved by three organizations' admin keys,
// submitted as a signed request), so the cluster enters epoch 1. The console,
// pinned to the genesis, must walk the epoch chain in the browser and verify
// epoch-1 blocks and votes against epoch 1's membership, and its Membership
// page must list the change with both quorums and the approvals verified. A
// lying proxy in front of r1 adds two forged votes to one sequence number's
// history: one of epoch 1 signed with r2's rotated-out key (FAILED, retired
// key) and one of epoch 2, which no link proves (NOT VERIFIED).

import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { type Commit, peerMessageToJson, signMessage } from '@vcr/consensus';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { bytesToHex, type Membership } from '@vcr/proofs';
import { type MembershipChange, signMembershipApproval } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { spawnConsole, waitForConsole } from '../ops/console';
import { generateReplicaKey, type LocalClusterLayout, openOrgAdminKey, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { CHROMIUM, launchChromium } from './support/chromium';
import { buildConsoleOnce } from './support/console-build';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console-epochs');
const basePort = 8_200 + Math.floor(Math.random() * 400) * 6;
const consolePort = basePort - 1;
const consoleUrl = `http://127.0.0.1:${consolePort}`;
const CHAIN = 'vcr-console-epochs';

let dir: string;
let layout: LocalClusterLayout;
let genesis: Membership;
let replicas: RunningReplica[] = [];
let consoleProcess: ChildProcess | undefined;
let liar: Server | undefined;
let liarUrl: string;
let browser: Browser | undefined;
let page: Page;
/** A height committed in epoch 1, with r2's vote among its signatures. */
let epochOneHeight: bigint;
/** How the console names r2's key before and after the rotation (first 8 bytes of SHA-256 of the key). */
let oldR2Fingerprint: string;
let newR2Fingerprint: string;
const fingerprint = (key: Uint8Array) => bytesToHex(nodeBackend.sha256(key)).slice(0, 16);

const urlOf = (id: string) => (layout.replicas.find((r) => r.id === id) as { url: string }).url;

async function health(id: string): Promise<{ epoch: number; member: number }> {
  return (await (await fetch(`${urlOf(id)}/healthz`, { signal: AbortSignal.timeout(2_000) })).json()) as { epoch: number; member: number };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** r1's answers, except for one sequence number's vote history: two forged votes there. */
function startLiar(target: string, forgedSeq: bigint, oldR2: ReturnType<EncryptedFileKeyStore['open']>, r1Key: ReturnType<EncryptedFileKeyStore['open']>): Promise<Server> {
  const ctx = { backend: nodeBackend, chainId: CHAIN };
  const commit = (signer: typeof oldR2, from: string, epoch: bigint) =>
    peerMessageToJson(signMessage<Commit>(ctx, signer, { type: 'commit', epoch, from, view: 0n, seq: forgedSeq, headerHash: new Uint8Array(32).fill(9) }));
  const forged = JSON.stringify({
    messages: [
      { id: '1', receivedAtMs: String(Date.now()), message: commit(oldR2, 'r2', 1n) },
      { id: '2', receivedAtMs: String(Date.now()), message: commit(r1Key, 'r1', 2n) },
    ],
    next: null,
  });
  const server = createServer((req, res) => {
    if (req.url?.startsWith(`/v1/audit/messages?seq=${forgedSeq}&`)) {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(forged);
      return;
    }
    fetch(`${target}${req.url ?? '/'}`)
      .then(async (upstream) => {
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'access-control-allow-origin': '*' });
        res.end(await upstream.text());
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

const verdicts = (selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`); // before starting a cluster
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'vcr-console-epochs-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: CHAIN });
  replicas = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await buildConsoleOnce();
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  genesis = loadGenesis(layout.genesisFile);
  const writer = await RegistryClient.create({ membership: genesis, replicas: layout.replicas.map((r) => r.url), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  expect((await writer.put('demo/epochs/before', 'epoch 0')).result.ok).toBe(true);

  // The membership change, as test/epochs.test.ts makes it: r2's new key from its own keystore, approved by org1..org3.
  const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
  const oldR2 = new EncryptedFileKeyStore(join(layout.dataDir, 'r2', 'keys'), passphrase).open('replica');
  const r1Key = new EncryptedFileKeyStore(join(layout.dataDir, 'r1', 'keys'), passphrase).open('replica');
  const newKey = generateReplicaKey(layout, 'r2', 'replica-epoch-1', { fastKdf: true });
  oldR2Fingerprint = fingerprint(oldR2.publicKey);
  newR2Fingerprint = fingerprint(newKey);
  const change: MembershipChange = { epoch: 0n, actions: [{ action: 'rotate-key', id: 'r2', publicKey: newKey }] };
  const approvals = [1, 2, 3].map((org) => ({ organization: `org${org}`, signature: signMembershipApproval(openOrgAdminKey(layout, org), CHAIN, change) }));
  expect((await writer.submit({ op: 'membership', change, approvals })).result.ok).toBe(true);
  for (const r of layout.replicas) await until(`${r.id} in epoch 1`, async () => (await health(r.id)).epoch === 1);
  await until('r2 votes in epoch 1', async () => (await health('r2')).member === 1);

  // A height of epoch 1 whose votes in r1's audit record include r2's COMMIT (signed with its new key).
  // r1 records only the votes it verified, and it does not verify a COMMIT that arrives after it
  // already holds a quorum, so r2's is there for some heights and not others: write until one has it.
  const r2CommitRecorded = async (height: bigint) => {
    const body = (await (await fetch(`${urlOf('r1')}/v1/audit/messages?seq=${height}&limit=500`)).json()) as { messages: { message: { from: string; type: string; epoch: string } }[] };
    return body.messages.some((m) => m.message.from === 'r2' && m.message.type === 'commit' && m.message.epoch === '1');
  };
  for (let i = 0; ; i++) {
    const write = await writer.put(`demo/epochs/after-${i}`, 'epoch 1');
    expect(write.certificate.header.epoch).toBe(1n);
    const height = write.certificate.header.height;
    const recorded = await until(`r2 commit of height ${height} in r1 audit record`, () => r2CommitRecorded(height), 3_000).then(() => true, () => false);
    if (recorded) {
      epochOneHeight = height;
      break;
    }
    if (i >= 30) throw new Error('r1 never recorded a COMMIT of r2 in epoch 1');
  }
  await until('the epoch link at r1', async () => ((await (await fetch(`${urlOf('r1')}/v1/epochs?after=0`)).json()) as { links: unknown[] }).links.length === 1);

  liar = await startLiar(urlOf('r1'), epochOneHeight, oldR2, r1Key);
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

describe('the audit console across a membership change, in headless Chromium', () => {
  it('walks the chain from the pinned genesis to epoch 1 and verifies the latest epoch-1 certificates of every replica', async () => {
    await open('/');
    await page.locator('[data-testid="chain-status"][data-epoch="1"]').waitFor({ timeout: 30_000 });
    const rows = page.locator('[data-testid="overview"] tbody tr');
    await rows.nth(4).locator('[data-verdict]').waitFor({ timeout: 30_000 });
    expect(await verdicts('[data-testid="overview"] [data-verdict]')).toEqual(['verified', 'verified', 'verified', 'verified', 'verified']);
  }, 60_000);

  it("shows an epoch-1 block and its votes verified against epoch 1's membership, r2 signing with its new key", async () => {
    await open(`/blocks/${epochOneHeight}?replica=${encodeURIComponent(urlOf('r1'))}`);
    await page.locator('[data-testid="signers"] tbody tr').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('h1 [data-verdict]').getAttribute('data-verdict')).toBe('verified');
    expect(await page.locator('[data-testid="header"]').textContent()).toContain('epoch1');
    await open(`/votes/${epochOneHeight}?replica=${encodeURIComponent(urlOf('r1'))}`);
    const r2Commit = page.locator('[data-testid="votes"] tbody tr[data-phase="commit"]', { hasText: 'r2' });
    await r2Commit.first().waitFor({ timeout: 30_000 });
    const all = await verdicts('[data-testid="votes"] [data-verdict]');
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(all.every((v) => v === 'verified')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'epoch-1-votes.png'), fullPage: true });
  }, 60_000);

  it('marks a vote signed with the rotated-out key FAILED (retired key) and a vote of an unlinked epoch NOT VERIFIED', async () => {
    await open(`/votes/${epochOneHeight}?replica=${encodeURIComponent(liarUrl)}`);
    const rows = page.locator('[data-testid="votes"] tbody tr');
    await rows.nth(1).locator('[data-verdict]').waitFor({ timeout: 30_000 });
    const byText = async (from: string) => {
      const cell = rows.filter({ hasText: from }).locator('[data-verdict]');
      return { verdict: await cell.getAttribute('data-verdict'), text: await cell.textContent() };
    };
    const retired = await byText('r2');
    expect(retired.verdict).toBe('failed');
    expect(retired.text).toContain(`FAILED: retired key: signed with r2's key of epoch 0 (fingerprint ${oldR2Fingerprint}); retired from epoch 1 on`);
    const unlinked = await byText('r1');
    expect(unlinked.verdict).toBe('unverified');
    expect(unlinked.text).toContain('NOT VERIFIED: no verified link into epoch 2 yet');
    await page.screenshot({ path: join(ARTIFACTS, 'forged-votes.png'), fullPage: true });
  }, 60_000);

  it('lists the change on the Membership page: r2 rotated, both quorums and the three approvals verified', async () => {
    await open(`/epochs?replica=${encodeURIComponent(urlOf('r1'))}`);
    const epoch1 = page.locator('[data-testid="epoch"][data-epoch="1"]');
    await epoch1.locator('[data-testid="approvals"] tbody tr').nth(2).waitFor({ timeout: 30_000 });
    expect(await epoch1.locator('h2 [data-verdict]').getAttribute('data-verdict')).toBe('verified');
    const changes = await epoch1.locator('[data-testid="changes"] li').evaluateAll((els) => els.map((e) => [e.getAttribute('data-kind'), e.textContent]));
    expect(changes).toHaveLength(1);
    expect(changes[0]?.[0]).toBe('rotated');
    expect(changes[0]?.[1]).toBe(`rotated the key of r2: ${oldR2Fingerprint} -> ${newR2Fingerprint} (key fingerprints)`);
    expect(await epoch1.locator('[data-testid="members"] tbody tr').count()).toBe(4);
    expect(await epoch1.locator('[data-testid="members"] tr[data-replica="r2"] td').nth(2).textContent()).toBe(newR2Fingerprint);
    const parts = await epoch1.locator('h3 [data-verdict]').evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
    expect(parts).toEqual(['verified', 'verified', 'verified']); // old quorum, new quorum, approvals
    const signatures = await verdicts('[data-testid="epoch"][data-epoch="1"] table:is([data-testid="old-quorum"], [data-testid="new-quorum"], [data-testid="approvals"]) [data-verdict]');
    expect(signatures.length).toBeGreaterThanOrEqual(3 + 3 + 3);
    expect(signatures.every((v) => v === 'verified')).toBe(true);
    const orgs = await epoch1.locator('[data-testid="approvals"] tbody tr td:first-child').allTextContents();
    expect(orgs).toEqual(['org1', 'org2', 'org3']);
    expect(await page.locator('[data-testid="epoch"][data-epoch="0"]').textContent()).toContain('pinned');
    await page.screenshot({ path: join(ARTIFACTS, 'membership.png'), fullPage: true });
  }, 60_000);
});
