// One fault-suite run: a cluster of real processes, the workload and the
// nemesis for `loadMs`, then the end checks. Shared by test/faults.test.ts
// (a short schedule) and ops/nemesis-run.ts (a long one).

import { Rng } from '../../packages/consensus/test/sim/rng';
import type { StrategyName } from '../../packages/consensus/test/sim/adversary';
import type { HistoryOp } from '../linearizability/checker';
import { finalChecks, type FaultRunSummary } from './checks';
import { FaultCluster } from './cluster';
import { runNemesis } from './nemesis';
import { runWorkload } from './workload';

export interface FaultRunOptions {
  seed: number;
  loadMs: number;
  clients: number;
  keyGroups: number;
  gapMs: [number, number];
  faultMs: [number, number];
  recoveryTimeoutMs: number;
  /** Peers talk through per-link proxies and the nemesis adds partitions, delays and drops. */
  linkFaults?: boolean;
  /** r1 (the first primary) runs this strategy of the simulator's (test/faults/byzantine-replica.ts); the nemesis then hits only r1. */
  byzantine?: StrategyName;
  log?: (line: string) => void;
}

export const shortSchedule = (seed: number): FaultRunOptions => ({ seed, loadMs: 30_000, clients: 8, keyGroups: 4, gapMs: [2_000, 4_000], faultMs: [2_000, 6_000], recoveryTimeoutMs: 15_000 });

export interface FaultRunResult {
  summary: FaultRunSummary;
  /** The recorded writes and linearizable reads (for negative controls on a real history). */
  history: HistoryOp[];
  logsOf: (id: string) => string[];
}

export async function runFaultSchedule(opts: FaultRunOptions): Promise<FaultRunResult> {
  const log = opts.log ?? (() => undefined);
  const rng = new Rng(opts.seed);
  // Independent streams: the schedule does not shift when the workload draws more or less.
  const workloadRng = rng.fork(1);
  const nemesisRng = rng.fork(2);
  log(`fault run: seed ${opts.seed}, ${opts.clients} clients, ${opts.loadMs} ms of load`);
  const linkRng = rng.fork(3);
  const byzantine = opts.byzantine === undefined ? undefined : { id: 'r1', strategy: opts.byzantine, seed: opts.seed };
  if (byzantine !== undefined) log(`byzantine: ${byzantine.id} runs ${byzantine.strategy}`);
  const cluster = await FaultCluster.start({ ...(opts.linkFaults ? { linkRandom: () => linkRng.float() } : {}), ...(byzantine === undefined ? {} : { byzantine }) });
  try {
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    let stop: () => void = () => undefined;
    const until = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const timer = setTimeout(stop, opts.loadMs);
    const [work, nemesis] = await Promise.all([
      runWorkload({ membership: cluster.membership, urls: cluster.urls, clients: opts.clients, keyGroups: opts.keyGroups, keyPrefix: `faults/s${opts.seed}`, rng: workloadRng, until, now }),
      runNemesis(cluster, { rng: nemesisRng, gapMs: opts.gapMs, faultMs: opts.faultMs, recoveryTimeoutMs: opts.recoveryTimeoutMs, ...(byzantine === undefined ? {} : { victims: [byzantine.id] }), until, now, log }),
    ]);
    clearTimeout(timer);
    if (cluster.links !== undefined) log(`links: ${JSON.stringify(cluster.links.counters)}`);
    log(`load done at ${(now() / 1000).toFixed(1)} s: ${work.history.length + work.plainReads.length} ops, ${nemesis.events.length} faults; checking`);
    const summary = await finalChecks(cluster, opts.seed, opts.loadMs, opts.clients, work, nemesis, now);
    return { summary, history: work.history, logsOf: (id) => cluster.tailLogs(id) };
  } finally {
    await cluster.stop();
  }
}

/** The summary as a two-column table. */
export function formatSummary(s: FaultRunSummary): string {
  const rows: [string, string][] = [
    ['seed', String(s.seed)],
    ['load', `${(s.loadMs / 1000).toFixed(0)} s, ${s.clients} clients`],
    ['operations', `${s.operations.total} (writes acked ${s.operations.writesAcked}, refused ${s.operations.writesRefused}, unknown ${s.operations.writesUnknown}; linearizable reads ${s.operations.readsLinearizable}; plain reads ${s.operations.readsPlain})`],
    ['failed calls', Object.entries(s.operations.failures).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['faults', Object.entries(s.faults).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['recovery timeouts', String(s.recoveryTimeouts)],
    ['view changes', `${s.viewChanges} (summed over replicas), final view ${s.finalView}`],
    ['receipts verified', String(s.receiptsVerified)],
    ['reads verified', String(s.readsVerified)],
    ['write latency', `p50 ${s.writeLatencyMs.p50} ms, p99 ${s.writeLatencyMs.p99} ms, max ${s.writeLatencyMs.max} ms`],
    ['byzantine replica', s.byzantine ?? 'none'],
    ['evidence', Object.entries(s.evidence).map(([k, v]) => `against ${k} ${v}`).join(', ') || 'none'],
    ['refused messages', Object.entries(s.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['lost writes', String(s.lostWrites)],
    ['converged', s.converged.ok ? `yes, height ${s.converged.height}, root ${s.converged.stateRoot.slice(0, 16)}… (after ${s.converged.waitedMs} ms)` : `NO: ${s.converged.height} ${s.converged.stateRoot}`],
    ['final values agree', s.finalValuesAgree ? 'yes' : 'NO'],
    ['plain-read violations', String(s.plainReadViolations.length)],
    ['anomalies', String(s.anomalies.length)],
    ['linearizability', `${s.linearizability.verdict} (${s.linearizability.ops} ops in ${s.linearizability.components} components, ${s.linearizability.steps} steps, ${s.linearizability.checkMs} ms)`],
    ['verdict', s.verdict.toUpperCase()],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const p of s.problems) lines.push(`problem: ${p}`);
  for (const f of s.linearizability.failures.slice(0, 3)) lines.push(`not linearizable: ${f.text}`);
  if (s.linearizability.refusal !== undefined) lines.push(s.linearizability.refusal);
  for (const a of s.anomalies) lines.push(`anomaly: ${a}`);
  for (const v of s.plainReadViolations) lines.push(`plain read: ${v}`);
  return lines.join('\n');
}

/**
 * The negative control on a real history: a read, invoked after two
 * acknowledged writes to one key completed one after the other, that returns
 * the first (stale) value. Undefined if the history has no such pair.
 */
export function staleReadOf(history: readonly HistoryOp[]): HistoryOp | undefined {
  // Single-key writes that took effect: key, value, revision and when they ran.
  const writes = history.flatMap((h) => (h.outcome.kind === 'written' && h.completedAt !== undefined && (h.op.kind === 'put' || h.op.kind === 'cas') ? [{ key: h.op.key, value: h.op.value, revision: h.outcome.revisions[0] ?? 0n, invokedAt: h.invokedAt, completedAt: h.completedAt }] : []));
  const first = writes.find((a) => writes.some((b) => b.key === a.key && b.invokedAt > a.completedAt));
  if (first === undefined) return undefined;
  const end = Math.max(...history.map((h) => h.completedAt ?? h.invokedAt));
  const id = Math.max(...history.map((h) => h.id)) + 1;
  return { id, client: 999, op: { kind: 'get', key: first.key }, invokedAt: end + 1, completedAt: end + 2, outcome: { kind: 'read', value: first.value, revision: first.revision } };
}
