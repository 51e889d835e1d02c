// The benchmark's report: one markdown document (printed, and saved as
// table.md) with the write levels side by side, the ratios to etcd, reads,
// SDK verification cost, state transfer, memory, the targets marked met or
// not met, and the CPU profile of the write path.

import type { LoadResult } from './closed-loop';
import type { MirrorReads } from './mirror-reads';
import type { ProfileSummary, SelfTime } from './cpu-profile';
import type { TransferResult } from './state-transfer';
import { fmt, ratio } from './stats';
import type { VerifyCost } from './sdk-verify-cost';

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  memoryGiB: number;
  loadAverage: string;
  /** At the end of the run: other work on a shared machine shows here. */
  loadAverageAtEnd: string;
}

export interface BenchResults {
  startedAt: string;
  machine: Machine;
  settings: { seconds: number; warmupSeconds: number; levels: number[]; readClients: number; transferEntries: number };
  vcrWrites: LoadResult[];
  vcrReads: { one: LoadResult; all: LoadResult; oneRaw: LoadResult } | undefined;
  /** Why etcd is missing, or its version and path. */
  etcdNote: string;
  etcdWrites: LoadResult[] | undefined;
  etcdReads: { one: LoadResult; all: LoadResult } | undefined;
  verifyCost: VerifyCost[];
  transfer: TransferResult | undefined;
  transferNote: string;
  memory: { name: string; rssMiB: number }[];
  profile: ProfileSummary | undefined;
  profileNote: string;
  /** Read scale-out: reads across read-only mirrors, and from one replica in the same run. */
  mirrorReads: { oneReplica: LoadResult; oneReplicaRaw: LoadResult; mirrors: MirrorReads } | undefined;
  /** Why the mirror section is missing, when it is. */
  mirrorNote: string;
}

const ms = (v: number) => fmt(v, v < 10 ? 2 : 1);
const us = (v: number) => `${fmt(v * 1000, v * 1000 < 10 ? 2 : 1)} µs`;

function loadRow(label: string, system: string, r: LoadResult): string {
  return `| ${label} | ${system} | ${fmt(r.perSecond, 0)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.p999Ms)} | ${r.ops} | ${r.failed} | ${fmt(r.serverCpuPct, 0)} | ${fmt(r.generatorCpuPct, 0)} | ${fmt(r.otherCpuPct, 0)} |`;
}

function target(name: string, measured: string, met: boolean | undefined): string {
  return `| ${name} | ${measured} | ${met === undefined ? 'not measured' : met ? '**met**' : '**not met**'} |`;
}

function selfTimeTable(title: string, rows: SelfTime[]): string[] {
  return [`| ${title} | self ms | % of busy |`, '|---|---|---|', ...rows.map((r) => `| \`${r.name.replace(/\|/g, '\\|')}\` | ${fmt(r.ms, 0)} | ${fmt(r.pct, 1)} |`)];
}

/** The read scale-out section: verified reads across two mirrors next to reads from one replica. */
function mirrorSection(r: BenchResults): string[] {
  const out = ['## Read scale-out: read-only mirrors', ''];
  const m = r.mirrorReads;
  if (m === undefined) return [...out, r.mirrorNote || 'Not run.', ''];
  const x = m.mirrors;
  out.push(
    `${x.mirrors} read-only mirrors (docs/mirror.md) started beside the cluster, each following the four replicas by verified state transfer; they reached height ${x.height} ${fmt(x.catchUpSeconds, 1)} s after they were started. Then ${r.settings.readClients} clients read random keys, client c starting at mirror c mod ${x.mirrors}; every answer verified by the SDK as from a replica (a mirror is not trusted). Server CPU is r1's in the replica rows and the two mirrors' in the mirror rows; the other processes keep running (heartbeats, the mirrors' fetches) and count under other CPU. "Unverified" is the same GET with the answer not checked. All processes share the machine's ${r.machine.cpus} CPUs.`,
    '',
  );
  out.push('| reads | reads/s | p50 ms | p99 ms | p99.9 ms | samples | failed | server CPU % | generator CPU % | other CPU % |', '|---|---|---|---|---|---|---|---|---|---|');
  const row = (label: string, l: LoadResult) => `| ${label} | ${fmt(l.perSecond, 0)} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)} | ${ms(l.p999Ms)} | ${l.ops} | ${l.failed} | ${fmt(l.serverCpuPct, 0)} | ${fmt(l.generatorCpuPct, 0)} | ${fmt(l.otherCpuPct, 0)} |`;
  out.push(row('one replica (r1)', m.oneReplica), row(`${x.mirrors} mirrors`, x.result), row('one replica (r1), unverified', m.oneReplicaRaw), row(`${x.mirrors} mirrors, unverified`, x.raw), '');
  out.push(`Mirrors / one replica, reads/s: verified ${ratio(x.result.perSecond, m.oneReplica.perSecond)}, unverified ${ratio(x.raw.perSecond, m.oneReplicaRaw.perSecond)}. The load generator is one Node process (one core at most): when its CPU % is near 100 it, not the servers, sets the verified rate. RSS of the mirrors after the run: ${x.rssMiB.map((v) => `${fmt(v, 0)} MiB`).join(', ')}.`, '');
  return out;
}

/** `--only mirrors`: the machine, the write level that made the keys, and the scale-out section. */
export function renderMirrorsOnlyReport(r: BenchResults): string {
  const s = r.settings;
  const out: string[] = [];
  out.push(`# Read scale-out benchmark (--only mirrors), ${r.startedAt}`, '');
  out.push(`Machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${fmt(r.machine.memoryGiB, 0)} GiB, Node ${r.machine.node}, load average (1, 5, 15 min) ${r.machine.loadAverage} at the start and ${r.machine.loadAverageAtEnd} at the end. All processes (4 replicas, 2 mirrors, the load generator) share these CPUs.`, '');
  out.push(`Closed loop: ${s.seconds} s measured per level after ${s.warmupSeconds} s of warm-up, ${s.readClients} clients.`, '');
  const w = r.vcrWrites[0];
  if (w !== undefined) out.push(`Keys to read: ${w.ops} writes from ${w.clients} clients (${fmt(w.perSecond, 0)} writes/s, verified receipts).`, '');
  out.push(...mirrorSection(r));
  return out.join('\n');
}

export function renderReport(r: BenchResults): string {
  const s = r.settings;
  const out: string[] = [];
  out.push(`# Cluster benchmark, ${r.startedAt}`, '');
  out.push(`Machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${fmt(r.machine.memoryGiB, 0)} GiB, Node ${r.machine.node}, load average (1, 5, 15 min) ${r.machine.loadAverage} at the start and ${r.machine.loadAverageAtEnd} at the end. All processes (4 replicas or 3 etcd members, and the load generator) share these CPUs.`, '');
  out.push(`Closed loop: each client waits for its answer before the next request; ${s.seconds} s measured per level after ${s.warmupSeconds} s of warm-up; 100-byte values, a fresh key per write. etcd: ${r.etcdNote}.`, '');

  out.push('## Writes', '');
  out.push(`Ours: signed requests, each receipt verified by the SDK (certificate, leaf, log inclusion). etcd: \`POST /v3/kv/put\` on the JSON gateway. CPU in % of one core (the machine has ${r.machine.cpus * 100}): the servers summed (replicas or members), the load generator, and everything else the machine ran meanwhile (other work on a shared machine; the replicas not asked, in the one-replica read rows).`, '');
  out.push('| clients | system | writes/s | p50 ms | p99 ms | p99.9 ms | samples | failed | server CPU % | generator CPU % | other CPU % |', '|---|---|---|---|---|---|---|---|---|---|---|');
  r.vcrWrites.forEach((w, i) => {
    out.push(loadRow(String(w.clients), 'ours', w));
    const e = r.etcdWrites?.[i];
    if (e) out.push(loadRow(String(e.clients), 'etcd', e));
  });
  out.push('');
  if (r.etcdWrites) {
    out.push('Ratios ours / etcd (writes/s above 1: we are faster; latency above 1: we are slower):', '');
    out.push('| clients | writes/s | p50 | p99 | p99.9 |', '|---|---|---|---|---|');
    r.vcrWrites.forEach((w, i) => {
      const e = r.etcdWrites?.[i];
      if (e) out.push(`| ${w.clients} | ${ratio(w.perSecond, e.perSecond)} | ${ratio(w.p50Ms, e.p50Ms)} | ${ratio(w.p99Ms, e.p99Ms)} | ${ratio(w.p999Ms, e.p999Ms)} |`);
    });
    out.push('');
  } else out.push('No etcd rows: etcd was not run (see above).', '');

  out.push('## Reads', '');
  out.push(`${s.readClients} clients reading random keys written above. Ours: \`RegistryClient.get\`, every answer's map proof and certificate verified (the certificate from the SDK cache after the first per block). etcd: \`POST /v3/kv/range\`, serializable (answered by the member alone, as ours are). "Unverified" is the same GET with the answer thrown away unchecked: what the replica serves when the client's checks cost nothing.`, '');
  out.push('| reads | system | reads/s | p50 ms | p99 ms | p99.9 ms | samples | failed | server CPU % | generator CPU % | other CPU % |', '|---|---|---|---|---|---|---|---|---|---|---|');
  if (r.vcrReads) {
    out.push(loadRow('one replica', 'ours', r.vcrReads.one));
    if (r.etcdReads) out.push(loadRow('one member', 'etcd', r.etcdReads.one));
    out.push(loadRow('one replica, unverified', 'ours', r.vcrReads.oneRaw));
    out.push(loadRow('all replicas', 'ours', r.vcrReads.all));
    if (r.etcdReads) out.push(loadRow('all members', 'etcd', r.etcdReads.all));
    if (r.etcdReads) out.push('', `Ratios ours / etcd, reads/s: one ${ratio(r.vcrReads.one.perSecond, r.etcdReads.one.perSecond)}, all ${ratio(r.vcrReads.all.perSecond, r.etcdReads.all.perSecond)}.`);
  }
  out.push('');

  out.push(...mirrorSection(r));

  out.push('## SDK verification cost per read', '');
  out.push('One real answer verified repeatedly in process (no network). Cold: map proof plus the certificate\'s signatures. Cached: map proof plus the certificate found in the cache. get(): the whole `RegistryClient.get` from the answer\'s bytes (JSON, schema, proof, cached certificate, freshness).', '');
  out.push('| backend | cold | cached certificate | get() from bytes, cached | map proof siblings |', '|---|---|---|---|---|');
  for (const v of r.verifyCost) out.push(`| ${v.backend} | ${us(v.coldMs)} | ${us(v.cachedMs)} | ${us(v.getMs)} | ${v.proofSiblings} |`);
  out.push('');

  out.push('## State transfer', '');
  out.push(r.transferNote, '');
  if (r.transfer) {
    const t = r.transfer;
    out.push('Seconds and entries/s are from r4 listening to r4 at the target height, including the wait before its first fetched block; "after the first block" leaves that wait out (n/a when one fetch held everything).', '');
    out.push('| log entries | blocks | seconds | entries/s verified | blocks/s | first block after | entries/s after the first block | RSS of r4 after |', '|---|---|---|---|---|---|---|---|');
    out.push(`| ${t.entries.toLocaleString('en-US')} | ${t.blocks.toLocaleString('en-US')} | ${fmt(t.seconds, 1)} | ${fmt(t.entriesPerSecond, 0)} | ${fmt(t.blocksPerSecond, 0)} | ${fmt(t.firstBlockAfterS, 1)} s | ${fmt(t.streamingEntriesPerSecond, 0)} | ${fmt(t.laggardRssMiB, 0)} MiB |`, '');
  }

  out.push('## Memory after the run (RSS)', '');
  out.push('| process | RSS MiB |', '|---|---|');
  for (const m of r.memory) out.push(`| ${m.name} | ${fmt(m.rssMiB, 0)} |`);
  out.push('');

  out.push('## Targets (issue 9)', '');
  out.push('| target | measured | |', '|---|---|---|');
  const at256 = r.vcrWrites.find((w) => w.clients === 256);
  const e256 = r.etcdWrites?.find((w) => w.clients === 256);
  const single = r.vcrWrites.find((w) => w.clients === 1);
  const native = r.verifyCost.find((v) => v.backend.startsWith('node:'));
  out.push(target('>= 3,000 writes/s at 256 clients', at256 ? `${fmt(at256.perSecond, 0)} writes/s` : 'level 256 not run', at256 ? at256.perSecond >= 3_000 : undefined));
  out.push(target('>= etcd at 256 clients', at256 && e256 ? `${fmt(at256.perSecond, 0)} vs ${fmt(e256.perSecond, 0)} writes/s (${ratio(at256.perSecond, e256.perSecond)})` : r.etcdWrites ? 'level 256 not run' : 'etcd not run (see above)', at256 && e256 ? at256.perSecond >= e256.perSecond : undefined));
  out.push(target('p50 single-client write latency <= 5 ms', single ? `${ms(single.p50Ms)} ms` : 'level 1 not run', single ? single.p50Ms <= 5 : undefined));
  out.push(target('>= 10,000 verified reads/s from one replica', r.vcrReads ? `${fmt(r.vcrReads.one.perSecond, 0)} reads/s` : 'not run', r.vcrReads ? r.vcrReads.one.perSecond >= 10_000 : undefined));
  out.push(target('cached-certificate SDK read verification <= 0.05 ms (native)', native ? `${us(native.cachedMs)}` : 'not run', native ? native.cachedMs <= 0.05 : undefined));
  out.push('');

  out.push('## CPU profile of the write path (r1, the primary)', '');
  out.push(r.profileNote, '');
  if (r.profile) {
    const p = r.profile;
    out.push(`Samples inside the write levels only: ${fmt(p.windowMs / 1000, 1)} s of wall time, ${fmt(p.busyMs / 1000, 1)} s busy, ${fmt(p.idleMs / 1000, 1)} s idle (${p.samples} samples). Self time: the time spent in the function itself, not in what it calls.`, '');
    out.push(...selfTimeTable('function  file:line', p.byFunction), '');
    out.push(...selfTimeTable('file', p.byFile), '');
    out.push(...selfTimeTable('area', p.byArea), '');
  }
  return out.join('\n');
}
