// Observability against a real four-replica cluster (docs/runbook.md
// "Metrics", "Probes", "Logs"): /metrics passes `promtool check metrics`
// (Debian's prometheus package; parsed here as well), every family has HELP,
// the latency histograms fill in after a write, the alerts and the Grafana
// dashboard name only metrics a real replica exports, /readyz turns 503 when
// the quorum is gone while /livez still answers, and the log lines carry levels.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { nodeFetch } from '@vcr/client-sdk/node';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { loadGenesis } from '../apps/replica/src/genesis';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';

const PROMTOOL = '/usr/bin/promtool';
const yaml = createRequire(import.meta.url)('js-yaml') as { load: (text: string) => unknown };

let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
const logs = new Map<string, string[]>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-observability-'));
  const basePort = 30_000 + Math.floor(Math.random() * 1_000) * 8;
  layout = prepareLocalCluster({ dataDir: join(dir, 'data'), basePort, fastKdf: true, rootWrite: 'open' });
  running = layout.replicas.map((r) => spawnReplica(layout, r.id, (line) => logs.set(r.id, [...(logs.get(r.id) ?? []), line])));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  // One write through r1, so the commit and phase histograms have observations.
  const client = await RegistryClient.create({
    membership: loadGenesis(layout.genesisFile),
    replicas: [layout.replicas[0]?.url ?? ''],
    epochReplicas: layout.replicas.map((r) => r.url),
    signer: createNodeSigner(randomBytes(32)),
    backend: nodeBackend,
    fetch: nodeFetch(),
  });
  expect((await client.put('obs/k', 'v')).result.ok).toBe(true);
}, 120_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

const urlOf = (i: number) => layout.replicas[i]?.url ?? '';
const scrape = async (i: number) => (await fetch(`${urlOf(i)}/metrics`)).text();

/** Family name -> { help, type }, and every sample's name, from a text exposition. */
function parseExposition(text: string): { families: Map<string, { help?: string; type?: string }>; samples: { name: string; labels: string; value: number }[] } {
  const families = new Map<string, { help?: string; type?: string }>();
  const samples: { name: string; labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      const family = families.get(meta[2] as string) ?? {};
      if (meta[1] === 'HELP') family.help = meta[3];
      else family.type = meta[3];
      families.set(meta[2] as string, family);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    expect(sample, `not a sample line: ${line}`).not.toBeNull();
    samples.push({ name: sample?.[1] as string, labels: sample?.[2] ?? '', value: Number(sample?.[3]) });
  }
  return { families, samples };
}

/** The metric names an expression reads (vcr_, process_, nodejs_), with histogram suffixes taken off. */
function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:vcr|process|nodejs)_[a-z0-9_]+)/g)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, ''));
}

describe('GET /metrics on a real replica', () => {
  it('passes promtool check metrics, and every family has HELP and TYPE', async () => {
    const text = await scrape(0);
    if (existsSync(PROMTOOL)) {
      const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.status).toBe(0);
    }
    const { families, samples } = parseExposition(text);
    for (const [name, family] of families) {
      expect(family.help, `${name} has HELP`).toMatch(/\S/);
      expect(family.type, `${name} has TYPE`).toMatch(/^(counter|gauge|histogram|summary)$/);
    }
    // Every sample belongs to a declared family and carries the replica label.
    for (const s of samples) {
      expect(families.has(s.name.replace(/_(bucket|sum|count)$/, '')) || families.has(s.name), s.name).toBe(true);
      expect(s.labels).toMatch(/replica="r1"/);
    }
  });

  it('keeps the names the alerts, benchmark and fault suite read, adds latency histograms, process and Node.js metrics, database size', async () => {
    const { families, samples } = parseExposition(await scrape(0));
    for (const name of ['vcr_blocks_committed_total', 'vcr_requests_committed_total', 'vcr_view_changes_total', 'vcr_requests_forwarded_total', 'vcr_equivocation_evidence_total', 'vcr_view', 'vcr_committed_height', 'vcr_connected_peers', 'vcr_store_commits_total', 'vcr_store_syncs_total', 'vcr_rejected_messages_total', 'vcr_peer_errors_total', 'vcr_peer_dropped_total', 'vcr_peer_intake_dropped_total', 'vcr_peer_intake_queued_frames']) {
      expect(families.has(name), name).toBe(true);
    }
    for (const name of ['vcr_http_request_duration_seconds', 'vcr_request_commit_seconds', 'vcr_block_commit_seconds', 'vcr_pbft_phase_seconds']) expect(families.get(name)?.type, name).toBe('histogram');
    const value = (name: string, labels = '') => samples.find((s) => s.name === name && s.labels.includes(labels))?.value;
    expect(value('vcr_request_commit_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('vcr_block_commit_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('vcr_pbft_phase_seconds_count', 'phase="prepare"')).toBeGreaterThanOrEqual(1);
    expect(value('vcr_pbft_phase_seconds_count', 'phase="commit"')).toBeGreaterThanOrEqual(1);
    // By route pattern, not URL: the key is not a label value.
    expect(value('vcr_http_request_duration_seconds_count', 'route="/v1/requests",method="POST",code="200"')).toBeGreaterThanOrEqual(1);
    expect(samples.some((s) => s.labels.includes('obs/k'))).toBe(false);
    expect(value('vcr_database_size_bytes')).toBeGreaterThan(0);
    // Issue 17: the WAL alone (its growth means held-back checkpoints) and the state snapshot, as gauges.
    expect(families.get('vcr_database_wal_bytes')?.type).toBe('gauge');
    expect(value('vcr_database_wal_bytes')).toBeGreaterThanOrEqual(0);
    expect(families.get('vcr_snapshot_size_bytes')?.type).toBe('gauge');
    expect(value('vcr_volume_size_bytes')).toBeGreaterThan(0);
    expect(value('vcr_membership_size')).toBe(4);
    expect(value('vcr_ready')).toBe(1);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_version_info']) expect(families.has(name), name).toBe(true);
  });

  it('the alert rules pass promtool check rules and name only metrics a real replica exports', async () => {
    const file = new URL('../ops/deploy/prometheus/vcr-alerts.yaml', import.meta.url);
    if (existsSync(PROMTOOL)) expect(spawnSync(PROMTOOL, ['check', 'rules', file.pathname], { encoding: 'utf8' }).status).toBe(0);
    // The disk alerts' unit test: the database alerts fire while the volume still has room (vcr-alerts.test.yaml).
    if (existsSync(PROMTOOL)) {
      const unit = spawnSync(PROMTOOL, ['test', 'rules', new URL('../ops/deploy/prometheus/vcr-alerts.test.yaml', import.meta.url).pathname], { encoding: 'utf8' });
      expect(unit.status, unit.stdout + unit.stderr).toBe(0);
    }
    const { families } = parseExposition(await scrape(0));
    const rules = (yaml.load(readFileSync(file, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    for (const { alert, expr } of rules) for (const name of metricNamesIn(expr)) expect(families.has(name), `${alert} reads ${name}`).toBe(true);
    // Disk alerts fire before the disk fills: on the volume's free space and on the database's own growth and WAL.
    const names = rules.map((r) => r.alert);
    for (const alert of ['VcrDiskAlmostFull', 'VcrDiskFillingUp', 'VcrDatabaseOutgrowsVolume', 'VcrDatabaseWalLarge']) expect(names, alert).toContain(alert);
    // Peer alerts follow the membership size instead of a constant.
    const peerRules = rules.filter((r) => r.expr.includes('vcr_connected_peers'));
    expect(peerRules.length).toBeGreaterThanOrEqual(2);
    for (const r of peerRules) {
      expect(r.expr, r.alert).toContain('vcr_membership_size');
      expect(r.expr, r.alert).not.toMatch(/vcr_connected_peers\s*[<>]=?\s*\d/);
    }
  });

  it('every query of the Grafana dashboard names a metric a real replica exports', async () => {
    const { families } = parseExposition(await scrape(0));
    const dashboard = JSON.parse(readFileSync(new URL('../ops/deploy/grafana/vcr-replicas.json', import.meta.url), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(15);
    for (const { title, expr } of exprs) {
      const names = metricNamesIn(expr);
      expect(names.length, `${title}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(families.has(name), `${title} reads ${name}`).toBe(true);
    }
  });
});

describe('probes and logs', () => {
  it('the log lines are JSON with a level and an ISO time', () => {
    const lines = (logs.get('r1') ?? []).map((l) => JSON.parse(l) as { level?: string; time?: string; event?: string });
    expect(lines.find((l) => l.event === 'listening')).toMatchObject({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    for (const l of lines) expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(l.level);
  });

  it('/readyz is 200 with a quorum and 503 without one, naming the check; /livez answers either way', async () => {
    const ready = await fetch(`${urlOf(0)}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { following: { ok: true }, quorumConnected: { ok: true }, caughtUp: { ok: true } } });
    for (const r of running.slice(2)) r.process.kill('SIGTERM');
    const deadline = Date.now() + 30_000;
    let body: { ready?: boolean; checks?: Record<string, { ok: boolean }> } = {};
    let status = 0;
    while (Date.now() < deadline) {
      const res = await fetch(`${urlOf(0)}/readyz`);
      status = res.status;
      body = (await res.json()) as typeof body;
      if (status === 503) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(503);
    expect(body.checks?.quorumConnected?.ok).toBe(false);
    expect((await fetch(`${urlOf(0)}/livez`)).status).toBe(200);
    const { samples } = parseExposition(await scrape(0));
    expect(samples.find((s) => s.name === 'vcr_ready')?.value).toBe(0);
  }, 40_000);
});
