// A closed-loop write load against a fresh local 4-replica cluster of real
// processes: writes/s, latency percentiles and requests per block for each
// client count. The quick version of `npm run bench` (ops/bench/bench.ts,
// docs/benchmark.md), sharing its pieces.
//   npx tsx ops/bench/cluster-load.ts [1,16,64] [seconds]

import { runClosedLoop } from './closed-loop';
import { killAll } from './processes';
import { fmt } from './stats';
import { startVcrCluster, stopVcrCluster } from './vcr-cluster';
import { vcrWriter } from './write-load';

async function counters(url: string): Promise<{ blocks: number; requests: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { blocks: read('vcr_blocks_committed_total'), requests: read('vcr_requests_committed_total') };
}

async function main(): Promise<void> {
  const levels = (process.argv[2] ?? '1,16,64').split(',').map(Number);
  const durationMs = Number(process.argv[3] ?? '10') * 1000;
  const cluster = await startVcrCluster({ profile: false });
  const r1 = cluster.urls[0] as string;
  console.log('| clients | writes | writes/s | p50 ms | p99 ms | p99.9 ms | max ms | failed | requests/block |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const clients of levels) {
    const before = await counters(r1);
    const r = await runClosedLoop({ clients, durationMs, warmupMs: 0, makeWorker: vcrWriter(cluster.membership, cluster.urls, `w${clients}`, []) });
    const after = await counters(r1);
    const perBlock = (after.requests - before.requests) / Math.max(1, after.blocks - before.blocks);
    console.log(`| ${clients} | ${r.ops} | ${fmt(r.perSecond, 0)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.p999Ms)} | ${fmt(r.maxMs)} | ${r.failed} | ${fmt(perBlock)} |`);
  }
  await stopVcrCluster(cluster);
}

main()
  .then(() => {
    killAll();
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`cluster-load failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAll();
    process.exit(1);
  });
