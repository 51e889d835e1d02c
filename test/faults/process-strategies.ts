// Byzantine strategies that only make sense on a real replica process, where
// clients send requests to one replica and replicas forward them (the
// simulator hands every request to every replica, so it has no use for them).

import type { StrategyName } from '../../packages/consensus/test/sim/adversary';

export const PROCESS_ONLY_STRATEGIES = ['censoring-primary'] as const;
export type ProcessStrategyName = (typeof PROCESS_ONLY_STRATEGIES)[number] | StrategyName;

/**
 * 'censoring-primary': a replica that drops every client request a peer forwards to it, and is
 * honest in everything else (it still answers clients that talk to it directly). As the primary,
 * a request that reaches it only through a backup is never ordered unless the backups hold it,
 * time the primary out and replace it.
 */
export function ignoresForwardedRequests(strategy: ProcessStrategyName): boolean {
  return strategy === 'censoring-primary';
}
