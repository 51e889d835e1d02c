// Our side of the benchmark: a fresh local 4-replica cluster of real
// processes (ops/local-cluster.ts) in a temporary folder, with r1, the
// primary of view 0, optionally under `--cpu-prof`. Stopping sends SIGINT,
// which the replica handles by closing its store and exiting normally, so
// Node writes the profile.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Membership } from '@vcr/proofs';
import { loadGenesis } from '../../apps/replica/src/genesis';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../local-cluster';
import { freePortRange } from './ports';
import { stopProcess, track, trackFolder } from './processes';

export interface VcrCluster {
  layout: LocalClusterLayout;
  membership: Membership;
  urls: string[];
  replicas: RunningReplica[];
  /** Where r1 writes its .cpuprofile files, when profiled. */
  profileDir: string | undefined;
  pids(): (number | undefined)[];
}

const startTimeoutMs = 90_000;

function launch(layout: LocalClusterLayout, id: string, nodeArgs: string): RunningReplica {
  // spawnReplica reads VCR_REPLICA_NODE_ARGS when it spawns: set it for this replica only.
  const saved = process.env.VCR_REPLICA_NODE_ARGS;
  if (nodeArgs) process.env.VCR_REPLICA_NODE_ARGS = nodeArgs;
  else delete process.env.VCR_REPLICA_NODE_ARGS;
  try {
    const running = spawnReplica(layout, id, (line) => {
      if (/"event":"(fatal|signer-refused)"/.test(line)) process.stderr.write(`${id}: ${line}\n`);
    });
    track(running.process);
    return running;
  } finally {
    if (saved === undefined) delete process.env.VCR_REPLICA_NODE_ARGS;
    else process.env.VCR_REPLICA_NODE_ARGS = saved;
  }
}

/** `profile`: r1 runs under --cpu-prof; `profileAlso`: these replicas too (each writes to its own folder); `replicas`: how many (default 4). */
export async function startVcrCluster(opts: { profile: boolean; profileAlso?: readonly string[]; replicas?: number }): Promise<VcrCluster> {
  const dir = trackFolder(mkdtempSync(join(tmpdir(), 'vcr-bench-')));
  const n = opts.replicas ?? 4;
  const basePort = await freePortRange(n);
  // The benchmark's keys are under no namespace: the root is opened explicitly (new genesis files close it).
  const layout = prepareLocalCluster({ dataDir: dir, basePort, n, fastKdf: true, rootWrite: 'open', chainId: `vcr-bench-${randomBytes(3).toString('hex')}` });
  const profileDir = opts.profile ? join(dir, 'cpu-profile') : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir);
  const profiled = new Set(['r1', ...(opts.profileAlso ?? [])]);
  const replicas = layout.replicas.map((r) => launch(layout, r.id, profiled.has(r.id) && profileDir !== undefined ? `--cpu-prof --cpu-prof-dir=${join(profileDir, r.id)}` : ''));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, startTimeoutMs)));
  return {
    layout,
    membership: loadGenesis(layout.genesisFile),
    urls: layout.replicas.map((r) => r.url),
    replicas,
    profileDir,
    pids: () => replicas.map((r) => r.process.pid),
  };
}

/** Stops one replica (SIGTERM): its store stays, for a restart. */
export async function stopReplica(cluster: VcrCluster, index: number): Promise<void> {
  const replica = cluster.replicas[index];
  if (replica === undefined) throw new Error(`no replica at index ${index}`);
  await stopProcess(replica.process, 'SIGTERM', 5_000);
}

/** The data folder of a replica (its replica.sqlite and snapshot). */
export function dataDirOf(cluster: VcrCluster, index: number): string {
  const layout = cluster.layout.replicas[index];
  if (layout === undefined) throw new Error(`no replica at index ${index}`);
  return dirname(layout.configFile);
}

/** Stops one replica (SIGTERM) and deletes its store, so it restarts empty: a replica far behind. */
export async function stopAndWipe(cluster: VcrCluster, index: number): Promise<void> {
  const replica = cluster.replicas[index];
  const layout = cluster.layout.replicas[index];
  if (replica === undefined || layout === undefined) throw new Error(`no replica at index ${index}`);
  await stopProcess(replica.process, 'SIGTERM', 5_000);
  const dataDir = dirname(layout.configFile);
  for (const name of readdirSync(dataDir)) if (name.startsWith('replica.sqlite')) rmSync(join(dataDir, name), { force: true });
}

/** Starts a stopped replica again (never profiled); resolves when it is listening, with the hrtime of that moment. */
export async function restart(cluster: VcrCluster, index: number, onLine?: (line: string) => void): Promise<{ listeningAtMs: number }> {
  const layout = cluster.layout.replicas[index];
  if (layout === undefined) throw new Error(`no replica at index ${index}`);
  const saved = process.env.VCR_REPLICA_NODE_ARGS;
  delete process.env.VCR_REPLICA_NODE_ARGS;
  let resolveListening: (atMs: number) => void = () => undefined;
  const listening = new Promise<number>((resolve) => {
    resolveListening = resolve;
  });
  const running = spawnReplica(cluster.layout, layout.id, (line) => {
    onLine?.(line);
    if (line.includes('"event":"listening"')) resolveListening(performance.now());
    if (/"event":"(fatal|signer-refused)"/.test(line)) process.stderr.write(`${layout.id}: ${line}\n`);
  });
  if (saved !== undefined) process.env.VCR_REPLICA_NODE_ARGS = saved;
  track(running.process);
  cluster.replicas[index] = running;
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${layout.id} did not start listening in ${startTimeoutMs} ms`)), startTimeoutMs).unref());
  return { listeningAtMs: await Promise.race([listening, timeout]) };
}

/** SIGINT to every replica (r1 then writes its CPU profile); the list of .cpuprofile files written. */
export async function stopVcrCluster(cluster: VcrCluster): Promise<{ profiles: string[]; uncleanExits: string[] }> {
  const exits = await Promise.all(cluster.replicas.map((r) => stopProcess(r.process, 'SIGINT', 10_000)));
  const uncleanExits = exits.flatMap((e, i) => (e.code === 0 && !e.forced ? [] : [`${cluster.replicas[i]?.id}: code ${e.code} signal ${e.signal}${e.forced ? ' (killed after 10 s)' : ''}`]));
  const profilesOf = (id: string): string[] => {
    if (cluster.profileDir === undefined || !existsSync(join(cluster.profileDir, id))) return [];
    const dir = join(cluster.profileDir, id);
    return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  };
  const profiles = profilesOf('r1');
  return { profiles, uncleanExits };
}

/** Committed height and log size of a replica (its latest certified header). */
export async function latestHeader(url: string): Promise<{ height: bigint; logSize: bigint }> {
  const res = await fetch(`${url}/v1/headers/latest`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { header?: { height?: string; logSize?: string } };
  return { height: BigInt(body.header?.height ?? '0'), logSize: BigInt(body.header?.logSize ?? '0') };
}

/** The view r1 reports (0 means r1 stayed primary, so its profile is the primary's). */
export async function currentView(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return ((await res.json()) as { view?: number }).view ?? -1;
  } catch {
    return -1;
  }
}
