// A closed-loop load run shared by every workload of the benchmark (our
// writes and reads, etcd's writes and reads): `clients` workers each issue
// one operation after another. Operations that finish inside the measured
// window (after a warm-up) count; their latencies give the percentiles. Also
// measures the CPU the load generator itself used and, for the processes
// named in `watchPids`, theirs, so a table can show who was saturated.

import { cpuSeconds, machineBusySeconds } from './processes';
import { cpuMsPerOp, percentile } from './stats';

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
  /** The measured window's length (the CPU columns cover the same interval). */
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
  /** Server CPU milliseconds per successful operation in the window (all watched processes summed). */
  serverCpuMsPerOp: number;
  /** The load generator's CPU milliseconds per successful operation in the window. */
  generatorCpuMsPerOp: number;
  /** How many of `watchPids` could be read at the window's end (the server CPU covers these). */
  watchedPids: number;
  /** process.hrtime of the measured window, in microseconds (to cut a CPU profile to it). */
  windowUs: { start: bigint; end: bigint };
}

/** How long a level waits for every client's first answer before it measures regardless. */
const firstRoundWaitMsMax = 60_000;

interface CpuSnapshot {
  gen: NodeJS.CpuUsage;
  servers: number;
  machine: number;
  at: number;
  hrUs: bigint;
}

function snapshot(watchPids: LoadOptions['watchPids']): CpuSnapshot {
  return { gen: process.cpuUsage(), servers: sumCpu(watchPids), machine: machineBusySeconds(), at: performance.now(), hrUs: process.hrtime.bigint() / 1000n };
}

export async function runClosedLoop(opts: LoadOptions): Promise<LoadResult> {
  const workers = await Promise.all(Array.from({ length: opts.clients }, (_, c) => opts.makeWorker(c)));
  const latencies: number[] = [];
  let failed = 0;
  // The window opens after the warm-up AND once every client has had an answer, so a level that starts
  // cold (new connections, a first round slower than the warm-up) is not measured in its transient.
  // It closes when its timer fires, and the CPU is read at both ends, so the CPU columns and the operations
  // counted cover the same interval (the operations still in flight after it, which drain at falling load, are not counted).
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let answeredClients = 0;
  let warmedUp = false;
  let before: CpuSnapshot | undefined;
  let after: CpuSnapshot | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  const maybeOpen = () => {
    if (before !== undefined || !warmedUp || answeredClients < opts.clients) return;
    before = snapshot(opts.watchPids);
    windowStart = before.at;
    endTimer = setTimeout(() => {
      after = snapshot(opts.watchPids);
      windowEnd = after.at;
    }, opts.durationMs);
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
  clearTimeout(endTimer);
  // Every worker loops until windowEnd is set, and only the end timer sets it: both snapshots exist here.
  const start = before as CpuSnapshot;
  const end = after as CpuSnapshot;
  const seconds = (end.at - start.at) / 1000;
  const serverCpu = end.servers - start.servers;
  const machineCpu = end.machine - start.machine;
  const generatorCpuPct = ((end.gen.user + end.gen.system - start.gen.user - start.gen.system) / 1e6 / seconds) * 100;
  const serverCpuPct = (serverCpu / seconds) * 100;
  latencies.sort((a, b) => a - b);
  const perSecond = latencies.length / seconds;
  return {
    clients: opts.clients,
    ops: latencies.length,
    failed,
    seconds,
    perSecond,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    maxMs: latencies.at(-1) ?? NaN,
    generatorCpuPct,
    serverCpuPct,
    // Watched processes outside the window's set (the other replicas during one-replica reads) count as other work.
    otherCpuPct: Math.max(0, (machineCpu / seconds) * 100 - serverCpuPct - generatorCpuPct),
    serverCpuMsPerOp: cpuMsPerOp(serverCpuPct, perSecond),
    generatorCpuMsPerOp: cpuMsPerOp(generatorCpuPct, perSecond),
    watchedPids: countReadable(opts.watchPids),
    windowUs: { start: start.hrUs, end: end.hrUs },
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

function countReadable(pids: readonly (number | undefined)[] | undefined): number {
  return (pids ?? []).filter((pid) => Number.isFinite(cpuSeconds(pid))).length;
}
