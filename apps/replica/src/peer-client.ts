// Outbound peer traffic over HTTP. Sends are fire-and-forget: PBFT
// retransmits what matters, so a slow or dead peer costs a bounded queue,
// never a stall. Every message is signed by the core; the transport adds no trust.

import type { ReplicaInfo } from '@vcr/proofs';
import type { Metrics } from './metrics';
import { MAX_PEER_BODY_BYTES } from './wire';

/** Requests in flight to one peer; past this, messages to it are dropped and counted. */
const IN_FLIGHT_PER_PEER_MAX = 256;
const SEND_TIMEOUT_MS = 2_000;
const FETCH_TIMEOUT_MS = 5_000;

export class PeerClient {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly peers: readonly ReplicaInfo[],
    private readonly metrics: Metrics,
  ) {}

  broadcast(message: unknown): void {
    const body = JSON.stringify({ message });
    for (const peer of this.peers) this.post(peer, body);
  }

  send(to: string, message: unknown): void {
    const peer = this.peers.find((p) => p.id === to);
    if (peer) this.post(peer, JSON.stringify({ message }));
  }

  relayRequest(request: unknown): void {
    const body = JSON.stringify({ request });
    for (const peer of this.peers) this.post(peer, body, '/v1/peer/requests');
  }

  private post(peer: ReplicaInfo, body: string, path = '/v1/peer/messages'): void {
    const busy = this.inFlight.get(peer.id) ?? 0;
    if (busy >= IN_FLIGHT_PER_PEER_MAX) {
      this.metrics.peerDropped(peer.id);
      return;
    }
    this.inFlight.set(peer.id, busy + 1);
    fetch(`${peer.address}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(SEND_TIMEOUT_MS) })
      .then((res) => {
        if (!res.ok) this.metrics.peerError(peer.id);
        return res.body?.cancel();
      })
      .catch(() => this.metrics.peerError(peer.id))
      .finally(() => this.inFlight.set(peer.id, (this.inFlight.get(peer.id) ?? 1) - 1));
  }

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
