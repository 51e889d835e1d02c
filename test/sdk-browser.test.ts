// The client SDK verifying real proofs in headless Chromium (Debian's
// chromium via playwright-core): the console's /sdk-check page runs
// RegistryClient.get and evaluateFlag in the browser (default @noble crypto
// backend, no Node) against 4 real replica processes, and a tampering
// node:http proxy in front of r1 that changes the value it serves. The
// browser must show the true value verified, refuse the liar alone with the
// reason, and fail over from the liar to an honest replica.

import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from './support/chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { encodeTypedValue } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { spawnConsole, waitForConsole } from '../ops/console';
import { buildConsoleOnce } from './support/console-build';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';

const KEY = 'demo/notes/browser';
const FLAG = 'demo/flags/browser';
const TRUE_VALUE = 'verified-in-chromium';
const basePort = 26_000 + Math.floor(Math.random() * 1_000) * 4;
const consolePort = basePort - 1;
const consoleUrl = `http://127.0.0.1:${consolePort}`;

let dir: string;
let layout: LocalClusterLayout;
let replicas: RunningReplica[] = [];
let consoleProcess: ChildProcess | undefined;
let liar: Server;
let liarUrl: string;
let browser: Browser;
let page: Page;

/** A proxy in front of `target` (CORS open, as the replicas are) that changes the value of KEY in every answer. */
function startLiar(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    fetch(`${target}${req.url ?? '/'}`)
      .then(async (upstream) => {
        let body = await upstream.text();
        if (upstream.ok && req.url === `/v1/keys/${encodeURIComponent(KEY)}`) {
          const answer = JSON.parse(body) as { entry: { value: string } };
          answer.entry.value = bytesToHex(utf8('a lie'));
          body = JSON.stringify(answer);
        }
        res.writeHead(upstream.status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`); // before starting a cluster
  dir = mkdtempSync(join(tmpdir(), 'vcr-sdk-browser-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-sdk-browser' });
  replicas = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await buildConsoleOnce();
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  const writer = await RegistryClient.create({ membership: loadGenesis(layout.genesisFile), replicas: layout.replicas.map((r) => r.url), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  expect((await writer.put(KEY, TRUE_VALUE)).result.ok).toBe(true);
  const flag = encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off', rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }] });
  expect((await writer.put(FLAG, flag)).result.ok).toBe(true);
  liar = await startLiar(layout.replicas[0]!.url);
  liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  consoleProcess = spawnConsole({ port: consolePort, genesisFile: layout.genesisFile, replicaUrls: layout.replicas.map((r) => r.url) });
  await waitForConsole(consoleUrl, 60_000);
  browser = await launchChromium();
  page = await browser.newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  consoleProcess?.kill('SIGKILL');
  liar?.close();
  for (const r of replicas) r.process.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens /sdk-check in Chromium and returns what the SDK decided there. */
async function check(query: Record<string, string>): Promise<{ outcome: string; detail: Record<string, unknown> }> {
  await page.goto(`${consoleUrl}/sdk-check?${new URLSearchParams(query)}`, { waitUntil: 'domcontentloaded' });
  const result = page.locator('[data-testid="sdk-result"]');
  await result.waitFor({ timeout: 30_000 });
  return { outcome: (await result.getAttribute('data-outcome')) ?? '', detail: JSON.parse((await page.locator('[data-testid="sdk-detail"]').textContent()) ?? '{}') as Record<string, unknown> };
}

describe('the client SDK in headless Chromium', () => {
  it('verifies a real certificate and map proof in the browser and shows the true value', async () => {
    const r1 = layout.replicas[0]!.url;
    const got = await check({ key: KEY, replicas: r1 });
    expect(got.outcome).toBe('verified');
    expect(got.detail).toMatchObject({ key: KEY, value: TRUE_VALUE, revision: '1', stale: false, replica: r1, certificateChecks: '1' });
    expect(Number(got.detail.height)).toBeGreaterThan(0);
    const absent = await check({ key: 'demo/notes/never-written', replicas: r1 });
    expect(absent.detail).toMatchObject({ value: '(absent, proven)' });
  }, 60_000);

  it('refuses a tampered answer in the browser, and fails over from the liar to an honest replica', async () => {
    const alone = await check({ key: KEY, replicas: liarUrl });
    expect(alone.outcome).toBe('refused');
    expect(alone.detail).toMatchObject({ code: 'verification-failed' });
    expect(String((alone.detail.attempts as string[])[0])).toContain('map proof');
    const r2 = layout.replicas[1]!.url;
    const failover = await check({ key: KEY, replicas: `${liarUrl},${r2}` });
    expect(failover.detail).toMatchObject({ value: TRUE_VALUE, replica: r2 });
  }, 60_000);

  it('evaluates a verified flag in the browser', async () => {
    const got = await check({ key: FLAG, flag: '1', plan: 'internal' });
    expect(got.detail).toMatchObject({ variant: 'on', value: 'true', stale: false });
  }, 60_000);
});
