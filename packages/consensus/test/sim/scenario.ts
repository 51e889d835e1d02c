// Derives a whole scenario from a seed, so `--seed N` alone reproduces a run.
import { STRATEGIES, type StrategyName } from './adversary';
import { Rng } from './rng';
import { runSimulation, type SimOptions, type SimResult } from './simulator';

export const ADVERSARIES: readonly (StrategyName | 'twins' | 'none')[] = ['none', ...STRATEGIES, 'twins'];

export function scenarioFor(seed: number): SimOptions & { adversary: string } {
  const rng = new Rng(seed ^ 0x5eed5eed);
  const adversary = ADVERSARIES[seed % ADVERSARIES.length] as StrategyName | 'twins' | 'none';
  return {
    adversary,
    seed,
    // Half the runs stop a replica that verified its removal, half keep it following; drawn without the rng so the rest of each scenario stays as it was.
    onRemoval: Math.floor(seed / ADVERSARIES.length) % 2 === 0 ? 'mirror' : 'exit',
    byzantine: adversary === 'none' ? undefined : adversary,
    dropRate: rng.pick([0, 0.02, 0.05, 0.15]),
    duplicateRate: rng.pick([0, 0.05, 0.2]),
    delayMaxMs: rng.pick([10, 40, 150, 400]),
    partitions: rng.chance(0.5),
    crashes: rng.chance(0.5),
    clients: rng.int(1, 4),
    requestsPerClient: rng.int(3, 12),
    // A third of the runs also change the membership three times: a replica joins, a key rotates, one leaves.
    ...(rng.chance(0.33)
      ? { epochSteps: [{ step: 'add' as const }, { step: 'rotate' as const, id: 'r2' }, { step: 'remove' as const, id: `r${rng.int(1, 4)}` }], epochChangeAtMs: [rng.int(500, 2_000), rng.int(2_500, 4_500), rng.int(5_000, 7_000)], retiredKeyVoter: rng.chance(0.5) }
      : {}),
  };
}

export function runSeed(seed: number): SimResult & { adversary: string } {
  const scenario = scenarioFor(seed);
  return { ...runSimulation(scenario), adversary: scenario.adversary };
}
