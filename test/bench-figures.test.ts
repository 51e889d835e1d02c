// The benchmark's arithmetic (ops/bench, docs/benchmark.md): the median of
// several runs figure by figure, CPU milliseconds per operation, and the
// profile's largest non-crypto function (issue 16's 5 % criterion). Pure
// functions over made-up numbers, and one small closed loop in this process.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runClosedLoop } from '../ops/bench/closed-loop';
import { isCryptoFrame, summarizeProfiles } from '../ops/bench/cpu-profile';
import { medianOfRuns, medianOver } from '../ops/bench/runs';
import { cpuMsPerOp, median } from '../ops/bench/stats';

describe('median', () => {
  it('is the middle value of an odd sample, the mean of the two middle ones of an even sample', () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('leaves NaN out, and is NaN for an empty sample', () => {
    expect(median([NaN, 5, 1, NaN, 3])).toBe(3);
    expect(median([])).toBeNaN();
    expect(median([NaN])).toBeNaN();
  });
});

describe('cpuMsPerOp', () => {
  it('turns % of one core at a rate into milliseconds per operation', () => {
    // 150 % of one core is 1.5 CPU seconds per second; over 300 operations a second, 5 ms each.
    expect(cpuMsPerOp(150, 300)).toBeCloseTo(5, 12);
    expect(cpuMsPerOp(40, 1_000)).toBeCloseTo(0.4, 12);
  });

  it('is NaN when nothing completed, not infinite', () => {
    expect(cpuMsPerOp(100, 0)).toBeNaN();
  });
});

describe('medianOfRuns', () => {
  const run = (writes: number[], etcd: number[] | undefined, note: string) => ({
    note,
    height: BigInt(writes[0] ?? 0),
    writes: writes.map((perSecond, i) => ({ clients: [1, 256][i], perSecond })),
    etcd: etcd?.map((perSecond) => ({ perSecond })),
  });

  it('takes each figure\'s median at its own path, level by level', () => {
    const m = medianOfRuns([run([20, 200], [800, 3000], 'same'), run([30, 260], [900, 2000], 'same'), run([25, 210], [700, 2500], 'same')]) as ReturnType<typeof run>;
    expect(m.writes).toEqual([
      { clients: 1, perSecond: 25 },
      { clients: 256, perSecond: 210 },
    ]);
    expect(m.etcd).toEqual([{ perSecond: 800 }, { perSecond: 2500 }]);
    expect(m.height).toBe(25n);
    expect(m.note).toBe('same');
  });

  it('leaves out a run without the figure (etcd did not run) and lists notes that differ by run', () => {
    const m = medianOfRuns([run([20], [800], 'ok'), run([30], undefined, 'FAILED'), run([40], [600], 'ok')]) as ReturnType<typeof run>;
    expect(m.etcd).toEqual([{ perSecond: 700 }]);
    expect(m.writes[0]?.perSecond).toBe(30);
    expect(m.note).toBe('run 1: ok; run 2: FAILED; run 3: ok');
  });

  it('is undefined when no run has the figure', () => {
    expect(medianOfRuns([undefined, undefined])).toBeUndefined();
  });

  it('medianOver takes the median of a figure each run yields (a ratio per run, not of medians)', () => {
    const runs = [
      { ours: 10, theirs: 100 },
      { ours: 30, theirs: 100 },
      { ours: 20, theirs: 40 },
    ];
    // Per run: 0.1, 0.3, 0.5, median 0.3; the ratio of the medians would be 20 / 100 = 0.2.
    expect(medianOver(runs, (r) => r.ours / r.theirs)).toBeCloseTo(0.3, 12);
    expect(medianOver(runs, (r) => (r.ours === 30 ? undefined : r.ours))).toBe(15);
  });
});

describe('the profile\'s largest non-crypto function', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-figures-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const frame = (id: number, functionName: string, url: string) => ({ id, callFrame: { functionName, url, lineNumber: 9, columnNumber: 0 } });
  const nodes = [
    frame(1, '(idle)', ''),
    frame(2, 'verifyOneShot', 'node:internal/crypto/sig'),
    frame(3, '(garbage collector)', ''),
    frame(4, 'apply', 'file:///repo/apps/replica/src/replica-node.ts'),
    frame(5, 'hash', 'file:///repo/packages/proofs/src/hash.ts'),
    frame(6, 'hash', 'node:internal/crypto/hash'),
  ];
  /** A profile whose samples are `ids`, one per millisecond from t = 0 µs (the last sample weighs nothing). */
  const profileFile = (name: string, ids: number[]) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime: ids.length * 1000, samples: ids, timeDeltas: ids.map((_, i) => (i === 0 ? 0 : 1000)) }));
    return file;
  };

  it('classifies only node:crypto\'s sign, verify and hash built-ins as crypto', () => {
    expect(isCryptoFrame('verifyOneShot', 'node:internal/crypto/sig')).toBe(true);
    expect(isCryptoFrame('hash', 'node:internal/crypto/hash')).toBe(true);
    expect(isCryptoFrame('digest', 'node:internal/crypto/hash')).toBe(true);
    // Our own function of the same name is ours, not node:crypto's.
    expect(isCryptoFrame('hash', 'file:///repo/packages/proofs/src/hash.ts')).toBe(false);
    expect(isCryptoFrame('randomBytes', 'node:internal/crypto/random')).toBe(false);
  });

  it('skips crypto and V8 pseudo-frames, takes shares of busy time, and counts only samples inside the windows', () => {
    // Busy inside the window (t = 0 to 9 ms): verifyOneShot 4 ms, GC 3, apply 2, our hash 1; idle 1 ms.
    const file = profileFile('a.cpuprofile', [2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 1, 4, 4, 4, 4, 4]);
    const s = summarizeProfiles([{ file, windowsUs: [{ start: 0n, end: 10_000n }] }], '/repo');
    expect(s.busyMs).toBe(10);
    expect(s.idleMs).toBe(1);
    expect(s.byFunction[0]?.name).toContain('verifyOneShot');
    expect(s.largestNonCrypto?.name).toBe('apply  apps/replica/src/replica-node.ts:10');
    expect(s.largestNonCrypto?.pct).toBeCloseTo(20, 9);
    expect(s.crypto.map((c) => c.name)).toEqual(['verifyOneShot  node:internal/crypto/sig:10']);
    expect(s.pseudoFrames.map((c) => [c.name, c.pct])).toEqual([['(garbage collector)', 30]]);
  });

  it('pools several runs\' profiles, each cut to its own windows', () => {
    const a = profileFile('b.cpuprofile', [2, 2, 4, 4, 5]);
    const b = profileFile('c.cpuprofile', [5, 5, 5, 6, 4]);
    // a: verifyOneShot 2, apply 2 (the last sample weighs nothing); b inside 0 to 2 ms: our hash 3 ms.
    const s = summarizeProfiles([{ file: a, windowsUs: [{ start: 0n, end: 10_000n }] }, { file: b, windowsUs: [{ start: 0n, end: 2_000n }] }], '/repo');
    expect(s.busyMs).toBe(7);
    expect(s.windowMs).toBe(12);
    expect(s.largestNonCrypto?.name).toBe('hash  packages/proofs/src/hash.ts:10');
    expect(s.largestNonCrypto?.pct).toBeCloseTo((3 / 7) * 100, 9);
  });
});

describe('runClosedLoop CPU per operation', () => {
  /** Burns `ms` of this process's CPU time (not wall time: a busy machine may preempt it). */
  const burnCpu = (ms: number) => {
    const start = process.cpuUsage();
    for (;;) {
      const used = process.cpuUsage(start);
      if (used.user + used.system >= ms * 1000) return;
    }
  };

  it('divides the CPU of the measured window by the operations finished in it, for the generator and the watched processes', async () => {
    // One client whose every operation costs at least 4 ms of CPU here; this process is also the "server" watched.
    const r = await runClosedLoop({ clients: 1, durationMs: 1_500, warmupMs: 100, watchPids: [process.pid], makeWorker: async () => async () => {
        // Yield to the event loop as a real request does, so the window's timers can fire.
        await new Promise((resolve) => setImmediate(resolve));
        burnCpu(4);
        return true;
      },
    });
    expect(r.watchedPids).toBe(1);
    expect(r.ops).toBeGreaterThan(10);
    // The window ends on a 1,500 ms timer, which Node may fire a fraction of a millisecond early by performance.now (CI saw 1.4997 s).
    expect(r.seconds).toBeGreaterThanOrEqual(1.49);
    expect(r.generatorCpuMsPerOp).toBeGreaterThanOrEqual(4 * (r.ops / (r.ops + 1)));
    expect(r.generatorCpuMsPerOp).toBeLessThan(6);
    // /proc counts in 10 ms ticks; over 1.5 s of CPU both readings agree within a few per cent.
    expect(Math.abs(r.serverCpuMsPerOp - r.generatorCpuMsPerOp) / r.generatorCpuMsPerOp).toBeLessThan(0.1);
  });
});
