// Readiness (GET /readyz, docs/runbook.md "Probes"): should a load balancer
// send clients here now? A removed replica never is. A replica is ready when it follows a view, is
// connected to a quorum (itself and its authenticated peer links make 2f+1 of
// the current membership) and has caught up (nothing to fetch, no blocks
// waiting out of order, nothing committed below the stable checkpoint a
// quorum signed). A mirror is ready when it has a block, is not behind the
// height its upstreams claim, and an upstream answered recently.
// Liveness is separate (GET /livez): a replica that is not ready must not be
// restarted for it, since a view change or a catch-up is exactly when it is
// needed.

import { quorumSize } from '@vcr/proofs';
import type { ReplicaNode } from '../replica-node';

/** A mirror whose upstreams have all been silent this long serves reads it cannot keep fresh. */
export const MIRROR_UPSTREAM_SILENCE_MS_MAX = 30_000;

export interface ReadinessCheck {
  ready: boolean;
  /** Set when this replica verified that a membership change removed it. */
  reason?: 'removed';
  removedAtEpoch?: string;
  checks: Record<string, { ok: boolean; detail: string }>;
}

function numberOf(diagnostics: Record<string, string | number>, field: string): number {
  const value = diagnostics[field];
  return typeof value === 'number' ? value : Number(value ?? 0);
}

export function readinessOf(node: ReplicaNode, nowMs = Date.now()): ReadinessCheck {
  // A replica that verified its own removal (removal.ts) is up as a process but is no longer a
  // replica: never ready again, whatever else holds.
  const removedAt = node.store.removedAtEpoch();
  if (removedAt !== undefined) {
    return { ready: false, reason: 'removed', removedAtEpoch: removedAt.toString(), checks: { member: { ok: false, detail: `removed from the membership at epoch ${removedAt}` } } };
  }
  const upstream = node.mirrorUpstream;
  const checks: ReadinessCheck['checks'] = {};
  if (upstream !== undefined) {
    const height = node.latestBlock()?.header.height ?? 0n;
    const claimed = upstream.reduce<bigint>((max, u) => (u.claimedHeight !== undefined && u.claimedHeight > max ? u.claimedHeight : max), 0n);
    const lastAnswerMs = upstream.reduce<number | undefined>((max, u) => (u.lastAnswerMs !== undefined && (max === undefined || u.lastAnswerMs > max) ? u.lastAnswerMs : max), undefined);
    checks.caughtUp = { ok: height > 0n && height >= claimed, detail: `height ${height}, upstreams claim ${claimed}` };
    checks.upstreamAnswered = {
      ok: lastAnswerMs !== undefined && nowMs - lastAnswerMs <= MIRROR_UPSTREAM_SILENCE_MS_MAX,
      detail: lastAnswerMs === undefined ? 'no upstream has answered' : `last answer ${Math.max(0, nowMs - lastAnswerMs)} ms ago`,
    };
  } else {
    const s = node.status;
    const membership = node.currentMembership;
    const quorum = quorumSize(membership.replicas.length, membership.f);
    const connected = node.connectedPeers().length + 1;
    const committed = numberOf(s, 'committed');
    const stable = numberOf(s, 'stable');
    const behind = numberOf(s, 'needFetch') !== 0 || String(s.buffered ?? '') !== '' || committed < stable;
    checks.following = { ok: s.status === 'normal', detail: `${s.status} in view ${s.view}` };
    checks.quorumConnected = { ok: connected >= quorum, detail: `${connected} of ${membership.replicas.length} replicas reachable (itself included), quorum ${quorum}` };
    checks.caughtUp = { ok: !behind, detail: `committed ${committed}, stable checkpoint ${stable}${numberOf(s, 'needFetch') !== 0 ? ', fetching blocks' : ''}` };
  }
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
