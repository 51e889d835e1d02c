// The fault suite's short schedule: 4 replica processes, 8 SDK clients and
// about 30 s of mixed load while a seeded nemesis kills and restarts, or
// stops and resumes, one replica at a time (the primary too). Then: the
// history of writes and linearizable reads is linearizable, no acknowledged
// write is missing from any replica, the replicas end on one state root, every
// receipt verified. The seed is printed; `npx tsx ops/nemesis-run.ts --seed N`
// reruns it (docs/faults.md).

import { describe, expect, it } from 'vitest';
import { checkHistory } from './linearizability/checker';
import { formatSummary, runFaultSchedule, shortSchedule, staleReadOf } from './faults/run';
import { STRATEGIES, type StrategyName } from '../packages/consensus/test/sim/adversary';
import type { FaultRunSummary } from './faults/checks';

const seed = process.env.VCR_FAULT_SEED !== undefined ? Number(process.env.VCR_FAULT_SEED) : Math.floor(Math.random() * 2 ** 31);
// The Byzantine run's strategy: drawn from the seed unless named.
const strategy = (process.env.VCR_FAULT_STRATEGY as (typeof STRATEGIES)[number] | undefined) ?? STRATEGIES[seed % STRATEGIES.length]!;

/** What each strategy must leave behind at the honest replicas: the sign that it really ran. */
const EFFECT: Record<StrategyName, [string, (s: FaultRunSummary) => boolean]> = {
  silent: ['a view change away from the mute primary', (s) => s.viewChanges > 0],
  // Only delays: the honest replicas need not refuse anything; the checks above are what it tests.
  slow: ['nothing required', () => true],
  'equivocating-primary': ['evidence against r1', (s) => (s.evidence['r1'] ?? 0) > 0],
  'conflicting-votes': ['evidence against r1', (s) => (s.evidence['r1'] ?? 0) > 0],
  forger: ['impersonations refused as sender-mismatch', (s) => (s.rejected['sender-mismatch'] ?? 0) > 0],
  replayer: ['replays refused as sender-mismatch', (s) => (s.rejected['sender-mismatch'] ?? 0) > 0],
  'old-view-and-epoch': ['wrong-epoch refusals', (s) => (s.rejected['wrong-epoch'] ?? 0) > 0],
  'wrong-root-primary': ['roots-mismatch refusals', (s) => (s.rejected['roots-mismatch'] ?? 0) > 0],
  'far-timestamp-primary': ['bad-timestamp refusals', (s) => (s.rejected['bad-timestamp'] ?? 0) > 0],
  'withholding-primary': ['a view change away from the withholding primary', (s) => s.viewChanges > 0],
};

describe(`process faults on a real cluster (seed ${seed})`, () => {
  it('a history under kill -9, restart, SIGSTOP and SIGCONT is linearizable, loses no acknowledged write, and ends on one state root', async () => {
    console.log(`fault suite seed ${seed} (rerun: VCR_FAULT_SEED=${seed} npx vitest run test/faults.test.ts)`);
    const { summary, history, logsOf } = await runFaultSchedule({ ...shortSchedule(seed), loadMs: 25_000, log: (line) => console.log(line) });
    const table = formatSummary(summary);
    console.log(table);
    if (summary.verdict !== 'pass') for (const id of ['r1', 'r2', 'r3', 'r4']) console.log(`--- ${id}\n${logsOf(id).join('\n')}`);
    expect(summary.operations.writesAcked, table).toBeGreaterThan(50);
    expect(summary.lostWrites, table).toBe(0);
    expect(summary.converged.ok, table).toBe(true);
    expect(summary.linearizability.verdict, table).toBe('linearizable');
    expect(summary.problems, table).toEqual([]);
    // Negative control on this very history: one deliberately stale read appended must be caught.
    const stale = staleReadOf(history);
    expect(stale).toBeDefined();
    const control = checkHistory([...history, stale!]);
    expect(control.linearizable).toBe(false);
    if (!control.linearizable) expect(control.failures[0]?.stuck.id).toBe(stale!.id);
  }, 150_000);

  it(`with r1 running the simulator's ${strategy} strategy, the honest replicas stay linearizable, lose nothing, agree, and accuse only r1`, async () => {
    console.log(`byzantine fault run seed ${seed}, strategy ${strategy} (rerun: VCR_FAULT_SEED=${seed} VCR_FAULT_STRATEGY=${strategy} npx vitest run test/faults.test.ts)`);
    const { summary, logsOf } = await runFaultSchedule({ ...shortSchedule(seed), loadMs: 20_000, byzantine: strategy, log: (line) => console.log(line) });
    const table = formatSummary(summary);
    console.log(table);
    if (summary.verdict !== 'pass') for (const id of ['r1', 'r2', 'r3', 'r4']) console.log(`--- ${id}\n${logsOf(id).join('\n')}`);
    expect(summary.byzantine).toBe(`r1 ${strategy}`);
    const [effect, seen] = EFFECT[strategy];
    expect(seen(summary), `the strategy left no trace (${effect} expected)\n${table}`).toBe(true);
    expect(summary.operations.writesAcked, table).toBeGreaterThan(20);
    expect(summary.lostWrites, table).toBe(0);
    expect(summary.converged.ok, table).toBe(true);
    expect(summary.linearizability.verdict, table).toBe('linearizable');
    expect(summary.problems, table).toEqual([]);
  }, 150_000);
});
