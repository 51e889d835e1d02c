// What an idle cluster writes: a fresh 4-replica cluster, nothing written, and
// each replica's store commits, WAL syncs and committed blocks counted over a
// window (vcr_store_commits_total, vcr_store_syncs_total,
// vcr_blocks_committed_total from /metrics).
//   npx tsx ops/bench/idle-check.ts [seconds]

import { cpuSeconds, killAll } from './processes';
import { startVcrCluster, stopVcrCluster } from './vcr-cluster';

async function counters(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { commits: read('vcr_store_commits_total'), syncs: read('vcr_store_syncs_total'), blocks: read('vcr_blocks_committed_total') };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? '20');
  const cluster = await startVcrCluster({ profile: false });
  // Let start-up settle (first view, links) before counting.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const before = await Promise.all(cluster.urls.map(counters));
  const cpuBefore = cluster.pids().map((pid) => cpuSeconds(pid));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
  const after = await Promise.all(cluster.urls.map(counters));
  const cpuAfter = cluster.pids().map((pid) => cpuSeconds(pid));
  console.log(`| replica | blocks/min | store commits/min | WAL syncs/min | CPU % of a core |`);
  console.log('|---|---|---|---|---|');
  cluster.urls.forEach((_, i) => {
    const b = before[i] as Record<string, number>;
    const a = after[i] as Record<string, number>;
    const perMin = (k: string) => (((a[k] as number) - (b[k] as number)) * 60) / seconds;
    const cpuPct = ((((cpuAfter[i] as number) - (cpuBefore[i] as number)) / seconds) * 100).toFixed(1);
    console.log(`| r${i + 1} | ${perMin('blocks').toFixed(1)} | ${perMin('commits').toFixed(1)} | ${perMin('syncs').toFixed(1)} | ${cpuPct} |`);
  });
  await stopVcrCluster(cluster);
}

main()
  .then(() => {
    killAll();
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`idle-check failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAll();
    process.exit(1);
  });
