// Every bound the console puts on what replicas send it while it walks the
// epoch chain. The walk's caps are the SDK's, so the console trusts no longer
// a chain than a client would walk in one call.

import { sdkLimits } from '@vcr/client-sdk';

export const consoleLimits = {
  /** Epoch links verified at most from the pinned genesis (the SDK's and the proofs' cap). */
  epochLinksMax: sdkLimits.epochWalkLinksMax,
  /** Links asked of a replica per `GET /v1/epochs` page (the replica serves at most 64). */
  epochPageLinks: sdkLimits.epochPageLinks,
  /** Largest answer read from a replica, checked while reading. */
  answerBytesMax: sdkLimits.responseBytesMax,
  /** How often the console asks the replicas for links past the newest verified epoch. */
  epochRewalkIntervalMs: 5_000,
  /**
   * Earlier keys of a replica tried when a signature fails, to tell a retired
   * key from a bad signature (newest first): a failure path, so it is bounded.
   */
  retiredKeysCheckedMax: 8,
} as const;
