// A closed-loop write load against a fresh local 4-replica cluster of real
// processes: writes/s, latency percentiles and requests per block for each
// client count. The quick version of `npm run bench` (ops/bench/bench.ts,
// docs/benchmark.md), sharing its pieces.
//   npx tsx ops/bench/cluster-load.ts [1,16,64] [seconds] [warm-up seconds] [--profile] [--profile-also r2,r3] [--profile-out DIR]

import { cpSync } from 'node:fs';
import { runClosedLoop } from './closed-loop';
import { pickMainThreadProfile, summarizeProfile } from './cpu-profile';
import { killAll } from './processes';
import { fmt } from './stats';
import { startVcrCluster, stopVcrCluster } from './vcr-cluster';
import { vcrWriter } from './write-load';

async function counters(url: string): Promise<{ blocks: number; requests: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { blocks: read('vcr_blocks_committed_total'), requests: read('vcr_requests_committed_total') };
}

/** Requests relayed to every peer (not committed in time), summed over the cluster: each costs every peer a check. */
async function relayedToAll(urls: readonly string[]): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    sum += Number(/^vcr_requests_forwarded_total\{[^}]*to="all"\} (\d+)/m.exec(text)?.[1] ?? 0);
  }
  return sum;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const positional = args.filter((a, i) => !a.startsWith('--') && !['--profile-also', '--profile-out'].includes(args[i - 1] ?? ''));
  const levels = (positional[0] ?? '1,16,64').split(',').map(Number);
  const durationMs = Number(positional[1] ?? '10') * 1000;
  // Long enough that V8 has compiled the hot path before the first level is measured.
  const warmupMs = Number(positional[2] ?? '3') * 1000;
  const flag = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const profileOut = flag('--profile-out');
  const profileAlso = flag('--profile-also')?.split(',') ?? [];
  const profile = process.argv.includes('--profile') || profileOut !== undefined || profileAlso.length > 0;
  const cluster = await startVcrCluster({ profile, profileAlso });
  const windows: { start: bigint; end: bigint }[] = [];
  const r1 = cluster.urls[0] as string;
  console.log('| clients | writes | writes/s | p50 ms | p99 ms | p99.9 ms | max ms | failed | requests/block | relayed to all per write | server CPU ms/write | generator CPU ms/write | other CPU % |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const clients of levels) {
    const before = await counters(r1);
    const relayedBefore = await relayedToAll(cluster.urls);
    const r = await runClosedLoop({ clients, durationMs, warmupMs: warmupMs, watchPids: cluster.pids(), makeWorker: vcrWriter(cluster.membership, cluster.urls, `w${clients}`, []) });
    windows.push(r.windowUs);
    const after = await counters(r1);
    const perBlock = (after.requests - before.requests) / Math.max(1, after.blocks - before.blocks);
    const relayed = ((await relayedToAll(cluster.urls)) - relayedBefore) / Math.max(1, after.requests - before.requests);
    console.log(`| ${clients} | ${r.ops} | ${fmt(r.perSecond, 0)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.p999Ms)} | ${fmt(r.maxMs)} | ${r.failed} | ${fmt(perBlock)} | ${fmt(relayed, 2)} | ${fmt(r.serverCpuMsPerOp, 2)} | ${fmt(r.generatorCpuMsPerOp, 2)} | ${fmt(r.otherCpuPct, 0)} |`);
  }
  const stopped = await stopVcrCluster(cluster);
  // --profile-out DIR keeps every profile (r1's and those of --profile-also r2,r3) for a closer look.
  if (profileOut !== undefined && cluster.profileDir !== undefined) cpSync(cluster.profileDir, profileOut, { recursive: true });
  const file = pickMainThreadProfile(stopped.profiles);
  if (file !== undefined) {
    const summary = summarizeProfile(file, windows, process.cwd(), 25);
    console.log(`\nr1 (primary) busy ${fmt(summary.busyMs, 0)} ms of ${fmt(summary.windowMs, 0)} ms measured.`);
    const top = summary.largestNonCrypto;
    if (top !== undefined) console.log(`largest non-crypto function: ${fmt(top.pct, 1)} %  ${top.name}`);
    console.log('top functions by self time:');
    for (const f of summary.byFunction) console.log(`${fmt(f.pct, 1).padStart(5)} %  ${fmt(f.ms, 0).padStart(6)} ms  ${f.name}`);
    console.log('\nby area:');
    for (const f of summary.byArea) console.log(`${fmt(f.pct, 1).padStart(5)} %  ${f.name}`);
  }
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
