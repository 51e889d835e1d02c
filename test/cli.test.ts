// The compiled `vcr` bin against a real 4-replica cluster (issue 20, item 2):
// each behaviour the review found wrong with the CLI, run as a user runs it
// (plain `node dist/cli/vcr.js`, its own process). The cluster has the demo
// registry (namespaces with ACLs and value types, one that needs 2 of 3
// organizations' approval); the CLI's own client key is org1's client.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTypedValue } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { bootstrapDemoRegistry } from '../ops/demo-registry';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { buildCliOnce, cpuOf, emptyNodeCpuMs, getPathBytes, runCli } from './support/cli-bin';

const basePort = 28_000 + Math.floor(Math.random() * 1_000) * 4;
/** Ports 1 to 4: privileged, and nothing listens there, so every connection is refused at once. */
const deadPort = 1;
const FLAG = 'demo/flags/dark-mode';
const CRITICAL = 'demo/flags/critical/payments';
const flagValue = new TextDecoder().decode(encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off', rules: [] }));

let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];

const vcr = (...args: string[]) => runCli(args, { VCR_DATA_DIR: layout.dataDir, VCR_BASE_PORT: String(basePort) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-cli-'));
  layout = prepareLocalCluster({ dataDir: join(dir, 'data'), basePort, fastKdf: true, chainId: 'vcr-cli' });
  running = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await Promise.all([buildCliOnce(), ...layout.replicas.map((r) => waitHealthy(r.url, 60_000))]);
  await bootstrapDemoRegistry(layout, loadGenesis(layout.genesisFile));
  const put = await vcr('put', FLAG, flagValue);
  expect(put.code, put.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('vcr, the compiled CLI, against a real cluster', () => {
  it('get --replica 2 <key> reads that key from replica 2 (the flag is not taken for the key)', async () => {
    const r = await vcr('get', '--replica', '2', FLAG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${FLAG} = ${flagValue}`);
    expect(r.stdout).toContain(`from ${layout.replicas[1]?.url}`);
    expect(r.stdout).not.toContain('--replica');
  }, 30_000);

  it('a replica number out of range, an unknown flag, a missing or extra argument and a bad value are usage errors (exit 2) that say what was wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['get', '--replica', '9', FLAG], /--replica "9": a replica number from 1 to 4/],
      [['get', '--replica', '0', FLAG], /a replica number from 1 to 4/],
      [['get', '--replica', 'two', FLAG], /a replica number from 1 to 4/],
      [['get', FLAG, '--bogus'], /Unknown option '--bogus'/],
      [['get'], /missing <key>/],
      [['get', FLAG, 'extra'], /unexpected argument "extra"/],
      [['put', FLAG], /missing <value>/],
      [['get', FLAG, '--max-staleness-ms', '-5'], /--max-staleness-ms/],
      [['get', FLAG, '-o', 'yaml'], /-o yaml: get offers text, json, table/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['put', FLAG, flagValue, '--as', 'org9'], /--as "org9"/],
    ];
    for (const [args, why] of cases) {
      const r = await vcr(...args);
      expect(r.code, `vcr ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe('');
    }
  }, 60_000);

  it('-o json and --output json print one JSON document, -o table a table, and -w json is a usage error pointing to -o', async () => {
    for (const flag of ['-o', '--output']) {
      const r = await vcr('get', FLAG, flag, 'json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ key: FLAG, found: true, value: flagValue, revision: '1', stale: false, verified: true });
    }
    const t = await vcr('get', FLAG, '-o', 'table');
    expect(t.stdout.split('\n')[0]).toMatch(/^KEY\s+VALUE\s+REVISION\s+HEIGHT\s+CERTIFIED\s+STALE\s+REPLICA$/);
    const w = await vcr('get', FLAG, '-w', 'json');
    expect(w.code).toBe(2);
    expect(w.stderr).toContain("Unknown option '-w'");
    expect(w.stderr).toContain('-o/--output text|json|table');
  }, 30_000);

  it('every command has --help: its usage and options on stdout, exit 0', async () => {
    const top = await vcr('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/exit codes: 0 ok, 1 internal error, 2 usage, 3 refused, 4 pending approval, 5 verification failed, 6 unreachable, 7 stale, 8 setup/);
    for (const command of ['get', 'put', 'delete', 'list', 'history', 'watch', 'pending', 'verify', 'status', 'epochs']) {
      const r = await runCli([command, '--help']); // no data folder needed for help
      expect(r.code, `${command} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: vcr ${command}\\b`));
      expect(r.stdout).toContain('-o, --output FORMAT');
    }
    const witness = await runCli(['witness', '--help']);
    expect(witness.code).toBe(0);
    expect(witness.stdout).toMatch(/witness checkpoint/);
  }, 60_000);

  it('a refused write says refused, with the code and the height it is recorded at, and exits 3: never "committed ... receipt verified"', async () => {
    // The root is closed (the genesis policy): a key under no namespace is refused.
    const outside = await vcr('put', 'nowhere/k', 'v');
    expect(outside.code, outside.stderr).toBe(3);
    expect(outside.stdout).toMatch(/^put nowhere\/k: refused: unknown-namespace\b.*, recorded at height \d+ \(log index \d+\)/);
    // demo/flags/ holds flags only: a plain string is refused.
    const wrongType = await vcr('put', FLAG, 'not a flag');
    expect(wrongType.code).toBe(3);
    expect(wrongType.stdout).toMatch(/refused: wrong-type\b.*recorded at height \d+/);
    for (const r of [outside, wrongType]) expect(r.stdout).not.toMatch(/committed|applied/);
    const json = await vcr('put', 'nowhere/k', 'v', '-o', 'json');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'refused', code: 'unknown-namespace' });
  }, 30_000);

  it('a write to a namespace that needs more organizations is pending approval (exit 4), not applied', async () => {
    const r = await vcr('put', CRITICAL, flagValue);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(/pending approval.*recorded at height \d+/);
    const read = await vcr('get', CRITICAL, '-o', 'json');
    expect(JSON.parse(read.stdout)).toMatchObject({ found: false });
  }, 30_000);

  it('vcr pending lists the waiting change with who approved it and its expiry (exit 4 while one waits), and exits 0 once a second organization applies it', async () => {
    const r = await vcr('pending');
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(new RegExp(`put ${CRITICAL}: approved by org1; demo/flags/critical/ needs 2 of org1, org2, org3; expires \\d{4}-`));
    const json = await vcr('pending', '-o', 'json');
    expect(json.code).toBe(4);
    const listed = JSON.parse(json.stdout) as { changes: { approvals: string[]; ops: { key: string }[]; submissions: unknown[]; verified: boolean }[] };
    expect(listed.changes).toHaveLength(1);
    expect(listed.changes[0]).toMatchObject({ approvals: ['org1'], ops: [{ key: CRITICAL }], verified: true });
    const approve = await vcr('put', '--as', 'org2', CRITICAL, flagValue);
    expect(approve.code, approve.stderr).toBe(0);
    const after = await vcr('pending');
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/^0 changes waiting for approvals at height \d+/m);
  }, 60_000);

  it('with no replica reachable it exits 6 and says UNREACHABLE, not NOT VERIFIED', async () => {
    const r = await runCli(['get', FLAG], { VCR_DATA_DIR: layout.dataDir, VCR_BASE_PORT: String(deadPort) });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^UNREACHABLE: no replica could be asked/);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).not.toContain('NOT VERIFIED');
    const json = await runCli(['get', FLAG, '-o', 'json'], { VCR_DATA_DIR: layout.dataDir, VCR_BASE_PORT: String(deadPort) });
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { class: 'unreachable', exitCode: 6, code: 'unreachable' } });
  }, 30_000);

  it('answers that fail verification exit 5 with NOT VERIFIED (a genesis of another cluster pinned)', async () => {
    const foreign = prepareLocalCluster({ dataDir: join(dir, 'foreign'), basePort, fastKdf: true, chainId: 'vcr-cli' });
    const r = await runCli(['get', FLAG], { VCR_DATA_DIR: foreign.dataDir, VCR_BASE_PORT: String(basePort) });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^NOT VERIFIED/);
    expect(r.stdout).toBe('');
  }, 30_000);

  it('a data folder or genesis that does not exist is an error naming the path (exit 8), and nothing is created', async () => {
    const missing = join(dir, 'no-such-folder');
    const r = await runCli(['get', FLAG], { VCR_DATA_DIR: missing, VCR_BASE_PORT: String(basePort) });
    expect(r.code).toBe(8);
    expect(r.stderr).toContain(`data folder ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const noGenesis = await runCli(['get', FLAG, '--data-dir', empty, '--base-port', String(basePort)]);
    expect(noGenesis.code).toBe(8);
    expect(noGenesis.stderr).toContain(`no genesis at ${join(empty, 'genesis.json')}`);
    expect(existsSync(join(empty, 'genesis.json'))).toBe(false);
    // The relative default (./data) is resolved from where the CLI runs, and named in full.
    const cwd = mkdtempSync(join(tmpdir(), 'vcr-cli-cwd-'));
    const relative = await runCli(['get', FLAG], { VCR_DATA_DIR: '' }, cwd);
    rmSync(cwd, { recursive: true, force: true });
    expect(relative.code).toBe(8);
    expect(relative.stderr).toContain(`data folder ${join(cwd, 'data')} does not exist`);
  }, 30_000);

  it('status is a table of replica, view, primary, height, lag, epoch and verified certificate age', async () => {
    const r = await vcr('status');
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REPLICA\s+URL\s+STATE\s+VIEW\s+PRIMARY\s+HEIGHT\s+LAG\s+EPOCH\s+CERT AGE\s+CERTIFICATE$/);
    expect(rows).toHaveLength(4);
    for (const [i, row] of rows.entries()) expect(row).toMatch(new RegExp(`^r${i + 1}\\s+http://127\\.0\\.0\\.1:${basePort + i}\\s+normal\\s+0\\s+r1\\s+\\d+\\s+\\d+\\s+0\\s+[0-9.]+ s\\s+verified$`));
    const json = JSON.parse((await vcr('status', '-o', 'json')).stdout) as { replica: string; primary: string; lag: string; verified: boolean }[];
    expect(json.map((j) => [j.replica, j.primary, j.verified])).toEqual([['r1', 'r1', true], ['r2', 'r1', true], ['r3', 'r1', true], ['r4', 'r1', true]]);
  }, 30_000);

  // What a get loads is what it costs to start: Node's fetch (undici) and zod's whole namespace (its
  // locales alone were 264 kB) were most of it (docs/cli.md, "Running it").
  it('get loads only what a read needs: under 350 kB of JavaScript (zod without its locales) and never undici', async () => {
    const { bytes, files } = getPathBytes(await buildCliOnce());
    console.log(`vcr get loads ${files.length} files, ${bytes} bytes`);
    expect(bytes).toBeLessThan(350_000);
    const r = await runCli(['get', FLAG], { VCR_DATA_DIR: layout.dataDir, VCR_BASE_PORT: String(basePort) }, tmpdir(), { measureCpu: true });
    expect(r.code, r.stderr).toBe(0);
    expect(cpuOf(r).loadedUndici).toBe(false);
  }, 30_000);

  // The target is 0.3 s of wall time on this machine; on the shared 2-core machine the wall time
  // mostly measures the load (Node's own empty start takes 0.2 to 0.7 s at a load of 20), so the
  // assertion is on CPU time, the least of 5 runs, both absolute and above Node's own start measured
  // alongside (about 0.27 s and 0.15 s on 2026-12-08; before, 0.32 s and 0.20 s; tsx spent 1.5 s).
  it('get costs under 0.4 s of CPU, under 0.25 s of it above Node\'s own empty start; wall times printed', async () => {
    const runs: { cpuMs: number; wallMs: number }[] = [];
    const floor: number[] = [];
    for (let i = 0; i < 5; i++) {
      floor.push(await emptyNodeCpuMs());
      const r = await runCli(['get', FLAG], { VCR_DATA_DIR: layout.dataDir, VCR_BASE_PORT: String(basePort) }, tmpdir(), { measureCpu: true });
      expect(r.code, r.stderr).toBe(0);
      runs.push({ cpuMs: cpuOf(r).cpuMs, wallMs: r.wallMs });
    }
    const least = Math.min(...runs.map((r) => r.cpuMs));
    console.log(`vcr get: wall ms ${runs.map((r) => r.wallMs.toFixed(0)).join(', ')}; CPU ms ${runs.map((r) => r.cpuMs.toFixed(0)).join(', ')}; node -e '' CPU ms ${floor.map((c) => c.toFixed(0)).join(', ')}`);
    expect(least).toBeLessThan(400);
    expect(least - Math.min(...floor)).toBeLessThan(250);
  }, 60_000);
});

