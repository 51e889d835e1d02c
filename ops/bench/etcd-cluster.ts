// The comparison: a 3-member etcd cluster from Debian's etcd-server package,
// on this machine, each member with its own temporary data folder and ports.
// The benchmark never installs it: it looks for `etcd` on PATH and at
// /usr/bin/etcd, and says so in its output when there is none.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePortRange } from './ports';
import { stopProcess, track, trackFolder } from './processes';
import { sleep } from './stats';

export interface EtcdCluster {
  binary: string;
  version: string;
  clientUrls: string[];
  members: ChildProcess[];
  pids(): (number | undefined)[];
}

const memberCount = 3;
const healthTimeoutMs = 30_000;

/** The etcd binary, or undefined when it is not installed. */
export function findEtcd(explicit?: string): string | undefined {
  const candidates = explicit ? [explicit] : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'etcd')), '/usr/bin/etcd'];
  return candidates.find((path) => existsSync(path));
}

function versionOf(binary: string): string {
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function startEtcdCluster(binary: string): Promise<EtcdCluster> {
  const dir = trackFolder(mkdtempSync(join(tmpdir(), 'vcr-bench-etcd-')));
  const base = await freePortRange(2 * memberCount);
  const names = Array.from({ length: memberCount }, (_, i) => `m${i + 1}`);
  const peerUrl = (i: number) => `http://127.0.0.1:${base + 2 * i + 1}`;
  const clientUrl = (i: number) => `http://127.0.0.1:${base + 2 * i}`;
  const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  const tails: string[][] = names.map(() => []);
  const members = names.map((name, i) => {
    const child = spawn(
      binary,
      [
        `--name=${name}`,
        `--data-dir=${join(dir, name)}`,
        `--listen-client-urls=${clientUrl(i)}`,
        `--advertise-client-urls=${clientUrl(i)}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=vcr-bench-${base}`,
        '--logger=zap',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      const tail = tails[i] as string[];
      tail.push(...chunk.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 20));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return track(child);
  });
  const clientUrls = names.map((_, i) => clientUrl(i));
  const cluster: EtcdCluster = { binary, version: versionOf(binary), clientUrls, members, pids: () => members.map((m) => m.pid) };
  try {
    await waitEtcdHealthy(clientUrls, members);
  } catch (error) {
    await stopEtcdCluster(cluster);
    const logs = tails.map((t, i) => `--- ${names[i]}\n${t.join('\n')}`).join('\n');
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
  }
  return cluster;
}

async function waitEtcdHealthy(urls: readonly string[], members: readonly ChildProcess[]): Promise<void> {
  const deadline = Date.now() + healthTimeoutMs;
  for (;;) {
    const dead = members.find((m) => m.exitCode !== null);
    if (dead !== undefined) throw new Error(`an etcd member exited with code ${dead.exitCode}`);
    const healthy = await Promise.all(
      urls.map(async (url) => {
        try {
          const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
          return ((await res.json()) as { health?: string }).health === 'true';
        } catch {
          return false;
        }
      }),
    );
    if (healthy.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`etcd cluster not healthy after ${healthTimeoutMs} ms`);
    await sleep(200);
  }
}

export async function stopEtcdCluster(cluster: EtcdCluster): Promise<void> {
  await Promise.all(cluster.members.map((m) => stopProcess(m, 'SIGTERM', 5_000)));
}
