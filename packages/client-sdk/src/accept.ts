// Accepting a certified header from a replica, in this order (cheap checks
// first): its epoch must be trusted (a later epoch than the newest trusted
// one is walked to first, epochs.ts); the newest epoch must have been told by
// f+1 replicas recently (learned now if not, so a certificate of an epoch that
// ended is refused for its height); for an answer that claims to be current,
// a height below the trusted head is a rollback (refused without signature
// work unless a different header is remembered at that height, which may be
// a fork); the certificate (cached by header hash); a different verified
// header at the same height is a fork (thrown, with both certificates); a
// higher header becomes the trusted head only after the replica proves with
// an RFC 9162 consistency proof that its log extends the trusted one (carried
// in the answer when the client asked with ?proveFrom=, else fetched); then
// the new head is persisted.

import { type Certificate, type CryptoBackend, equalBytes, verifyConsistency } from '@vcr/proofs';
import { describeWalk, type WalkResult } from './epochs';
import { type Attempt, unknownEpochDetail } from './errors';
import { boundsOf, type FetchLike, errorSummary, requestJson } from './http';
import type { TrustState } from './trust-state';
import { consistencyAnswerSchema, parseAnswer } from './wire';

export interface AcceptContext {
  trust: TrustState;
  backend: CryptoBackend;
  fetch: FetchLike;
  readTimeoutMs: number;
  responseBytesMax: number;
  /** Saves the trust state; awaited before a new head is used. */
  persist(): Promise<void>;
  /** Walks the epoch chain to `epoch`, asking `replica` first (epochs.ts). */
  reachEpoch(epoch: bigint, replica: string): Promise<WalkResult>;
  /** Learns the newest epoch from f+1 replicas when due (epochs.ts, surveyNewestEpoch), asking `replica` first. */
  confirmNewestEpoch(replica: string): Promise<WalkResult>;
}

export type Accepted = { ok: true; headerHash: Uint8Array; headerHashHex: string } | { ok: false; attempt: Attempt };

/** `current`: the answer claims to be the replica's latest state (reads, listings), so it must not roll back. `historic`: an old block (a change, a receipt). */
export type AcceptMode = 'current' | 'historic';

/** A consistency proof the answer carried (`?proveFrom=`): untrusted until it verifies like a fetched one. */
export interface CarriedConsistency {
  from: bigint;
  to: bigint;
  proof: Uint8Array[];
}

/** The `?proveFrom=` query for the trusted head's log size, or '' when nothing is trusted yet. */
export function proveFromQuery(trust: TrustState, separator: '?' | '&'): string {
  const size = trust.head?.logSize ?? 0n;
  return size > 0n ? `${separator}proveFrom=${size}` : '';
}

const fail = (replica: string, code: Attempt['code'], detail: string): Accepted => ({ ok: false, attempt: { replica, code, detail } });

/**
 * `floorHeight` is the trusted height when the question was sent (default:
 * now): an answer cannot be older than what was trusted before asking, but
 * concurrent reads must not refuse each other's slightly older answers.
 */
export async function acceptCertificate(ctx: AcceptContext, replica: string, cert: Certificate, mode: AcceptMode, floorHeight = ctx.trust.head?.height ?? 0n, carried?: CarriedConsistency): Promise<Accepted> {
  const { trust } = ctx;
  const height = cert.header.height;
  const below = mode === 'current' && height < floorHeight;
  if (below) {
    const known = trust.knownAt(height);
    if (known === undefined || known.hashHex === trust.headerHashHexOf(cert)) {
      return fail(replica, 'rollback', `certified height ${height} is below the trusted height ${floorHeight}`);
    }
  }
  const epoch = cert.header.epoch;
  if (cert.header.chainId === trust.chainId && epoch > trust.newestMembership.epoch) {
    const walked = await ctx.reachEpoch(epoch, replica);
    if (!walked.ok) return fail(replica, 'unknown-epoch', unknownEpochDetail(epoch, walked.epoch, trust.genesis.epoch, describeWalk(walked.attempts)));
  }
  // Retired keys may still sign for their old epoch: judge a certificate only once f+1 replicas told the newest epoch.
  const confirmed = await ctx.confirmNewestEpoch(replica);
  if (!confirmed.ok) return fail(replica, 'unknown-epoch', `the newest epoch is not confirmed, so no certificate is trusted: ${describeWalk(confirmed.attempts)}`);
  const verdict = trust.verifyCertificate(cert);
  if (!verdict.ok) return fail(replica, verdict.code, verdict.detail);
  trust.checkFork(cert, verdict.headerHash, replica);
  if (below) return fail(replica, 'rollback', `certified height ${height} is below the trusted height ${floorHeight}`);
  // The head may move while a consistency proof is fetched: check again against the new head.
  for (let round = 0; round < 4; round++) {
    const current = trust.head;
    if (current !== undefined && height <= current.height) break;
    if (current !== undefined) {
      const extended = await checkExtends(ctx, replica, current, cert, carried);
      if (extended !== undefined) return fail(replica, 'verification-failed', extended);
      if (trust.head !== current) continue;
    }
    trust.advance(cert, verdict.headerHash);
    await ctx.persist();
    break;
  }
  trust.remember(cert, verdict.headerHash, verdict.headerHashHex);
  return { ok: true, headerHash: verdict.headerHash, headerHashHex: verdict.headerHashHex };
}

/** Undefined when the new header's log extends the trusted head's log, else why not. */
async function checkExtends(ctx: AcceptContext, replica: string, head: { logSize: bigint; logRoot: Uint8Array }, cert: Certificate, carried: CarriedConsistency | undefined): Promise<string | undefined> {
  const to = cert.header;
  if (head.logSize === 0n) return undefined;
  if (to.logSize < head.logSize) return `log shrank: the trusted head has ${head.logSize} entries, this header ${to.logSize}`;
  if (to.logSize === head.logSize) return equalBytes(to.logRoot, head.logRoot) ? undefined : `log rewritten: same size ${to.logSize}, another root`;
  const key = ctx.trust.consistencyKey(head.logSize, head.logRoot, to.logSize, to.logRoot);
  if (ctx.trust.isConsistent(key)) return undefined;
  // The proof came with the answer, for the head this client trusts now: no second round trip.
  if (carried !== undefined && carried.from === head.logSize && carried.to === to.logSize) {
    const verdict = verifyConsistency(ctx.backend, { size1: head.logSize, size2: to.logSize, root1: head.logRoot, root2: to.logRoot, proof: carried.proof });
    if (!verdict.ok) return `the log does not extend the trusted head (${verdict.reason}; proof carried in the answer)`;
    ctx.trust.markConsistent(key);
    return undefined;
  }
  const answer = await requestJson(ctx.fetch, {
    url: `${replica}/v1/log/consistency?from=${head.logSize}&to=${to.logSize}`,
    timeoutMs: ctx.readTimeoutMs,
    ...boundsOf('consistency', ctx.responseBytesMax),
  });
  if (!answer.ok) return `consistency proof: ${answer.code}: ${answer.detail}`;
  if (answer.status !== 200) return `consistency proof: ${errorSummary(answer.status, answer.body)}`;
  const parsed = parseAnswer(consistencyAnswerSchema, answer.body);
  if (!parsed.ok) return `consistency proof malformed: ${parsed.detail}`;
  const verdict = verifyConsistency(ctx.backend, { size1: head.logSize, size2: to.logSize, root1: head.logRoot, root2: to.logRoot, proof: parsed.value.proof });
  if (!verdict.ok) return `the log does not extend the trusted head (${verdict.reason})`;
  ctx.trust.markConsistent(key);
  return undefined;
}
