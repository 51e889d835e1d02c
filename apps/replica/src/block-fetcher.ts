// State transfer over plain HTTP: asks peers in turn for committed blocks
// (GET /v1/peer/blocks). The answer is untrusted; the core verifies every
// block (certificate, hash chain, re-executed roots) before applying it, and
// a peer that serves a bad one is simply not asked next time (rotation).

import type { ReplicaInfo } from '@vcr/proofs';
import type { Metrics } from './metrics';
import { MAX_PEER_BODY_BYTES } from './wire';

const FETCH_TIMEOUT_MS = 5_000;

export class BlockFetcher {
  constructor(
    private readonly peers: readonly ReplicaInfo[],
    private readonly metrics: Metrics,
  ) {}

  /** Asks one peer (rotating) for committed blocks from a height; the answer is untrusted JSON. */
  private nextFetch = 0;
  async fetchBlocks(fromSeq: bigint): Promise<unknown[] | undefined> {
    if (this.peers.length === 0) return undefined;
    const peer = this.peers[this.nextFetch++ % this.peers.length] as ReplicaInfo;
    try {
      const res = await fetch(`${peer.address}/v1/peer/blocks?from=${fromSeq}&limit=256`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) return undefined;
      // A peer's answer is untrusted: refuse one that announces more than the peer body limit.
      const announced = Number(res.headers.get('content-length') ?? 'NaN');
      if (!(announced <= MAX_PEER_BODY_BYTES)) {
        await res.body?.cancel();
        this.metrics.peerError(peer.id);
        return undefined;
      }
      const body = (await res.json()) as { blocks?: unknown };
      return Array.isArray(body.blocks) ? body.blocks : undefined;
    } catch {
      this.metrics.peerError(peer.id);
      return undefined;
    }
  }
}
