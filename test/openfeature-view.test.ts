// The in-process OpenFeature providers (issue 19 item 2; docs/client-sdk.md
// section 7) on verified local views, against four real replica processes:
// @openfeature/server-sdk and @openfeature/web-sdk in Node, and
// @openfeature/web-sdk in headless Chromium (the provider bundled with
// esbuild, the SDK's default @noble crypto). Each must report READY after the
// view loads, CONFIGURATION_CHANGED with the changed flag key after a write,
// STALE (and reason STALE) when every replica is stopped, READY again when
// they return; a provider whose view cannot load reports ERROR.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenFeature as ServerOpenFeature, ProviderEvents as ServerEvents, StandardResolutionReasons } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature, ProviderEvents as WebEvents } from '@openfeature/web-sdk';
import { type Membership, membershipToJson } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { RegistryInProcessProvider, RegistryWebProvider } from '@vcr/client-sdk/openfeature';
import { encodeTypedValue, type FlagValue } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { launchChromium } from './support/chromium';

const PREFIX = 'svc/flags/';
const basePort = 24_500 + Math.floor(Math.random() * 1_000) * 4;
const VIEW = { waitMs: 1_000, maxStalenessMs: 4_000 };
let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
let membership: Membership;
let urls: string[];
let writer: RegistryClient;
let pageServer: Server;
let browser: Browser;
let page: Page;

const flag = (on: boolean): FlagValue => ({
  type: 'flag',
  variants: { on: true, off: false },
  defaultVariant: on ? 'on' : 'off',
  rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }],
});

type Seen = { type: string; flagsChanged?: string[] };
const serverSeen: Seen[] = [];
const webSeen: Seen[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-of-view-'));
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-of-view' });
  running = layout.replicas.map((r) => spawnReplica(layout, r.id));
  const bundle = await build({ entryPoints: [join(import.meta.dirname, 'support/provider-browser-entry.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'silent' });
  const script = bundle.outputFiles[0]?.text ?? '';
  pageServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html><body><script>${script.replace(/<\/script/g, '<\\/script')}</script></body></html>`);
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  membership = loadGenesis(layout.genesisFile);
  urls = layout.replicas.map((r) => r.url);
  writer = await client();
  expect((await writer.transaction([
    { op: 'put', key: 'svc/flags/checkout', value: encodeTypedValue(flag(false)) },
    { op: 'put', key: 'svc/flags/search', value: encodeTypedValue(flag(true)) },
  ])).result.ok).toBe(true);
  browser = await launchChromium();
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await ServerOpenFeature.close();
  await WebOpenFeature.close();
  await browser?.close();
  pageServer?.close();
  for (const r of running) r.process.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function client(replicas: string[] = urls): Promise<RegistryClient> {
  return RegistryClient.create({ membership, replicas, epochReplicas: urls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, readTimeoutMs: 2_000 });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type BrowserVcr = { start(c: unknown): Promise<string>; evaluate(k: string): { value: boolean; reason?: string; errorCode?: string }; events: Seen[] };
const inBrowser = {
  events: () => page.evaluate(() => (globalThis as unknown as { vcr: BrowserVcr }).vcr.events),
  evaluate: (key: string) => page.evaluate((k) => (globalThis as unknown as { vcr: BrowserVcr }).vcr.evaluate(k), key),
};
const has = (seen: Seen[], type: string, flagKey?: string) => seen.some((e) => e.type === type && (flagKey === undefined || (e.flagsChanged ?? []).includes(flagKey)));

describe('the in-process OpenFeature providers on a verified view', () => {
  it('report READY once the view is loaded, and evaluate with the usual reasons (server-sdk and web-sdk in Node, web-sdk in Chromium)', async () => {
    for (const type of [ServerEvents.Ready, ServerEvents.ConfigurationChanged, ServerEvents.Stale, ServerEvents.Error]) {
      ServerOpenFeature.addHandler(type, (d) => serverSeen.push({ type, ...(Array.isArray(d?.flagsChanged) ? { flagsChanged: d.flagsChanged as string[] } : {}) }));
    }
    for (const type of [WebEvents.Ready, WebEvents.ConfigurationChanged, WebEvents.Stale, WebEvents.Error]) {
      WebOpenFeature.addHandler(type, (d) => webSeen.push({ type, ...(Array.isArray(d?.flagsChanged) ? { flagsChanged: d.flagsChanged as string[] } : {}) }));
    }
    await ServerOpenFeature.setProviderAndWait(new RegistryInProcessProvider(await client(), { keyPrefix: PREFIX, view: VIEW }));
    await WebOpenFeature.setContext({ plan: 'internal' });
    await WebOpenFeature.setProviderAndWait(new RegistryWebProvider(await client(), { keyPrefix: PREFIX, view: VIEW }));
    await page.goto(`http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`);
    expect(await page.evaluate(async (config) => (globalThis as unknown as { vcr: BrowserVcr }).vcr.start(config), { membership: membershipToJson(membership), replicas: urls, prefix: PREFIX, context: { plan: 'internal' } })).toBe('started');

    expect(has(serverSeen, ServerEvents.Ready)).toBe(true);
    expect(has(webSeen, WebEvents.Ready)).toBe(true);
    expect(has(await inBrowser.events(), 'PROVIDER_READY')).toBe(true);
    const server = await ServerOpenFeature.getClient().getBooleanDetails('checkout', true, { plan: 'free' });
    expect(server).toMatchObject({ value: false, reason: StandardResolutionReasons.DEFAULT });
    expect(server.flagMetadata).toMatchObject({ source: 'view', stale: false });
    expect(await ServerOpenFeature.getClient().getBooleanDetails('checkout', false, { plan: 'internal' })).toMatchObject({ value: true, reason: StandardResolutionReasons.TARGETING_MATCH });
    expect(WebOpenFeature.getClient().getBooleanDetails('checkout', false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await inBrowser.evaluate('checkout')).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await inBrowser.evaluate('missing')).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  }, 90_000);

  it('report CONFIGURATION_CHANGED with the changed flag key after a verified write', async () => {
    await writer.put('svc/flags/checkout', encodeTypedValue(flag(true)));
    await until('server-sdk change event', () => has(serverSeen, ServerEvents.ConfigurationChanged, 'checkout'));
    await until('web-sdk change event', () => has(webSeen, WebEvents.ConfigurationChanged, 'checkout'));
    await until('Chromium change event', async () => has(await inBrowser.events(), 'PROVIDER_CONFIGURATION_CHANGED', 'checkout'));
    expect(await ServerOpenFeature.getClient().getBooleanValue('checkout', false, { plan: 'free' })).toBe(true);
  }, 60_000);

  it('report STALE (and resolve with reason STALE) while every replica is stopped, and READY again when they return', async () => {
    const readyBefore = { server: serverSeen.filter((e) => e.type === ServerEvents.Ready).length, web: webSeen.filter((e) => e.type === WebEvents.Ready).length, chromium: (await inBrowser.events()).filter((e) => e.type === 'PROVIDER_READY').length };
    for (const r of running) r.process.kill('SIGKILL');
    await Promise.all(running.map((r) => new Promise((resolve) => (r.process.exitCode !== null ? resolve(null) : r.process.once('exit', resolve)))));
    await until('server-sdk stale event', () => has(serverSeen, ServerEvents.Stale), 30_000);
    await until('web-sdk stale event', () => has(webSeen, WebEvents.Stale), 30_000);
    await until('Chromium stale event', async () => has(await inBrowser.events(), 'PROVIDER_STALE'), 30_000);
    expect(await ServerOpenFeature.getClient().getBooleanDetails('checkout', false, { plan: 'free' })).toMatchObject({ value: true, reason: StandardResolutionReasons.STALE });
    expect(await inBrowser.evaluate('checkout')).toMatchObject({ value: true, reason: 'STALE' });
    running = layout.replicas.map((r) => spawnReplica(layout, r.id));
    await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
    await until('server-sdk ready again', () => serverSeen.filter((e) => e.type === ServerEvents.Ready).length > readyBefore.server, 30_000);
    await until('web-sdk ready again', () => webSeen.filter((e) => e.type === WebEvents.Ready).length > readyBefore.web, 30_000);
    await until('Chromium ready again', async () => (await inBrowser.events()).filter((e) => e.type === 'PROVIDER_READY').length > readyBefore.chromium, 30_000);
    await until('a fresh evaluation', async () => (await ServerOpenFeature.getClient().getBooleanDetails('checkout', false, { plan: 'free' })).reason === StandardResolutionReasons.DEFAULT, 15_000);
  }, 150_000);

  it('reports ERROR when its view cannot be loaded from any replica', async () => {
    const errors: string[] = [];
    const broken = ServerOpenFeature.getClient('broken');
    broken.addHandler(ServerEvents.Error, (d) => errors.push(d?.message ?? ''));
    ServerOpenFeature.setProvider('broken', new RegistryInProcessProvider(await client(['http://127.0.0.1:9']), { keyPrefix: PREFIX }));
    await until('the error event', () => errors.length > 0);
    expect(await broken.getBooleanDetails('checkout', false)).toMatchObject({ value: false, reason: 'ERROR' });
  }, 30_000);
});
