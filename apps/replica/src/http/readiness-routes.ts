// GET /readyz: whether this server should receive traffic as what it is
// configured to be. It differs from /healthz (is the process up and following
// a view) in one case that matters to a load balancer or an orchestrator: a
// replica that verified its own removal (removal.ts) is healthy as a process
// but is no longer a replica, so it is never ready again. Contract:
// apps/replica/openapi.yaml.

import type { Express } from 'express';
import type { ReplicaNode } from '../replica-node';

export type NotReadyReason = 'removed' | 'view-change';

export function readiness(node: ReplicaNode): { ready: true } | { ready: false; reason: NotReadyReason; removedAtEpoch?: string } {
  const removedAt = node.store.removedAtEpoch();
  if (removedAt !== undefined) return { ready: false, reason: 'removed', removedAtEpoch: removedAt.toString() };
  if (node.status.status !== 'normal') return { ready: false, reason: 'view-change' };
  return { ready: true };
}

export function readinessRoutes(app: Express, node: ReplicaNode): void {
  app.get('/readyz', (_req, res) => {
    const r = readiness(node);
    res.status(r.ready ? 200 : 503).json(r);
  });
}
