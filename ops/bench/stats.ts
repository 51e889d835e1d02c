// Small numeric helpers for the cluster benchmark: percentiles of a latency
// sample, the median of several runs, CPU per operation, and the formatting
// the tables use.

/** The p-th percentile (nearest rank) of an ascending sample; NaN when it is empty. */
export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sortedMs.length);
  return sortedMs[Math.min(sortedMs.length, Math.max(1, rank)) - 1] ?? NaN;
}

/** The median of a sample (the mean of the two middle values when it has an even size); NaN values are left out, and NaN when none is left. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** CPU in % of one core while `perSecond` operations/s completed, as CPU milliseconds per operation; NaN when nothing completed. */
export function cpuMsPerOp(cpuPct: number, perSecond: number): number {
  return perSecond > 0 ? ((cpuPct / 100) * 1000) / perSecond : NaN;
}

/** A number for a table: fixed decimals, or "n/a" for NaN and infinities. */
export function fmt(value: number, decimals = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** ours / theirs, NaN when either side is missing or theirs is 0. */
export function ratioValue(ours: number, theirs: number): number {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return NaN;
  return ours / theirs;
}

/** ours / theirs as "0.12x", or "n/a" when either side is missing. */
export function ratio(ours: number, theirs: number): string {
  return formatRatio(ratioValue(ours, theirs));
}

/** A ratio as "0.12x" (two significant figures below 10), or "n/a". */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  return `${r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
