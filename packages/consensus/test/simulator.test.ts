// The simulator as the main test: a quick set of seeds on every `npm test`
// (the long run is `npm run sim -- --seeds 10000`), determinism, and the
// negative controls that show the checker can fail.
import { describe, expect, it } from 'vitest';
import { ADVERSARIES, runSeed, scenarioFor } from './sim/scenario';
import { runSimulation } from './sim/simulator';

const QUICK_SEEDS = Array.from({ length: ADVERSARIES.length * 2 }, (_, i) => 1 + i);

describe('simulated cluster under faults and Byzantine replicas', () => {
  it.each(QUICK_SEEDS)('seed %i: no safety violation, every request commits after the heal', (seed) => {
    const result = runSeed(seed);
    const problems = [...result.safetyViolations, ...result.livenessFailures];
    expect(problems, `${result.adversary}: reproduce with npm run sim -- --seed ${seed}`).toEqual([]);
    expect(result.committedBlocks).toBeGreaterThan(10);
    expect(result.requestsCommitted).toBe(result.requestsSubmitted);
  });

  it('the same seed gives the same run, bit for bit', () => {
    const a = JSON.stringify(runSeed(7), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    const b = JSON.stringify(runSeed(7), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(a).toBe(b);
  });

  it('an equivocating primary leaves signed evidence at honest replicas', () => {
    const seed = QUICK_SEEDS.find((s) => scenarioFor(s).adversary === 'equivocating-primary') as number;
    expect(runSeed(seed).evidence).toBeGreaterThan(0);
  });

  it('honest replicas keep bounded memory over a long run', () => {
    const result = runSimulation({ seed: 99, durationMs: 60_000, healAtMs: 1_000, clients: 3, requestsPerClient: 60 });
    expect(result.livenessFailures).toEqual([]);
    expect(result.committedBlocks).toBeGreaterThan(120);
    // slots, votes and evidence are collected below each stable checkpoint
    expect(result.maxFootprint).toBeLessThan(400);
  });
});

describe('twins (one key on two nodes)', () => {
  it('scripted: twins of the primary hear different requests and propose conflicting batches; honest replicas stay safe and keep evidence', () => {
    let evidence = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const result = runSimulation({ seed, byzantine: 'twins', byzantineId: 'r1', clients: 4, requestsPerClient: 10, durationMs: 15_000, healAtMs: 6_000 });
      expect(result.safetyViolations, `seed ${seed}`).toEqual([]);
      expect(result.livenessFailures, `seed ${seed}`).toEqual([]);
      evidence += result.evidence;
    }
    expect(evidence).toBeGreaterThan(0);
  });
});

describe('negative controls: a weakened protocol is caught by the checker', () => {
  it('f + 1 commits without a real prepare quorum let an equivocating primary fork the log', () => {
    let violations = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const result = runSimulation({ seed, byzantine: 'equivocating-primary', unsafeThresholds: { prepared: 1, committed: 2 }, durationMs: 8_000, healAtMs: 2_000 });
      violations += result.safetyViolations.length;
    }
    expect(violations).toBeGreaterThan(0);
  });

  it('the same runs with the real thresholds are safe', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const result = runSimulation({ seed, byzantine: 'equivocating-primary', durationMs: 8_000, healAtMs: 2_000 });
      expect(result.safetyViolations).toEqual([]);
    }
  });
});
