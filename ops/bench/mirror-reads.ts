// Read scale-out (issue 10, docs/mirror.md): two read-only mirrors follow
// the cluster (each asks the four replicas in turn), catch up by verified
// state transfer, then `clients` SDK clients read random keys written
// earlier, client c starting at mirror c mod 2. Every read is verified
// exactly as a read from a replica is (map proof, certificate): a mirror is
// not trusted. Then the same GETs unverified (what the mirrors serve when the
// client's checks cost nothing). The mirrors are stopped at the end.

import { join } from 'node:path';
import type { LoadResult } from './closed-loop';
import { runClosedLoop } from './closed-loop';
import { freePortRange } from './ports';
import { rssMiB, stopProcess, track } from './processes';
import { rawReader, vcrReader } from './read-load';
import { latestHeader, type VcrCluster } from './vcr-cluster';
import { prepareMirror, type RunningReplica, spawnReplica, waitHealthy } from '../local-cluster';

export interface MirrorReads {
  mirrors: number;
  /** The same clients and keys across the mirrors, every answer verified. */
  result: LoadResult;
  /** The same GETs across the mirrors, answers not checked. */
  raw: LoadResult;
  /** From the mirrors' start to both at the cluster's height. */
  catchUpSeconds: number;
  /** Height the mirrors caught up to (the cluster's when they started). */
  height: bigint;
  rssMiB: number[];
}

const mirrorCount = 2;
const catchUpTimeoutMs = 120_000;

async function heightOf(url: string): Promise<bigint> {
  try {
    return (await latestHeader(url)).height;
  } catch {
    return 0n;
  }
}

export async function measureMirrorReads(vcr: VcrCluster, keys: readonly string[], o: { clients: number; durationMs: number; warmupMs: number }): Promise<MirrorReads> {
  const basePort = await freePortRange(mirrorCount);
  const started = performance.now();
  const target = await heightOf(vcr.urls[0] as string);
  const mirrors: RunningReplica[] = [];
  const urls: string[] = [];
  for (let i = 0; i < mirrorCount; i++) {
    const id = `mirror-${i + 1}`;
    const prepared = prepareMirror(vcr.layout, id, basePort + i, vcr.urls);
    const running = spawnReplica(prepared.layout, id, (line) => {
      if (/"event":"fatal"/.test(line)) process.stderr.write(`${id}: ${line}\n`);
    });
    track(running.process);
    mirrors.push(running);
    urls.push(prepared.url);
  }
  try {
    await Promise.all(urls.map((u) => waitHealthy(u, catchUpTimeoutMs)));
    const deadline = Date.now() + catchUpTimeoutMs;
    for (const url of urls) {
      while ((await heightOf(url)) < target) {
        if (Date.now() > deadline) throw new Error(`mirror ${url} did not reach height ${target} in ${catchUpTimeoutMs} ms (data under ${join(vcr.layout.dataDir, 'mirror-*')})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const catchUpSeconds = (performance.now() - started) / 1000;
    const watchPids = mirrors.map((m) => m.process.pid);
    const result = await runClosedLoop({ clients: o.clients, durationMs: o.durationMs, warmupMs: o.warmupMs, makeWorker: vcrReader(vcr.membership, urls, keys), watchPids });
    const raw = await runClosedLoop({ clients: o.clients, durationMs: o.durationMs, warmupMs: o.warmupMs, makeWorker: rawReader(urls, keys), watchPids });
    return { mirrors: mirrorCount, result, raw, catchUpSeconds, height: target, rssMiB: mirrors.map((m) => rssMiB(m.process.pid)) };
  } finally {
    await Promise.all(mirrors.map((m) => stopProcess(m.process, 'SIGTERM', 5_000)));
  }
}
