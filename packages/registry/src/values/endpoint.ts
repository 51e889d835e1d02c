// Choosing an endpoint (docs/values.md section 6): a weighted choice among
// typed endpoint records, deterministic given the random number the caller
// injects, so it is testable and the library holds no randomness of its own.

import type { EndpointValue } from './schemas';

export interface PickEndpointOptions {
  /** Only endpoints of this region; absent means any region. */
  region?: string;
  /** With `region`: when no endpoint of that region can be picked, pick among all regions instead of failing. */
  fallbackToAnyRegion?: boolean;
  /** The service accepts http: endpoints too. Both sides must opt in: the record (allowInsecure) and the reader (here). */
  allowInsecure?: boolean;
  /** A number in [0, 1), e.g. Math.random() or crypto.getRandomValues scaled. */
  random: number;
}

export type PickEndpointResult =
  | { ok: true; endpoint: EndpointValue; index: number; usedFallback: boolean }
  /** No endpoint with weight above 0 (of the region, and https unless allowed). */
  | { ok: false; reason: 'no-candidates' };

function isSecure(endpoint: EndpointValue): boolean {
  return endpoint.url.startsWith('https:');
}

/**
 * Picks one endpoint with probability weight / total weight among the
 * candidates, in the given order: the candidate whose cumulative range holds
 * floor(random * total). `index` is its position in `endpoints`.
 */
export function pickEndpoint(endpoints: readonly EndpointValue[], options: PickEndpointOptions): PickEndpointResult {
  const { random } = options;
  if (!(random >= 0 && random < 1)) throw new RangeError('pickEndpoint: random must be in [0, 1)');
  const usable = endpoints.map((endpoint, index) => ({ endpoint, index })).filter(({ endpoint }) => endpoint.weight > 0 && (options.allowInsecure === true || isSecure(endpoint)));
  let candidates = options.region === undefined ? usable : usable.filter(({ endpoint }) => endpoint.region === options.region);
  let usedFallback = false;
  if (candidates.length === 0 && options.region !== undefined && options.fallbackToAnyRegion === true) {
    candidates = usable;
    usedFallback = true;
  }
  const total = candidates.reduce((sum, c) => sum + c.endpoint.weight, 0);
  if (total === 0) return { ok: false, reason: 'no-candidates' };
  const target = Math.floor(random * total);
  let upper = 0;
  for (const candidate of candidates) {
    upper += candidate.endpoint.weight;
    if (target < upper) return { ok: true, endpoint: candidate.endpoint, index: candidate.index, usedFallback };
  }
  // floor(random * total) < total for random < 1, so the loop always returns.
  throw new RangeError('pickEndpoint: weights do not cover the target');
}
