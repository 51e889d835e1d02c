// Every bound and default of the SDK in one place. Units last. Bounds the
// SDK shares with the replica (the epochs page, the epoch chain) are the
// proofs' limits, named here, not restated.

import { limits as proofLimits } from '@vcr/proofs';

export const sdkLimits = {
  /** Largest response body read from a replica; anything larger is refused unread. Each kind of answer has a smaller bound below (answerBounds). */
  responseBytesMax: 8 * 1024 * 1024,
  /** Log leaves accepted in one block's results (GET /v1/blocks/{h}/results): at most one per request of a batch, far above any batch bound. */
  blockResultsLeavesMax: 10_000,
  /**
   * JSON nesting accepted in any answer, checked by a scan of the bytes before
   * JSON.parse (json-scan.ts): the deepest honest answer (an epochs page) nests 6 levels.
   */
  jsonDepthMax: 32,
  /** Per-request timeout for reads. */
  readTimeoutMs: 5_000,
  /** Per-attempt timeout for a write (the replica answers 503 after 10 s without a commit). */
  writeTimeoutMs: 15_000,
  /** A write gives up after this long across all its retries. */
  writeDeadlineMs: 60_000,
  /** A Retry-After above this is capped. */
  retryAfterMsMax: 5_000,
  /** Default freshness bound of a read against the certified timestamp (heartbeats come every 2 s). */
  maxStalenessMs: 30_000,
  /** A linearizable read waits this long at most for a replica to reach the ordering height. */
  linearizableWaitMs: 10_000,
  /** Certificates remembered as verified, by header hash. */
  certificateCacheSize: 1_024,
  /**
   * Verified certificates recognized by their JSON text (trust-state.ts,
   * certificateOfJson): at most ~16 KiB each (64 signatures), ~1.5 KiB for
   * four replicas, so at most 4 MiB.
   */
  certificateTextCacheSize: 256,
  /** Verified headers remembered by height to detect forks. */
  forkWindowSize: 4_096,
  /** Typed reader: the last verified flag remembered per key (served, flagged stale, when every replica fails). */
  lastVerifiedCacheSize: 1_024,
  /** Log consistency results remembered. */
  consistencyCacheSize: 1_024,
  /** Page sizes asked of the replica. */
  listPageSize: 100,
  changesPageSize: 50,
  /** Long-poll wait for watch, and the extra time allowed for the answer. */
  watchWaitMs: 25_000,
  watchSlackMs: 10_000,
  /** Pause after every replica failed once in a watch round. */
  watchRetryMs: 1_000,
  /** Shortest long-poll wait a watch asks for: a watch never polls in a tight loop. */
  watchWaitMsMin: 1_000,
  /**
   * A long poll answered empty before half its wait is "early" (an honest replica answers
   * empty only at its deadline). Each early empty answer in a row waits this long, doubling,
   * up to watchEarlyBackoffMsMax, before the next poll.
   */
  watchEarlyBackoffMs: 250,
  watchEarlyBackoffMsMax: 8_000,
  /** Early empty answers in a row from one replica that count as one failure of it (the watch moves on). */
  watchEarlyEmptyMax: 3,
  /** Rounds (50 ms apart) a plain read waits for replicas just behind the trusted height before failing. */
  lagRetryRounds: 6,
  /** Pages of history or listing fetched at most in one call. */
  pagesMax: 10_000,
  /** Epoch links asked of a replica per page of `GET /v1/epochs`: the proofs' epochsPageLinksMax, what the replica serves at most. */
  epochPageLinks: proofLimits.epochsPageLinksMax,
  /** Epoch links verified at most in one walk (one call): a header further ahead of the newest trusted epoch is refused unwalked. The proofs' epochChainLinksMax. */
  epochWalkLinksMax: proofLimits.epochChainLinksMax,
  /**
   * How long the newest epoch, learned from f+1 replicas, is trusted before it is asked again: the
   * window in which keys retired by a rotation the client has not heard of could still certify to it.
   */
  newestEpochMaxAgeMs: 60_000,
  /** Epoch links the trust state holds (and persists) at most; past it, pin a later membership. */
  epochLinksTrustedMax: 4_096,
  /** Local views (view.ts): keys per load page asked of the replica, and changes per follow page. */
  viewKeysPageSize: 100,
  viewChangesPageSize: 100,
  /** Keys a view holds at most: a larger prefix is refused (load one under it). */
  viewKeysMax: 100_000,
  /** Changes a view buffers at most before the page that ends at a head (checked against the prefix index). */
  viewPendingChangesMax: 10_000,
  /** Long-poll wait of a view's follow loop: an empty answer brings the newest head, so the view's age stays below this plus a block interval. */
  viewWaitMs: 5_000,
} as const;

/** The kinds of answer the SDK asks replicas for, each with its own bounds. */
export type AnswerKind = 'read' | 'list' | 'history' | 'changes' | 'view-keys' | 'view-changes' | 'receipt' | 'header' | 'consistency' | 'epochs' | 'orgs' | 'pending';

/**
 * Bounds per kind of answer, from the wire limits of what an honest answer
 * holds (a certificate is at most ~16 KiB as JSON: 64 signatures; a map proof
 * ~18 KiB: 256 siblings; a log proof ~5 KiB: 64 nodes; a value 128 KiB as hex).
 * `elementsMax` bounds the commas, arrays and objects the JSON scan counts, an
 * upper bound on the values JSON.parse would build: tiny elements cost the
 * parser far more memory than their bytes. Listing, history, changes and epoch
 * pages keep the global bound: pages of maximal values, requests or
 * memberships are that large.
 */
export const answerBounds: Record<AnswerKind, { bytesMax: number; elementsMax: number }> = {
  /** A value (128 KiB hex), its map proof, the certificate and a consistency proof: ~170 KiB, ~600 elements. */
  read: { bytesMax: 256 * 1024, elementsMax: 4_096 },
  /** listPageSize keys, each a value and a map proof (~270 elements), and a certificate. */
  list: { bytesMax: sdkLimits.responseBytesMax, elementsMax: 65_536 },
  /** changesPageSize changes, each a signed request, an inclusion proof and a certificate (~300 elements). */
  history: { bytesMax: sdkLimits.responseBytesMax, elementsMax: 32_768 },
  changes: { bytesMax: sdkLimits.responseBytesMax, elementsMax: 32_768 },
  /** A listing page plus the prefix index entry and its proof. */
  'view-keys': { bytesMax: sdkLimits.responseBytesMax, elementsMax: 65_536 },
  /** viewChangesPageSize changes (~300 elements each), the index entry and the head's certificate. */
  'view-changes': { bytesMax: sdkLimits.responseBytesMax, elementsMax: 65_536 },
  /** A certificate, the reply (result 8 KiB hex), the leaf (16 KiB hex), inclusion and consistency proofs: ~50 KiB, ~350 elements. */
  receipt: { bytesMax: 64 * 1024, elementsMax: 2_048 },
  /** One certificate: ~16 KiB, ~200 elements. */
  header: { bytesMax: 32 * 1024, elementsMax: 1_024 },
  /** One log proof: ~5 KiB, 64 elements. */
  consistency: { bytesMax: 16 * 1024, elementsMax: 256 },
  /** epochPageLinks links, each two signature sets and a membership (~800 elements). */
  epochs: { bytesMax: sdkLimits.responseBytesMax, elementsMax: 65_536 },
  /** 32 organization records (64 client and 16 admin keys each) with map proofs, and a certificate. */
  orgs: { bytesMax: 2 * 1024 * 1024, elementsMax: 32_768 },
  /** 64 pending changes, each a record, a map proof and up to 32 submissions proven like history entries. */
  pending: { bytesMax: sdkLimits.responseBytesMax, elementsMax: 65_536 },
};
