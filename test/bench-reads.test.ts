// The benchmark's "reads from one replica" row (ops/bench/read-load.ts,
// docs/benchmark.md) measures verified reads that one replica serves: the
// SDK reads only from r1 and asks the other replicas once for the newest
// epoch (it trusts no certificate before f+1 replicas told it). A real
// 4-replica cluster of processes on free ports.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../ops/bench/processes';
import { vcrReader } from '../ops/bench/read-load';
import { startVcrCluster, stopVcrCluster, type VcrCluster } from '../ops/bench/vcr-cluster';
import { vcrWriter } from '../ops/bench/write-load';

describe('the bench\'s verified reads from one replica', () => {
  let vcr: VcrCluster;
  const written: string[] = [];
  beforeAll(async () => {
    vcr = await startVcrCluster({ profile: false });
    const write = await vcrWriter(vcr.membership, vcr.urls, 't', written)(0);
    for (let i = 0; i < 2; i++) expect(await write(i)).toBe(true);
  }, 120_000);
  afterAll(async () => {
    if (vcr !== undefined) await stopVcrCluster(vcr);
    killAll();
  });

  it('succeed: every read goes to r1, the epoch is asked of all replicas', async () => {
    const read = await vcrReader(vcr.membership, vcr.urls.slice(0, 1), written, vcr.urls)(0);
    for (let i = 0; i < 3; i++) expect(await read(i)).toBe(true);
  }, 60_000);
});
