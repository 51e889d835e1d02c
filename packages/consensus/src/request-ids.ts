// The window of request ids a client may use (docs/protocol.md, "Request ids").
//
// Exactly-once keeps one reply per client, for its highest executed id: an id
// at or below it is never executed again. So one request with a huge id
// (2^63 - 1) would end its client's writes for good, and one far ahead of the
// others would strand them. Ids are therefore bounded by time: at most
// `requestIdsPerMs` times (block time + requestIdAheadMsMax). The block time
// is certified in the header, so every replica executing a batch decides the
// same. The SDK's ids are milliseconds times 1000 (plus a counter within a
// millisecond), inside the window whenever the client's clock is within
// requestIdAheadMsMax of the replicas'; ids counted up from 1 always are.
//
// Replicas' clocks differ by up to the timestamp window W (a backup refuses a
// block time further than W from its clock), so the three bounds that use a
// replica's own clock are staggered by W to keep an honest primary from being
// blamed for an id its clock does not admit yet:
// - a replica's HTTP intake accepts ids up to the execution bound at its clock;
// - the core admits into its pending set ids up to that bound plus W, so what
//   any honest intake accepted, every honest replica keeps pending;
// - a primary proposes an id once it is inside the execution bound at its
//   clock (block times are at least that), and a backup counts a pending
//   request against the primary only from W after the time the id names.

import { consensusLimits } from './limits';

/** Request ids per millisecond of the window's clock: room for 1000 ids per client per millisecond. */
export const requestIdsPerMs = 1000n;

const aheadMs = BigInt(consensusLimits.requestIdAheadMsMax);
const nonNegative = (ms: bigint): bigint => (ms < 0n ? 0n : ms);

/** The highest request id a block with certified time `timeMs` executes (and an intake accepts at its clock). */
export function requestIdCeiling(timeMs: bigint): bigint {
  return (nonNegative(timeMs) + aheadMs) * requestIdsPerMs;
}

/** True when a block with time `timeMs` skips `requestId` (no reply, no state change). */
export function isRequestIdAhead(requestId: bigint, timeMs: bigint): boolean {
  return requestId > requestIdCeiling(timeMs);
}

/** True when the core refuses `requestId` into its pending set at its clock `nowMs`: no honest replica's intake accepts it. */
export function isRequestIdBeyondAdmission(requestId: bigint, nowMs: bigint, timestampWindowMs: number): boolean {
  return requestId > requestIdCeiling(nowMs + BigInt(timestampWindowMs));
}

/**
 * From when (replica clock, ms) a pending request with this id must have been
 * proposed by an honest primary, whose clock is at most `timestampWindowMs`
 * behind: before then it does not count against the primary.
 */
export function requestIdDueMs(requestId: bigint, timestampWindowMs: number): number {
  const namedMs = (requestId + requestIdsPerMs - 1n) / requestIdsPerMs - aheadMs;
  return Number(namedMs) + timestampWindowMs;
}
