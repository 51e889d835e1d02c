// `--only restart` (issue 17): how long a replica with a long certified
// history takes from being started to serving a verified read. A 4-replica
// cluster takes `--restart-entries` signed writes through the SDK (each
// receipt verified), so the history is real: certified blocks, log leaves,
// the key index, and the snapshots r1 writes on its own as the log grows.
// Then r1 is stopped (SIGTERM) and started again, and a client that reads
// from r1 alone (it learns the newest epoch from the other replicas, as a
// service does) retries one key until r1 serves it with a proof that
// verifies. `--restart-replicas 1` builds the history on a one-replica chain
// (quorum 1 of 1, certificates as real), which commits alone and so writes
// the history several times faster on a busy machine; the restart itself is
// the same code either way. Timed from the spawn of r1's process to that verified answer.
// The same is then done with r1's snapshot moved away, so the figure of the
// old path (re-executing every block) stands beside it in the same run.

import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '@vcr/client-sdk';
import { nodeBackend } from '@vcr/crypto-node';
import { cpuSeconds, machineBusySeconds } from './processes';
import { sleep } from './stats';
import { writeUntil } from './state-transfer';
import { benchFetch } from './transport';
import { dataDirOf, latestHeader, restart, stopReplica, type VcrCluster } from './vcr-cluster';

/** One start of r1 on its full store, until it served a verified read. */
export interface RestartTiming {
  /** From spawning r1's process to its first verified read (what the target is about). */
  seconds: number;
  /** From spawning to its "listening" line: recovery (snapshot load, blocks after it, log rebuild) and process start. */
  listeningAfterS: number;
  /** The replica's own "recovered" line: the snapshot height it loaded (null: none) and the blocks it re-executed. */
  fromSnapshot: string | null;
  blocksReplayed: number;
  snapshotEntries: number;
  /** CPU over the window, in % of one core: r1, the other three replicas, this process, and the rest of the machine. */
  replicaCpuPct: number;
  clusterCpuPct: number;
  generatorCpuPct: number;
  otherCpuPct: number;
}

export interface RestartResult {
  /** Log entries (signed requests) in r1's certified history when it was stopped. */
  entries: number;
  blocks: number;
  /** Seconds from spawn to the first verified read, with the snapshot (the figure of issue 17). */
  seconds: number;
  withSnapshot: RestartTiming;
  /** The same with r1's snapshot moved away: every stored block re-executed. */
  withoutSnapshot: RestartTiming | undefined;
  written: number;
  writesPerSecond: number;
  snapshotBytes: number;
}

const restartIndex = 0;

/** Waits until r1 is not writing a snapshot and has one (its first comes after 10,000 entries). */
async function settledSnapshot(path: string): Promise<number> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(path) && !existsSync(`${path}.tmp`)) return statSync(path).size;
    await sleep(100);
  }
  throw new Error(`restart: r1 wrote no snapshot at ${path} in 60 s`);
}

async function timedRestart(cluster: VcrCluster, key: string): Promise<RestartTiming> {
  await stopReplica(cluster, restartIndex);
  const others = cluster.urls.filter((_, i) => i !== restartIndex);
  const url = cluster.urls[restartIndex] as string;
  // Reads go to r1 alone; the newest epoch comes from the others, once (they are up all along).
  const client = await RegistryClient.create({ membership: cluster.membership, replicas: [url], epochReplicas: others.length > 0 ? others : [url], backend: nodeBackend, fetch: benchFetch });
  let recovered: { fromSnapshot: string | null; blocksReplayed: number; snapshotEntries: number } | undefined;
  const onLine = (line: string) => {
    if (!line.includes('"event":"recovered"')) return;
    const parsed = JSON.parse(line) as { fromSnapshot: string | null; blocksReplayed: number; snapshotEntries: number };
    recovered = { fromSnapshot: parsed.fromSnapshot, blocksReplayed: parsed.blocksReplayed, snapshotEntries: parsed.snapshotEntries };
  };
  const othersPids = cluster.replicas.filter((_, i) => i !== restartIndex).map((r) => r.process.pid);
  const busy0 = machineBusySeconds();
  const cluster0 = othersPids.reduce<number>((n, p) => n + cpuSeconds(p), 0);
  const self0 = process.cpuUsage();
  const spawnedAtMs = performance.now();
  const started = restart(cluster, restartIndex, onLine);
  const pid = cluster.replicas[restartIndex]?.process.pid;
  let servedAtMs: number | undefined;
  let lastError = '';
  let replicaCpu = 0;
  while (servedAtMs === undefined) {
    try {
      const read = await client.get(key);
      if (read.entry === undefined) throw new Error(`${key} is absent`);
      servedAtMs = performance.now();
      replicaCpu = cpuSeconds(pid);
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      if (performance.now() - spawnedAtMs > 120_000) throw new Error(`restart: r1 served no verified read in 120 s (last error: ${lastError})`);
      await sleep(10);
    }
  }
  const { listeningAtMs } = await started;
  const seconds = (servedAtMs - spawnedAtMs) / 1000;
  const selfUsage = process.cpuUsage(self0);
  const generator = (selfUsage.user + selfUsage.system) / 1e6;
  const clusterCpu = othersPids.reduce<number>((n, p) => n + cpuSeconds(p), 0) - cluster0;
  const machine = machineBusySeconds() - busy0;
  const pct = (cpu: number) => (cpu / seconds) * 100;
  return {
    seconds,
    listeningAfterS: (listeningAtMs - spawnedAtMs) / 1000,
    fromSnapshot: recovered?.fromSnapshot ?? null,
    blocksReplayed: recovered?.blocksReplayed ?? NaN,
    snapshotEntries: recovered?.snapshotEntries ?? 0,
    replicaCpuPct: pct(replicaCpu),
    clusterCpuPct: pct(clusterCpu),
    generatorCpuPct: pct(generator),
    otherCpuPct: Math.max(0, pct(machine) - pct(replicaCpu) - pct(clusterCpu) - pct(generator)),
  };
}

export async function measureRestart(cluster: VcrCluster, opts: { entries: number; clients: number; withoutSnapshot: boolean }): Promise<RestartResult> {
  const writes = await writeUntil(cluster, cluster.urls, { entries: opts.entries, clients: opts.clients, tag: 'restart' });
  const snapshotPath = join(dataDirOf(cluster, restartIndex), 'replica.sqlite.snapshot');
  const snapshotBytes = await settledSnapshot(snapshotPath);
  const head = await latestHeader(cluster.urls[restartIndex] as string);
  // The first key written: in the snapshot, so the read proves the loaded state.
  const key = writes.firstKey;
  if (key === undefined) throw new Error('restart: the log already held the entries asked for: nothing written to read back');
  const withSnapshot = await timedRestart(cluster, key);
  process.stderr.write(`bench: restart with the snapshot: a verified read after ${withSnapshot.seconds.toFixed(2)} s (snapshot of height ${withSnapshot.fromSnapshot}, ${withSnapshot.blocksReplayed} blocks re-executed)\n`);
  let withoutSnapshot: RestartTiming | undefined;
  if (opts.withoutSnapshot) {
    // Stopped first (the running r1 may be writing a new one), then the snapshot moved away: the old path.
    await stopReplica(cluster, restartIndex);
    if (existsSync(snapshotPath)) renameSync(snapshotPath, `${snapshotPath}.set-aside`);
    withoutSnapshot = await timedRestart(cluster, key);
    process.stderr.write(`bench: restart without a snapshot: a verified read after ${withoutSnapshot.seconds.toFixed(2)} s (${withoutSnapshot.blocksReplayed} blocks re-executed)\n`);
  }
  return {
    entries: Number(head.logSize),
    blocks: Number(head.height),
    seconds: withSnapshot.seconds,
    withSnapshot,
    withoutSnapshot,
    written: writes.added,
    writesPerSecond: writes.perSecond,
    snapshotBytes,
  };
}
