// Every bound and default of the SDK in one place. Units last.

export const sdkLimits = {
  /** Largest response body read from a replica; anything larger is refused unread. */
  responseBytesMax: 8 * 1024 * 1024,
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
  /** Rounds (50 ms apart) a plain read waits for replicas just behind the trusted height before failing. */
  lagRetryRounds: 6,
  /** Pages of history or listing fetched at most in one call. */
  pagesMax: 10_000,
  /** Epoch links asked of a replica per page of `GET /v1/epochs` (the replica serves at most 64). */
  epochPageLinks: 64,
  /** Epoch links verified at most in one walk (one call): a header further ahead of the newest trusted epoch is refused unwalked. Equals the proofs' epochChainLinksMax. */
  epochWalkLinksMax: 1_024,
  /**
   * How long the newest epoch, learned from f+1 replicas, is trusted before it is asked again: the
   * window in which keys retired by a rotation the client has not heard of could still certify to it.
   */
  newestEpochMaxAgeMs: 60_000,
  /** Epoch links the trust state holds (and persists) at most; past it, pin a later membership. */
  epochLinksTrustedMax: 4_096,
} as const;
