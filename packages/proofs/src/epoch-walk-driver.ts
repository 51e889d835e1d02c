// The loop that drives an epoch walk (epoch-walk.ts) against one replica. The
// walk itself is synchronous and does no I/O; this is the only place it
// meets a promise, so every host (SDK, console, tools, replica) fetches the
// same way: one page at a time, each answer handed back before the next step.

import type { EpochWalk, EpochWalkOutcome } from './epoch-walk';

export type EpochsPageFetch = (after: bigint, limit: number) => Promise<{ ok: true; body: unknown } | { ok: false; detail: string }>;

/**
 * Runs a walk against one replica: `fetchPage` performs each fetch effect and
 * gives the untrusted body or why there is none. The only loop hosts share;
 * a host that needs to interleave its own work drives `next`/`onPage` itself.
 */
export async function runEpochWalk(
  walk: EpochWalk,
  fetchPage: EpochsPageFetch,
): Promise<EpochWalkOutcome> {
  for (;;) {
    const step = walk.next();
    if (step.type === 'done') return step.outcome;
    const answer = await fetchPage(step.after, step.limit);
    if (answer.ok) walk.onPage(step, answer.body);
    else walk.onFetchFailed(step.after, answer.detail);
  }
}
