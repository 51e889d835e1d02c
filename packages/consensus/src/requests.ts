// Client requests inside the core: admission to the pending set (exactly once,
// request ids inside their window, bounded per client and in total, validated
// for the epoch) and the primary's choice of the next batch from it.

import { type CoreState, requestKey } from './core-state';
import { consensusLimits } from './limits';
import { isRequestIdAhead, isRequestIdBeyondAdmission, requestIdDueMs } from './request-ids';
import { isWellFormedRequest } from './shape';
import type { ClientRequest } from './types';

export function onRequest<S>(s: CoreState<S>, request: ClientRequest): void {
  if (!isWellFormedRequest(request)) return s.reject('malformed', undefined);
  if (!s.member) return s.reject('not-member', undefined);
  const cached = s.deps.executor.replyFor(s.committed.state, request.clientId, request.requestId);
  if (cached === 'superseded') return;
  if (cached !== 'unknown') {
    // Exactly once: a replayed request is answered from the reply cache, never re-executed.
    s.emit({ type: 'reply', reply: cached });
    return;
  }
  // Beyond what any honest replica's intake accepts (request-ids.ts); refused before any signature work.
  if (isRequestIdBeyondAdmission(request.requestId, BigInt(s.nowMs), s.cfg.timestampWindowMs)) return s.reject('request-id-ahead', undefined);
  const key = requestKey(request);
  if (s.pending.has(key)) return;
  if (s.pending.size >= consensusLimits.pendingRequestsMax) return s.reject('oversized', undefined);
  if ((s.pendingByClient.get(request.clientId) ?? 0) >= consensusLimits.pendingPerClientMax) return s.reject('oversized', undefined);
  if (!s.deps.validateRequest(request, s.membership.epoch)) return s.reject('bad-request', undefined);
  s.pending.set(key, { request, sinceMs: s.nowMs, dueMs: requestIdDueMs(request.requestId, s.cfg.timestampWindowMs) });
  s.pendingByClient.set(request.clientId, (s.pendingByClient.get(request.clientId) ?? 0) + 1);
}

/** The next batch: pending requests not yet in the tentative chain, one per client, within the batch limits. */
export function takeBatch<S>(s: CoreState<S>): ClientRequest[] {
  const batch: ClientRequest[] = [];
  let bytes = 0;
  for (const [key, { request }] of s.pending) {
    if (s.inTip.has(key)) continue;
    const status = s.deps.executor.replyFor(s.tip.state, request.clientId, request.requestId);
    if (status !== 'unknown') {
      if (s.deps.executor.replyFor(s.committed.state, request.clientId, request.requestId) !== 'unknown') dropPending(s, key);
      continue;
    }
    // Not inside the window yet at our clock (block times are at least it): it stays pending until it is.
    if (isRequestIdAhead(request.requestId, BigInt(s.nowMs))) continue;
    if (batch.length >= s.cfg.batchRequestsMax || bytes + request.payload.length > s.cfg.batchBytesMax) break;
    if (batch.some((r) => r.clientId === request.clientId)) continue;
    batch.push(request);
    bytes += request.payload.length;
  }
  return batch;
}

export function dropPending<S>(s: CoreState<S>, key: string): void {
  const entry = s.pending.get(key);
  if (!entry) return;
  s.pending.delete(key);
  const left = (s.pendingByClient.get(entry.request.clientId) ?? 1) - 1;
  if (left > 0) s.pendingByClient.set(entry.request.clientId, left);
  else s.pendingByClient.delete(entry.request.clientId);
}

/** Since when the oldest pending request has been due from the primary (a request counts from its id's due time, request-ids.ts). */
export function oldestPendingMs<S>(s: CoreState<S>): number | undefined {
  let oldest: number | undefined;
  for (const p of s.pending.values()) {
    const since = Math.max(p.sinceMs, p.dueMs);
    if (oldest === undefined || since < oldest) oldest = since;
  }
  return oldest;
}
