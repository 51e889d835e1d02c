// A closed-loop load run shared by every workload of the benchmark (our
// writes and reads, etcd's writes and reads): `clients` workers each issue
// one operation after another. Operations that finish inside the measured
// window (after a warm-up) count; their latencies give the percentiles. Also
// measures the CPU the load generator itself used and, for the processes
// named in `watchPids`, theirs, so a table can show who was saturated.

import { cpuSeconds, machineBusySeconds } from './processes';
import { percentile } from './stats';

/** One worker's operation: resolves true when it succeeded (a verified receipt, an HTTP 200). */
export type Operation = (sequence: number) => Promise<boolean>;

export interface LoadOptions {
  clients: number;
  durationMs: number;
  warmupMs: number;
  /** Builds worker c's operation (clients, keys, connections), before the clock starts. */
  makeWorker: (worker: number) => Promise<Operation>;
  /** Processes whose CPU time is reported (the replicas, the etcd members). */
  watchPids?: readonly (number | undefined)[];
}

export interface LoadResult {
  clients: number;
  /** Operations that succeeded inside the measured window. */
  ops: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** CPU of the load generator, in percent of one core. */
  generatorCpuPct: number;
  /** Sum over `watchPids`, in percent of one core. */
  serverCpuPct: number;
  /** Everything else the machine ran meanwhile (other users' work), in percent of one core. */
  otherCpuPct: number;
  /** process.hrtime of the measured window, in microseconds (to cut a CPU profile to it). */
  windowUs: { start: bigint; end: bigint };
}

/** How long a level waits for every client's first answer before it measures regardless. */
const firstRoundWaitMsMax = 60_000;

export async function runClosedLoop(opts: LoadOptions): Promise<LoadResult> {
  const workers = await Promise.all(Array.from({ length: opts.clients }, (_, c) => opts.makeWorker(c)));
  const latencies: number[] = [];
  let failed = 0;
  // The window opens after the warm-up AND once every client has had an answer, so a level that starts
  // cold (new connections, a first round slower than the warm-up) is not measured in its transient.
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let answeredClients = 0;
  let warmedUp = false;
  let cpuBefore: { gen: NodeJS.CpuUsage; servers: number; machine: number; at: number } | undefined;
  let hrStart = 0n;
  const maybeOpen = () => {
    if (cpuBefore !== undefined || !warmedUp || answeredClients < opts.clients) return;
    cpuBefore = { gen: process.cpuUsage(), servers: sumCpu(opts.watchPids), machine: machineBusySeconds(), at: performance.now() };
    hrStart = process.hrtime.bigint() / 1000n;
    windowStart = performance.now();
    windowEnd = windowStart + opts.durationMs;
  };
  const startTimer = setTimeout(() => {
    warmedUp = true;
    maybeOpen();
  }, opts.warmupMs);
  // Bounded: a level whose first round never completes is measured from this point anyway.
  const forceTimer = setTimeout(() => {
    answeredClients = opts.clients;
    warmedUp = true;
    maybeOpen();
  }, opts.warmupMs + firstRoundWaitMsMax);
  await Promise.all(
    workers.map(async (operation) => {
      for (let i = 0; performance.now() < windowEnd; i++) {
        const t0 = performance.now();
        let ok: boolean;
        try {
          ok = await operation(i);
        } catch {
          ok = false;
        }
        const t1 = performance.now();
        if (i === 0) {
          answeredClients++;
          maybeOpen();
        }
        if (t1 < windowStart || t1 > windowEnd) continue;
        if (ok) latencies.push(t1 - t0);
        else failed++;
      }
    }),
  );
  clearTimeout(startTimer);
  clearTimeout(forceTimer);
  const before = cpuBefore as { gen: NodeJS.CpuUsage; servers: number; machine: number; at: number };
  const hrEnd = process.hrtime.bigint() / 1000n;
  const wallS = (performance.now() - before.at) / 1000;
  const gen = process.cpuUsage(before.gen);
  const serverCpu = sumCpu(opts.watchPids) - before.servers;
  const machineCpu = machineBusySeconds() - before.machine;
  const generatorCpuPct = ((gen.user + gen.system) / 1e6 / wallS) * 100;
  const serverCpuPct = (serverCpu / wallS) * 100;
  latencies.sort((a, b) => a - b);
  const seconds = opts.durationMs / 1000;
  return {
    clients: opts.clients,
    ops: latencies.length,
    failed,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    maxMs: latencies.at(-1) ?? NaN,
    generatorCpuPct,
    serverCpuPct,
    // Watched processes outside the window's set (the other replicas during one-replica reads) count as other work.
    otherCpuPct: Math.max(0, (machineCpu / wallS) * 100 - serverCpuPct - generatorCpuPct),
    windowUs: { start: hrStart, end: hrEnd },
  };
}

function sumCpu(pids: readonly (number | undefined)[] | undefined): number {
  let total = 0;
  for (const pid of pids ?? []) {
    const s = cpuSeconds(pid);
    if (Number.isFinite(s)) total += s;
  }
  return total;
}
