// Bounds of the HTTP layer's caches, in one place (STYLE: a limit on everything).

export const httpLimits = {
  /**
   * Bytes of serialized `GET /v1/keys/{key}` answers kept for the latest
   * state (answer-cache.ts). An answer is about 1.5 KiB (a certificate of 3
   * signatures, a proof of ~20 siblings), so 32 MiB holds some 20,000 keys:
   * a service's hot set, with room to spare on a replica's memory.
   */
  readAnswerCacheBytesMax: 32 * 1024 * 1024,
  /**
   * Bytes of serialized change entries kept for `/v1/changes` and history
   * pages (change-entry-cache.ts). An entry never changes once committed, so
   * these live across blocks until the bound pushes the oldest out.
   */
  changeEntryCacheBytesMax: 32 * 1024 * 1024,
} as const;
