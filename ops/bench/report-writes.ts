// The write half of the benchmark's report, shared by the full report and
// `--only writes`: the write levels of both systems with the CPU per write,
// the ratios to etcd, issue 16's targets, and r1's CPU profile of the write
// path with the largest non-crypto function. With `--runs N` every figure is
// the median of the N runs (`median`); the ratios are the median of each
// run's ratio, not the ratio of two medians.

import type { LoadResult } from './closed-loop';
import type { SelfTime } from './cpu-profile';
import { medianOver } from './runs';
import { fmt, formatRatio, ratioValue } from './stats';
import type { BenchResults, RunSet } from './report-types';

export const ms = (v: number) => fmt(v, v < 10 ? 2 : 1);
const cpuMs = (v: number) => fmt(v, v < 1 ? 3 : 2);

/** One load row: rate, latency, samples, CPU in % of one core, and CPU ms per operation (servers, generator). */
export function loadRow(label: string, system: string, r: LoadResult): string {
  return `| ${label} | ${system} | ${fmt(r.perSecond, 0)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.p999Ms)} | ${fmt(r.ops, 0)} | ${fmt(r.failed, 0)} | ${fmt(r.serverCpuPct, 0)} | ${fmt(r.generatorCpuPct, 0)} | ${fmt(r.otherCpuPct, 0)} | ${cpuMs(r.serverCpuMsPerOp)} | ${cpuMs(r.generatorCpuMsPerOp)} |`;
}

export function loadHeader(first: string, rate: string, op: string): string[] {
  return [`| ${first} | system | ${rate} | p50 ms | p99 ms | p99.9 ms | samples | failed | server CPU % | generator CPU % | other CPU % | server CPU ms/${op} | generator CPU ms/${op} |`, '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
}

export function runsLine(set: RunSet): string {
  const n = set.runs.length;
  return n === 1 ? 'One run.' : `Every figure is the median of ${n} runs, each on fresh clusters (the ratios: the median of each run's ratio); results.json keeps each run's numbers.`;
}

export function closedLoopLine(r: BenchResults): string {
  const s = r.settings;
  const warmLevel = s.warmupClients > 0 ? `Each system first runs one unmeasured warm-up level (${s.warmupClients} clients writing for ${fmt(s.warmupLevelSeconds, 0)} s) so the first measured level does not meet a cold JIT; then ` : 'No warm-up level (--warmup-clients 0); ';
  return `Closed loop: each client waits for its answer before the next request. ${warmLevel}${s.seconds} s measured per level after ${s.warmupSeconds} s of warm-up load; 100-byte values, a fresh key per write. etcd: ${r.etcdNote}.`;
}

export function writesSection(set: RunSet): string[] {
  const m = set.median;
  const out = ['## Writes', ''];
  out.push(`Ours: signed requests, each receipt verified by the SDK (certificate, leaf, log inclusion). etcd: \`POST /v3/kv/put\` on the JSON gateway. CPU in % of one core (the machine has ${m.machine.cpus * 100}): the servers summed (4 replicas or 3 members), the load generator, and everything else the machine ran meanwhile (other work on a shared machine). CPU ms per write: the servers' (summed) and the generator's CPU over the measured window divided by the writes committed in it.`, '');
  out.push(...loadHeader('clients', 'writes/s', 'write'));
  m.vcrWrites.forEach((w, i) => {
    out.push(loadRow(fmt(w.clients, 0), 'ours', w));
    const e = m.etcdWrites?.[i];
    if (e) out.push(loadRow(fmt(e.clients, 0), 'etcd', e));
  });
  out.push('');
  if (m.etcdWrites === undefined) return [...out, 'No etcd rows: etcd was not run (see above).', ''];
  out.push('Ratios ours / etcd (writes/s above 1: we are faster; latency and CPU per write above 1: we are slower or cost more):', '');
  out.push('| clients | writes/s | p50 | p99 | p99.9 | server CPU per write | generator CPU per write |', '|---|---|---|---|---|---|---|');
  m.vcrWrites.forEach((w, i) => {
    const r = (figure: (l: LoadResult) => number) =>
      formatRatio(medianOver(set.runs, (run) => {
        const ours = run.vcrWrites[i];
        const theirs = run.etcdWrites?.[i];
        return ours && theirs ? ratioValue(figure(ours), figure(theirs)) : undefined;
      }));
    out.push(`| ${fmt(w.clients, 0)} | ${r((l) => l.perSecond)} | ${r((l) => l.p50Ms)} | ${r((l) => l.p99Ms)} | ${r((l) => l.p999Ms)} | ${r((l) => l.serverCpuMsPerOp)} | ${r((l) => l.generatorCpuMsPerOp)} |`);
  });
  out.push('');
  return out;
}

export function target(name: string, measured: string, met: boolean | undefined): string {
  return `| ${name} | ${measured} | ${met === undefined ? 'not measured' : met ? '**met**' : '**not met**'} |`;
}

/** Issue 16's targets that the bench measures (the idle-cluster one is not a bench figure). */
export function writeTargets(set: RunSet): string[] {
  const m = set.median;
  const at256 = m.vcrWrites.find((w) => w.clients === 256);
  const single = m.vcrWrites.find((w) => w.clients === 1);
  const top = m.profile?.largestNonCrypto;
  const out = ['## Targets (issue 16)', '', `${set.runs.length === 1 ? 'From this run' : `From the medians of ${set.runs.length} runs`}; issue 16 judges them on the median of \`npm run bench -- --runs 3\`.`, ''];
  out.push('| target | measured | |', '|---|---|---|');
  out.push(target('>= 1,200 certified writes/s at 256 clients', at256 ? `${fmt(at256.perSecond, 0)} writes/s` : 'level 256 not run', at256 ? at256.perSecond >= 1_200 : undefined));
  out.push(target('server CPU per write at 256 clients (4 replicas summed) <= 0.8 ms', at256 ? `${cpuMs(at256.serverCpuMsPerOp)} ms` : 'level 256 not run', at256 && Number.isFinite(at256.serverCpuMsPerOp) ? at256.serverCpuMsPerOp <= 0.8 : undefined));
  out.push(target('p50 write latency at 1 client <= 5 ms', single ? `${ms(single.p50Ms)} ms` : 'level 1 not run', single ? single.p50Ms <= 5 : undefined));
  out.push(target('no non-crypto function above 5 % of r1\'s busy time in the write levels', top ? `${fmt(top.pct, 1)} % (\`${top.name}\`)` : 'not profiled', top ? top.pct <= 5 : undefined));
  out.push(target('an idle cluster does no SQLite commit and no fsync', 'not a bench figure', undefined), '');
  return out;
}

function selfTimeTable(title: string, rows: SelfTime[]): string[] {
  return [`| ${title} | self ms | % of busy |`, '|---|---|---|', ...rows.map((r) => `| \`${r.name.replace(/\|/g, '\\|')}\` | ${fmt(r.ms, 0)} | ${fmt(r.pct, 1)} |`)];
}

const shareList = (rows: SelfTime[]) => (rows.length === 0 ? 'none' : rows.map((r) => `\`${r.name}\` ${fmt(r.pct, 1)} %`).join(', '));

export function profileSection(set: RunSet): string[] {
  const m = set.median;
  const out = ['## CPU profile of the write path (r1, the primary)', '', m.profileNote, ''];
  const p = m.profile;
  if (p === undefined) return out;
  const pooled = set.runs.length > 1 ? ` Pooled over the ${set.runs.length} runs' profiles (the self times added up, then the shares taken), not a median.` : '';
  out.push(`Samples inside the write levels only: ${fmt(p.windowMs / 1000, 1)} s of wall time, ${fmt(p.busyMs / 1000, 1)} s busy, ${fmt(p.idleMs / 1000, 1)} s idle (${p.samples} samples). Self time: the time spent in the function itself, not in what it calls.${pooled}`, '');
  const top = p.largestNonCrypto;
  out.push(`**Largest non-crypto function: ${top ? `\`${top.name}\`, ${fmt(top.pct, 1)} % of busy time` : 'none sampled'}** (issue 16 asks at most 5 %). Crypto, not counted: ${shareList(p.crypto)}. V8 pseudo-frames, not functions: ${shareList(p.pseudoFrames)}.`, '');
  out.push(...selfTimeTable('function  file:line', p.byFunction), '');
  out.push(...selfTimeTable('file', p.byFile), '');
  out.push(...selfTimeTable('area', p.byArea), '');
  return out;
}
