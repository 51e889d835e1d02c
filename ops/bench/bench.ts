// `npm run bench`: the cluster benchmark of issue 9. Starts a 4-replica
// cluster of real processes (r1 profiled), measures closed-loop writes at
// each client count, verified reads from one replica and from all, the SDK's
// verification cost per read, state transfer to a replica far behind, and
// memory; then the same writes and reads against a 3-member etcd cluster,
// when etcd is installed. Prints one markdown report and saves it with an
// SVG chart under bench-results/<timestamp>/. Every process it starts is
// stopped at the end, on errors and on Ctrl-C (processes.ts). Read scale-out:
// two read-only mirrors (docs/mirror.md) follow the cluster and serve the
// same verified reads; `--only mirrors` runs just that section (with one
// write level to have keys, and the one-replica reads for comparison), and
// `--only writes` just the write levels of both systems with the profile.
// Each system first runs one unmeasured warm-up level, so the first measured
// level does not meet a cold JIT. `--runs N` measures everything N times on
// fresh clusters and reports the median of each figure (runs.ts).
//
//   npm run bench -- --seconds 5 --levels 1,16,64,256 --transfer-entries 3000
//   npm run bench -- --runs 3
//   npm run bench -- --only writes --seconds 2 --warmup 1 --levels 1,8 --runs 2
//   npm run bench -- --only mirrors
//   npm run bench -- --only reads --runs 3

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChart } from './chart';
import { type LoadOptions, type LoadResult, runClosedLoop } from './closed-loop';
import { pickMainThreadProfile, summarizeProfile, summarizeProfiles } from './cpu-profile';
import { type EtcdCluster, findEtcd, startEtcdCluster, stopEtcdCluster } from './etcd-cluster';
import { killAll, rssMiB } from './processes';
import { etcdReader, rawReader, vcrReader } from './read-load';
import { type BenchResults, type Machine, type RunSet, renderMirrorsOnlyReport, renderReadsOnlyReport, renderReport, renderViewsOnlyReport, renderWritesOnlyReport } from './report';
import { measureMirrorReads } from './mirror-reads';
import { medianOfRuns } from './runs';
import { measureSdkVerifyCost } from './sdk-verify-cost';
import { measureStateTransfer } from './state-transfer';
import { measureRestart } from './restart';
import { renderRestartOnlyReport } from './report-restart';
import { currentView, startVcrCluster, stopVcrCluster, type VcrCluster } from './vcr-cluster';
import { etcdWriter, vcrWriter } from './write-load';
import { measureViewFigures } from './view-figures';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The unmeasured warm-up level lasts this many times --warmup. */
const warmupLevelFactor = 3;

const usage = `npm run bench -- [options]
  --seconds N            measured seconds per load level (default 5)
  --warmup N             warm-up seconds before each level (default 3); the
                         unmeasured warm-up level at the start lasts ${warmupLevelFactor}N
  --warmup-clients N     clients of that warm-up level, writes (default 16; 0: none)
  --levels A,B,...       concurrent clients per write level (default 1,16,64,256)
  --runs N               measure everything N times on fresh clusters and print
                         the median of each figure (default 1)
  --read-clients N       concurrent clients of the read phases (default 64)
  --transfer-entries N   log entries for the state-transfer phase (default 3000; issue 9 asks 100000, see docs/benchmark.md)
  --etcd PATH            etcd binary (default: etcd on PATH, then /usr/bin/etcd)
  --no-etcd              skip the etcd comparison
  --no-transfer          skip the state-transfer phase
  --no-mirrors           skip the read scale-out phase (two read-only mirrors)
  --only writes          run only the write levels, ours and etcd (warm-up
                         level included), with r1's profile: no reads, mirrors,
                         SDK cost or state transfer
  --only mirrors         run only the read scale-out phase: one write level of
                         --read-clients clients for keys, reads from r1, reads
                         across two mirrors (no etcd, no profile)
  --only reads           run only the reads, ours and etcd: one write level of
                         --read-clients clients for keys on each system, then
                         the read rows and the SDK's verification cost (no
                         mirrors, profile or state transfer)
  --only views           run only the local-view figures (issue 19): evaluateFlag
                         from a verified view, and 100 changes reaching a view
  --only restart         run only the restart figure (issue 17): a history of
                         --restart-entries signed writes, then r1 restarted,
                         timed to its first verified read, with its snapshot
                         and with the snapshot moved away
  --restart-entries N    log entries of that history (default 100000)
  --restart-replicas N   replicas of that cluster (default 4; 1 builds the
                         history faster on a busy machine, see docs/benchmark.md)
  --no-profile           do not profile r1
  --out DIR              results folder (default bench-results)`;

function options() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '3' },
      'warmup-clients': { type: 'string', default: '16' },
      levels: { type: 'string', default: '1,16,64,256' },
      runs: { type: 'string', default: '1' },
      'read-clients': { type: 'string', default: '64' },
      'transfer-entries': { type: 'string', default: '3000' },
      'restart-entries': { type: 'string', default: '100000' },
      'restart-replicas': { type: 'string', default: '4' },
      etcd: { type: 'string' },
      'no-etcd': { type: 'boolean', default: false },
      'no-transfer': { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      'no-mirrors': { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: 'bench-results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const number = (name: string, text: string, zero: 'zero allowed' | 'positive') => {
    const n = Number(text);
    const bad = text.trim() === '' || !Number.isFinite(n) || n < 0 || (zero === 'positive' && n === 0);
    if (bad) throw new Error(`--${name} must be a ${zero === 'positive' ? 'positive' : 'non-negative'} number, not ${JSON.stringify(text)}\n${usage}`);
    return n;
  };
  const positive = (name: string, text: string) => number(name, text, 'positive');
  const warmupSeconds = number('warmup', values.warmup, 'zero allowed');
  return {
    seconds: positive('seconds', values.seconds),
    warmupSeconds,
    warmupLevelSeconds: warmupLevelFactor * warmupSeconds,
    warmupClients: Math.round(number('warmup-clients', values['warmup-clients'], 'zero allowed')),
    levels: values.levels.split(',').map((l) => Math.round(positive('levels', l))),
    runs: Math.round(positive('runs', values.runs)),
    readClients: Math.round(positive('read-clients', values['read-clients'])),
    transferEntries: Math.round(positive('transfer-entries', values['transfer-entries'])),
    restartEntries: Math.round(positive('restart-entries', values['restart-entries'])),
    restartReplicas: Math.round(positive('restart-replicas', values['restart-replicas'])),
    etcdPath: values.etcd,
    etcd: !values['no-etcd'],
    transfer: !values['no-transfer'],
    profile: !values['no-profile'],
    mirrors: !values['no-mirrors'],
    only: onlyOption(values.only),
    out: values.out,
  };
}

/** `--only <section>`: `writes`, `reads`, `mirrors`, `views` or `restart`. */
function onlyOption(text: string | undefined): 'mirrors' | 'reads' | 'writes' | 'views' | 'restart' | undefined {
  if (text === undefined) return undefined;
  if (text === 'mirrors' || text === 'reads' || text === 'writes' || text === 'views' || text === 'restart') return text;
  throw new Error(`--only takes "writes", "reads", "mirrors", "views" or "restart", not ${JSON.stringify(text)}\n${usage}`);
}

function machine(): Machine {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux: leave it unknown
  }
  return { cpus: availableParallelism(), cpuModel, node: process.version, memoryGiB: totalmem() / 2 ** 30, loadAverage: loadAverage(), loadAverageAtEnd: '' };
}

const loadAverage = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

const levelLine = (what: string, r: LoadResult) =>
  `${what}: ${r.perSecond.toFixed(0)}/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, failed ${r.failed}; CPU % servers ${r.serverCpuPct.toFixed(0)}, generator ${r.generatorCpuPct.toFixed(0)}, other ${r.otherCpuPct.toFixed(0)}; CPU ms/op servers ${r.serverCpuMsPerOp.toFixed(2)}, generator ${r.generatorCpuMsPerOp.toFixed(2)}`;

type Options = ReturnType<typeof options>;

/** `--only reads` writes its keys in one level of --read-clients clients, without the warm-up level; otherwise the options as given. */
function keyLevelOptions(o: Options): Options {
  return o.only === 'reads' ? { ...o, warmupClients: 0, levels: [o.readClients] } : o;
}
type Window = { start: bigint; end: bigint };

interface WriteSystem {
  name: 'ours' | 'etcd';
  /** The writer for one level: keys under `tag`, the committed ones added to `keys`. */
  writer: (tag: string, keys: string[]) => LoadOptions['makeWorker'];
  /** The server processes (4 replicas, 3 members) whose CPU the columns sum. */
  pids: () => (number | undefined)[];
}

/** The unmeasured warm-up level, then the measured write levels (committed keys into `keys`); with their windows, for the profile. */
async function writeLevels(o: Options, system: WriteSystem, keys: string[]): Promise<{ warmup: LoadResult | undefined; levels: LoadResult[]; windows: Window[] }> {
  const { writer, pids: watchPids } = system;
  const durationMs = o.seconds * 1000;
  const warmupMs = o.warmupSeconds * 1000;
  let warmup: LoadResult | undefined;
  if (o.warmupClients > 0) {
    // Not measured: V8 compiles the write path (ours, and the generator's signing and receipt checks) before level one.
    warmup = await runClosedLoop({ clients: o.warmupClients, durationMs: o.warmupLevelSeconds * 1000, warmupMs: 0, makeWorker: writer('warm', []), watchPids: watchPids() });
    progress(levelLine(`${system.name}, warm-up level of ${o.warmupClients} clients (not measured)`, warmup));
  }
  const levels: LoadResult[] = [];
  const windows: Window[] = [];
  for (const clients of o.levels) {
    const r = await runClosedLoop({ clients, durationMs, warmupMs, makeWorker: writer(`w${clients}`, keys), watchPids: watchPids() });
    levels.push(r);
    windows.push(r.windowUs);
    progress(levelLine(`${system.name}, ${clients} clients`, r));
  }
  return { warmup, levels, windows };
}

async function etcdReads(etcd: EtcdCluster, o: Options, results: BenchResults, keys: string[]): Promise<void> {
  const durationMs = o.seconds * 1000;
  const warmupMs = o.warmupSeconds * 1000;
  const one = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: etcdReader(etcd.clientUrls.slice(0, 1), keys), watchPids: etcd.pids().slice(0, 1) });
  progress(levelLine('etcd, reads from one member', one));
  const all = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: etcdReader(etcd.clientUrls, keys), watchPids: etcd.pids() });
  progress(levelLine('etcd, reads from all members', all));
  results.etcdReads = { one, all };
}

async function runEtcd(binary: string, o: Options, results: BenchResults): Promise<void> {
  const etcd = await startEtcdCluster(binary);
  try {
    results.etcdNote = `etcd ${etcd.version} (${binary}), 3 members on this machine, driven over its v3 JSON gateway`;
    const keys: string[] = [];
    // The members' own pids: the server CPU columns are theirs, measured as our replicas' are.
    const writes = await writeLevels(keyLevelOptions(o), { name: 'etcd', writer: (tag, k) => etcdWriter(etcd.clientUrls, tag, k), pids: () => etcd.pids() }, keys);
    results.etcdWarmupLevel = writes.warmup;
    results.etcdWrites = writes.levels;
    if (o.only !== 'writes') await etcdReads(etcd, o, results, keys);
    etcd.pids().forEach((pid, i) => results.memory.push({ name: `etcd member m${i + 1}`, rssMiB: rssMiB(pid) }));
  } finally {
    await stopEtcdCluster(etcd);
  }
}

/** Our reads, the mirrors, the SDK's cost and the state transfer, after the write levels. */
async function vcrAfterWrites(vcr: VcrCluster, o: Options, results: BenchResults, written: string[]): Promise<void> {
  const durationMs = o.seconds * 1000;
  const warmupMs = o.warmupSeconds * 1000;
  const firstKey = written[0];
  if (firstKey === undefined) throw new Error('no write committed in the write levels: nothing to read (is the cluster healthy?)');
  const r1 = vcr.urls.slice(0, 1);
  const one = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: vcrReader(vcr.membership, r1, written, vcr.urls), watchPids: vcr.pids().slice(0, 1) });
  progress(levelLine('ours, reads from r1', one));
  const oneRaw = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: rawReader(r1, written), watchPids: vcr.pids().slice(0, 1) });
  progress(levelLine('ours, unverified reads from r1', oneRaw));
  const all = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: vcrReader(vcr.membership, vcr.urls, written), watchPids: vcr.pids() });
  progress(levelLine('ours, reads from all', all));
  results.vcrReads = { one, all, oneRaw };
  if (o.mirrors && o.only !== 'reads') {
    const m = await measureMirrorReads(vcr, written, { clients: o.readClients, durationMs, warmupMs });
    results.mirrorReads = { oneReplica: one, oneReplicaRaw: oneRaw, mirrors: m };
    progress(levelLine(`ours, reads across ${m.mirrors} mirrors`, m.result));
    progress(levelLine(`ours, unverified reads across ${m.mirrors} mirrors`, m.raw));
  } else results.mirrorNote = 'Skipped (--no-mirrors).';
  results.verifyCost = await measureSdkVerifyCost(vcr.membership, vcr.urls[1] as string, firstKey, 500);
  progress('SDK verification cost measured');
  await viewFigures(vcr, results);

  if (o.transfer && o.only !== 'reads') {
    progress(`state transfer: r4 wiped, topping the log up to ${o.transferEntries} entries`);
    const t = await measureStateTransfer(vcr, { entries: o.transferEntries, clients: 256 });
    results.transfer = t;
    progress(`state transfer: ${t.entries} entries in ${t.seconds.toFixed(1)} s`);
  } else results.transferNote = 'Skipped (--no-transfer).';
}

/** One run's r1 profile: its file and the write levels' windows, to pool across runs. */
interface RunProfile {
  file: string;
  windowsUs: Window[];
}

/** Our half: writes (after the warm-up level), then unless --only writes reads, SDK cost, state transfer; memory; the profile. */
async function runVcr(o: Options, results: BenchResults): Promise<RunProfile | undefined> {
  progress('starting the 4-replica cluster');
  const profile = o.profile && o.only !== 'reads';
  const vcr = await startVcrCluster({ profile });
  const written: string[] = [];
  const writes = await writeLevels(keyLevelOptions(o), { name: 'ours', writer: (tag, keys) => vcrWriter(vcr.membership, vcr.urls, tag, keys), pids: () => vcr.pids() }, written);
  results.vcrWarmupLevel = writes.warmup;
  results.vcrWrites = writes.levels;
  const viewAfterWrites = await currentView(vcr.urls[0] as string);
  if (o.only !== 'writes') await vcrAfterWrites(vcr, o, results, written);

  vcr.replicas.forEach((r) => results.memory.push({ name: `replica ${r.id} (ours)${results.transfer !== undefined && r.id === 'r4' ? ', restarted empty for the state transfer' : ''}`, rssMiB: rssMiB(r.process.pid) }));
  const stopped = await stopVcrCluster(vcr);
  if (stopped.uncleanExits.length > 0) progress(`replicas that did not exit cleanly: ${stopped.uncleanExits.join('; ')}`);
  if (!profile) {
    results.profileNote = o.profile ? 'Not profiled (--only reads: the profile covers writes).' : 'Not profiled (--no-profile).';
    return undefined;
  }
  const main = pickMainThreadProfile(stopped.profiles);
  if (main === undefined) {
    results.profileNote = `r1 wrote no profile (${stopped.uncleanExits.join('; ') || 'it exited cleanly'}).`;
    return undefined;
  }
  results.profile = summarizeProfile(main, writes.windows, repoRoot);
  results.profileNote =
    `\`node --cpu-prof\` on r1, stopped with SIGINT (the replica closes its store and exits 0, and Node writes the profile); samples cut to the write levels' measured windows (the warm-up level left out). ` +
    (viewAfterWrites === 0 ? 'r1 stayed primary (view 0) through the writes.' : `The view was ${viewAfterWrites} after the writes: r1 was not primary all along, so part of this is a backup's work.`);
  return { file: main, windowsUs: writes.windows };
}

/** `--only mirrors`: a cluster, one write level for keys, reads from r1, then reads across two mirrors. */
async function runMirrorsOnly(o: Options, results: BenchResults): Promise<void> {
  const durationMs = o.seconds * 1000;
  const warmupMs = o.warmupSeconds * 1000;
  progress('starting the 4-replica cluster');
  const vcr = await startVcrCluster({ profile: false });
  const written: string[] = [];
  const w = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: vcrWriter(vcr.membership, vcr.urls, 'm', written), watchPids: vcr.pids() });
  results.vcrWrites.push(w);
  progress(levelLine(`ours, ${o.readClients} clients writing the keys to read`, w));
  if (written.length === 0) throw new Error('no write committed: nothing to read (is the cluster healthy?)');
  const one = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: vcrReader(vcr.membership, vcr.urls.slice(0, 1), written, vcr.urls), watchPids: vcr.pids().slice(0, 1) });
  progress(levelLine('ours, reads from r1', one));
  const oneRaw = await runClosedLoop({ clients: o.readClients, durationMs, warmupMs, makeWorker: rawReader(vcr.urls.slice(0, 1), written), watchPids: vcr.pids().slice(0, 1) });
  progress(levelLine('ours, unverified reads from r1', oneRaw));
  const m = await measureMirrorReads(vcr, written, { clients: o.readClients, durationMs, warmupMs });
  progress(levelLine(`ours, reads across ${m.mirrors} mirrors`, m.result));
  progress(levelLine(`ours, unverified reads across ${m.mirrors} mirrors`, m.raw));
  results.mirrorReads = { oneReplica: one, oneReplicaRaw: oneRaw, mirrors: m };
  await stopVcrCluster(vcr);
}

/** Local views: evaluateFlag from a view, and changes reaching a subscribed view (view-figures.ts). */
async function viewFigures(vcr: VcrCluster, results: BenchResults): Promise<void> {
  const v = await measureViewFigures(vcr.membership, vcr.urls, { flags: 100, evalMs: 2_000, changes: 100 });
  results.localEval = v.localEval;
  results.viewPropagation = v.viewPropagation;
  progress(`local view: evaluateFlag p50 ${v.localEval.p50Us.toFixed(2)} µs; a change reaches the view in p50 ${v.viewPropagation.p50Ms.toFixed(1)} ms, p99 ${v.viewPropagation.p99Ms.toFixed(1)} ms`);
}

/** `--only views`: a cluster, then the local-view figures. */
async function runViewsOnly(results: BenchResults): Promise<void> {
  progress('starting the 4-replica cluster');
  const vcr = await startVcrCluster({ profile: false });
  try {
    await viewFigures(vcr, results);
  } finally {
    await stopVcrCluster(vcr);
  }
}

/** `--only restart`: a cluster, a long certified history, then r1 restarted and timed to its first verified read. */
async function runRestartOnly(o: Options, results: BenchResults): Promise<void> {
  progress(`starting a ${o.restartReplicas}-replica cluster; then ${o.restartEntries} signed writes for r1's history`);
  const vcr = await startVcrCluster({ profile: false, replicas: o.restartReplicas });
  try {
    results.restart = await measureRestart(vcr, { entries: o.restartEntries, clients: 128, withoutSnapshot: true });
  } finally {
    await stopVcrCluster(vcr);
  }
}

/** The comparison half, when etcd is installed; a failure leaves our half standing, with the reason. */
async function compareWithEtcd(o: Options, results: BenchResults): Promise<void> {
  const etcdBinary = o.etcd ? findEtcd(o.etcdPath) : undefined;
  if (!o.etcd) results.etcdNote = 'skipped (--no-etcd)';
  else if (etcdBinary === undefined) {
    const where = o.etcdPath === undefined ? 'no etcd on PATH or at /usr/bin/etcd' : `no file at ${o.etcdPath}`;
    results.etcdNote = `NOT INSTALLED (${where}; install Debian's package with \`apt-get update && apt-get install -y etcd-server\`), so there is no comparison`;
    progress(`etcd is not installed: ${where}; the report has no comparison`);
  } else {
    progress(`starting the 3-member etcd cluster (${etcdBinary})`);
    try {
      await runEtcd(etcdBinary, o, results);
    } catch (error) {
      // Our half of the report still stands; say why the comparison is missing.
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      progress(`etcd failed: ${error instanceof Error ? error.message : String(error)}`);
      results.etcdNote = `FAILED (${reason}), so there is no comparison`;
      results.etcdWarmupLevel = undefined;
      results.etcdWrites = undefined;
      results.etcdReads = undefined;
    }
  }
}

function newResults(o: Options): BenchResults {
  return {
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: machine(),
    settings: { seconds: o.seconds, warmupSeconds: o.warmupSeconds, warmupClients: o.warmupClients, warmupLevelSeconds: o.warmupLevelSeconds, levels: o.levels, readClients: o.readClients, transferEntries: o.transferEntries, restartEntries: o.restartEntries, restartReplicas: o.restartReplicas, runs: o.runs, only: o.only },
    vcrWarmupLevel: undefined,
    etcdWarmupLevel: undefined,
    vcrWrites: [],
    vcrReads: undefined,
    etcdNote: '',
    etcdWrites: undefined,
    etcdReads: undefined,
    verifyCost: [],
    transfer: undefined,
    transferNote: '',
    memory: [],
    profile: undefined,
    profileNote: '',
    mirrorReads: undefined,
    mirrorNote: '',
    localEval: undefined,
    viewPropagation: undefined,
  };
}

/** One whole measurement on fresh clusters: the section `--only` names, or everything. */
async function runOnce(o: Options): Promise<{ results: BenchResults; profile: RunProfile | undefined }> {
  const results = newResults(o);
  let profile: RunProfile | undefined;
  if (o.only === 'mirrors') await runMirrorsOnly(o, results);
  else if (o.only === 'views') await runViewsOnly(results);
  else if (o.only === 'restart') await runRestartOnly(o, results);
  else {
    profile = await runVcr(o, results);
    await compareWithEtcd(o, results);
  }
  results.machine.loadAverageAtEnd = loadAverage();
  return { results, profile };
}

/** The figure-by-figure median of the runs; the profiles are pooled (a median of top-N lists means nothing). */
function combine(runs: BenchResults[], profiles: RunProfile[]): RunSet {
  const first = runs[0] as BenchResults;
  const median = { ...(medianOfRuns(runs) as BenchResults), startedAt: first.startedAt, settings: first.settings, machine: { ...first.machine } };
  if (runs.length > 1) median.profile = profiles.length === 0 ? undefined : summarizeProfiles(profiles, repoRoot);
  else median.profile = first.profile;
  return { median, runs };
}

const json = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';

/** Saves the report, the numbers (the medians and every run's), the chart and the raw profiles in a folder of their own; returns it. */
function save(o: Options, set: RunSet, report: string, profiles: RunProfile[]): { dir: string; files: string[] } {
  const m = set.median;
  const dir = resolve(o.out, `${m.startedAt.replace(/:/g, '-')}${o.only === undefined ? '' : `-${o.only}`}`);
  mkdirSync(dir, { recursive: true });
  const files = ['table.md', 'results.json'];
  writeFileSync(join(dir, 'table.md'), report + '\n');
  writeFileSync(join(dir, 'results.json'), json({ runCount: set.runs.length, median: m, runs: set.runs }));
  // The raw profiles, for Chrome DevTools or speedscope (their temporary folders go at exit).
  profiles.forEach((p, i) => {
    const name = profiles.length === 1 ? 'r1.cpuprofile' : `r1-run${i + 1}.cpuprofile`;
    copyFileSync(p.file, join(dir, name));
    files.push(name);
  });
  if (o.only === 'mirrors' || o.only === 'reads' || o.only === 'views' || o.only === 'restart') return { dir, files };
  const series = [
    { label: 'ours p50', color: '#1f5fbf', dashed: false, points: m.vcrWrites.map((w) => ({ x: w.perSecond, y: w.p50Ms, tag: String(w.clients) })) },
    { label: 'ours p99', color: '#1f5fbf', dashed: true, points: m.vcrWrites.map((w) => ({ x: w.perSecond, y: w.p99Ms, tag: String(w.clients) })) },
    ...(m.etcdWrites
      ? [
          { label: 'etcd p50', color: '#d9730d', dashed: false, points: m.etcdWrites.map((w) => ({ x: w.perSecond, y: w.p50Ms, tag: String(w.clients) })) },
          { label: 'etcd p99', color: '#d9730d', dashed: true, points: m.etcdWrites.map((w) => ({ x: w.perSecond, y: w.p99Ms, tag: String(w.clients) })) },
        ]
      : []),
  ];
  const runs = set.runs.length === 1 ? '' : `, median of ${set.runs.length} runs`;
  writeFileSync(join(dir, 'chart.svg'), renderChart('Write throughput against latency', `${m.startedAt}, ${m.machine.cpus} CPUs ${m.machine.cpuModel}, Node ${m.machine.node}; etcd: ${m.etcdWrites ? 'yes' : 'not run'}${runs}`, series));
  files.push('chart.svg');
  return { dir, files };
}

async function main(): Promise<void> {
  const o = options();
  const runs: BenchResults[] = [];
  const profiles: RunProfile[] = [];
  for (let i = 0; i < o.runs; i++) {
    if (o.runs > 1) progress(`run ${i + 1} of ${o.runs}`);
    const run = await runOnce(o);
    runs.push(run.results);
    if (run.profile !== undefined) profiles.push(run.profile);
  }
  const set = combine(runs, profiles);
  const renderers = { mirrors: renderMirrorsOnlyReport, writes: renderWritesOnlyReport, reads: renderReadsOnlyReport, views: renderViewsOnlyReport, restart: renderRestartOnlyReport };
  const report = o.only === undefined ? renderReport(set) : renderers[o.only](set);
  const saved = save(o, set, report, profiles);
  console.log(report);
  console.log(`\nSaved in ${saved.dir}: ${saved.files.join(', ')}`);
}

main()
  .then(() => {
    killAll();
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAll();
    process.exit(1);
  });
