// The benchmark measures etcd's server CPU as it measures our replicas':
// from /proc over the three member processes it started (ops/bench,
// docs/benchmark.md). Real etcd processes on free ports; skipped where etcd
// is not installed (the bench then prints no comparison at all).

import { afterAll, describe, expect, it } from 'vitest';
import { runClosedLoop } from '../ops/bench/closed-loop';
import { type EtcdCluster, findEtcd, startEtcdCluster, stopEtcdCluster } from '../ops/bench/etcd-cluster';
import { killAll } from '../ops/bench/processes';
import { etcdWriter } from '../ops/bench/write-load';

const binary = findEtcd();

describe.skipIf(binary === undefined)('etcd in the benchmark', () => {
  let etcd: EtcdCluster | undefined;
  afterAll(async () => {
    if (etcd !== undefined) await stopEtcdCluster(etcd);
    killAll();
  });

  it('watches all three members, so server CPU per write is theirs', async () => {
    etcd = await startEtcdCluster(binary as string);
    const pids = etcd.pids();
    expect(pids.filter((p) => p !== undefined)).toHaveLength(3);
    const r = await runClosedLoop({ clients: 2, durationMs: 1_500, warmupMs: 200, makeWorker: etcdWriter(etcd.clientUrls, 't', []), watchPids: pids });
    expect(r.failed).toBe(0);
    expect(r.ops).toBeGreaterThan(0);
    expect(r.watchedPids).toBe(3);
    // Raft, the WAL and the gateway cost the members CPU on every write: a real, non-zero figure per write.
    expect(r.serverCpuMsPerOp).toBeGreaterThan(0);
    expect(Number.isFinite(r.serverCpuMsPerOp)).toBe(true);
    expect(r.serverCpuMsPerOp).toBeCloseTo(((r.serverCpuPct / 100) * 1000) / r.perSecond, 9);
  }, 60_000);
});
