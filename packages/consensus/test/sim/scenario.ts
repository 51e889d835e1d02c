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
    byzantine: adversary === 'none' ? undefined : adversary,
    dropRate: rng.pick([0, 0.02, 0.05, 0.15]),
    duplicateRate: rng.pick([0, 0.05, 0.2]),
    delayMaxMs: rng.pick([10, 40, 150, 400]),
    partitions: rng.chance(0.5),
    crashes: rng.chance(0.5),
    clients: rng.int(1, 4),
    requestsPerClient: rng.int(3, 12),
  };
}

export function runSeed(seed: number): SimResult & { adversary: string } {
  const scenario = scenarioFor(seed);
  return { ...runSimulation(scenario), adversary: scenario.adversary };
}
