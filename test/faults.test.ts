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

const seed = process.env.VCR_FAULT_SEED !== undefined ? Number(process.env.VCR_FAULT_SEED) : Math.floor(Math.random() * 2 ** 31);

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
});
