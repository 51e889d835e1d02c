// `--runs N`: the benchmark measures everything N times, on fresh clusters,
// and reports for every figure the median of the N runs. The results of one
// run are a tree of plain objects, arrays and numbers that has the same shape
// in every run (the same levels, the same rows), so the median is taken
// figure by figure along the tree: the number at one path in every run, its
// median at that path in the result. Each figure is a median on its own (the
// median writes/s and the median p50 of a level may come from different
// runs), which is what "the median of N runs per figure" asks.

import { median } from './stats';

/** Values that do not vary in a meaningful way between runs (names, notes) come from the runs as they are. */
function mergeStrings(values: readonly string[]): string {
  const distinct = [...new Set(values)];
  if (distinct.length <= 1) return distinct[0] ?? '';
  // Different notes (etcd failed in one run, the view changed in another): say each, by run.
  return values.map((v, i) => `run ${i + 1}: ${v}`).join('; ');
}

function medianBigint(values: readonly bigint[]): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as bigint) : ((sorted[mid - 1] as bigint) + (sorted[mid] as bigint)) / 2n;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The figure-by-figure median of several runs' results. A path missing in a
 * run (undefined: etcd did not run that time) is left out for that path; an
 * array's element i is the median of element i of each run; numbers take the
 * median (NaN left out), bigints too; strings that differ are listed by run.
 */
export function medianOfRuns(runs: readonly unknown[]): unknown {
  const present = runs.filter((v) => v !== undefined);
  const first = present[0];
  if (first === undefined) return undefined;
  if (present.every((v) => typeof v === 'number')) return median(present as number[]);
  if (present.every((v) => typeof v === 'bigint')) return medianBigint(present as bigint[]);
  if (present.every((v) => typeof v === 'string')) return mergeStrings(present as string[]);
  if (present.every(Array.isArray)) {
    const length = Math.max(...present.map((v) => (v as unknown[]).length));
    return Array.from({ length }, (_, i) => medianOfRuns(present.map((v) => (v as unknown[])[i])));
  }
  if (present.every(isRecord)) {
    const keys = [...new Set(present.flatMap((v) => Object.keys(v as Record<string, unknown>)))];
    return Object.fromEntries(keys.map((k) => [k, medianOfRuns(present.map((v) => (v as Record<string, unknown>)[k]))]));
  }
  // Mixed kinds at one path (a boolean, or a shape that changed between runs): the first run's, unmerged.
  return first;
}

/** The median over runs of one figure each run yields; runs without it (undefined) are left out. */
export function medianOver<R>(runs: readonly R[], figure: (run: R) => number | undefined): number {
  return median(runs.map(figure).filter((v): v is number => v !== undefined));
}
