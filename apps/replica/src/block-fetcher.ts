// State transfer over HTTP(S): asks peers in turn for committed blocks
// (GET /v1/peer/blocks). The answer is untrusted; the core verifies every
// block (certificate, hash chain, re-executed roots) before applying it, and
// a peer that serves a bad one is simply not asked next time (rotation).
// An https:// peer address is fetched over TLS, its certificate verified
// against the configured CA (or the system roots); node:https rather than
// fetch, because fetch takes a custom CA only through an undici dispatcher.
//
// A read-only mirror (docs/mirror.md) asks its configured upstream URLs
// instead of the membership's addresses, and keeps them across epochs; it
// also remembers what each upstream last claimed as its latest height (the
// `latest` field of the answer), for its status. That number is only a
// claim: nothing is accepted because of it.

import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type EpochsPageFetch, epochsPagePath, type ReplicaInfo } from '@vcr/proofs';
import type { Metrics } from './metrics';
import type { PeerTlsOptions } from './transport';
import { MAX_PEER_BODY_BYTES } from './wire';

const FETCH_TIMEOUT_MS = 5_000;

/** Where blocks come from: a replica of the membership, or a mirror's upstream (id `upstream-<n>`, a safe metrics label). */
type Source = Pick<ReplicaInfo, 'id' | 'address'>;

/** What a mirror knows of one upstream, for its status (GET /healthz). */
export interface UpstreamState {
  url: string;
  /** The latest height the upstream claimed in its last answer (unverified). */
  claimedHeight: bigint | undefined;
  /** Local time of its last answer that parsed, and of its last failure. */
  lastAnswerMs: number | undefined;
  lastErrorMs: number | undefined;
}

export class BlockFetcher {
  private peers: readonly Source[];
  private readonly upstream: Map<string, UpstreamState> | undefined;

  constructor(
    peers: readonly ReplicaInfo[],
    private readonly metrics: Metrics,
    private readonly tls: PeerTlsOptions = {},
    /** A mirror's upstream URLs: asked instead of the membership's replicas, whatever the epoch. */
    upstreamUrls?: readonly string[],
  ) {
    this.upstream = upstreamUrls === undefined ? undefined : new Map(upstreamUrls.map((url) => [url, { url, claimedHeight: undefined, lastAnswerMs: undefined, lastErrorMs: undefined }]));
    this.peers = upstreamUrls === undefined ? peers : upstreamUrls.map((url, i) => ({ id: `upstream-${i + 1}`, address: url }));
  }

  /** The replicas to ask from now on: the current membership's others (an epoch change replaces them). A mirror keeps its upstream. */
  setPeers(peers: readonly ReplicaInfo[]): void {
    if (this.upstream === undefined) this.peers = peers;
  }

  /** A mirror's upstreams as last heard from (copies), or undefined for a replica. */
  upstreamStates(): UpstreamState[] | undefined {
    return this.upstream === undefined ? undefined : [...this.upstream.values()].map((u) => ({ ...u }));
  }

  private heardFrom(peer: Source, latest: unknown): void {
    const state = this.upstream?.get(peer.address);
    if (state === undefined) return;
    state.lastAnswerMs = Date.now();
    if (typeof latest === 'string' && /^\d{1,20}$/.test(latest)) state.claimedHeight = BigInt(latest);
  }

  private failed(peer: Source): void {
    this.metrics.peerError(peer.id);
    this.markUpstreamError(peer);
  }

  private markUpstreamError(peer: Source): void {
    const state = this.upstream?.get(peer.address);
    if (state !== undefined) state.lastErrorMs = Date.now();
  }

  /**
   * One `GET /v1/epochs` page fetcher per peer, in turn, for the proofs'
   * EpochWalk (the replica's epoch sync); answers are untrusted JSON.
   */
  epochsPageSources(): EpochsPageFetch[] {
    return [...this.peers].map((peer) => async (after: bigint, limit: number) => {
      try {
        const answer = await getCapped(`${peer.address}${epochsPagePath(after, limit)}`, { ca: this.tls.ca, timeoutMs: FETCH_TIMEOUT_MS, bytesMax: MAX_PEER_BODY_BYTES });
        if (answer === 'too-large') return { ok: false, detail: 'answer too large' };
        if (answer.status !== 200) return { ok: false, detail: `HTTP ${answer.status}` };
        return { ok: true, body: JSON.parse(answer.body.toString('utf8')) as unknown };
      } catch {
        this.failed(peer);
        return { ok: false, detail: 'unreachable or not JSON' };
      }
    });
  }

  /** Asks one peer (rotating) for committed blocks from a height; the answer is untrusted JSON. */
  private nextFetch = 0;
  async fetchBlocks(fromSeq: bigint): Promise<unknown[] | undefined> {
    if (this.peers.length === 0) return undefined;
    const peer = this.peers[this.nextFetch++ % this.peers.length] as Source;
    try {
      const answer = await getCapped(`${peer.address}/v1/peer/blocks?from=${fromSeq}&limit=256`, { ca: this.tls.ca, timeoutMs: FETCH_TIMEOUT_MS, bytesMax: MAX_PEER_BODY_BYTES });
      if (answer === 'too-large') {
        this.failed(peer);
        return undefined;
      }
      if (answer.status !== 200) {
        this.markUpstreamError(peer);
        return undefined;
      }
      const body = JSON.parse(answer.body.toString('utf8')) as { blocks?: unknown; latest?: unknown };
      if (!Array.isArray(body.blocks)) return undefined;
      this.heardFrom(peer, body.latest);
      return body.blocks;
    } catch {
      this.failed(peer);
      return undefined;
    }
  }
}

/**
 * One GET over http: or https: (the URL's scheme decides), with a deadline
 * for the whole exchange and a byte limit checked against the announced
 * length and again while reading. Rejects on a transport or TLS error.
 */
export function getCapped(url: string, opts: { ca?: Buffer | undefined; timeoutMs: number; bytesMax: number }): Promise<{ status: number; body: Buffer } | 'too-large'> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const onResponse = (res: IncomingMessage) => {
      const announced = Number(res.headers['content-length'] ?? 'NaN');
      // A peer's answer is untrusted: refuse one that announces more than the limit, or none at all.
      if (!(announced <= opts.bytesMax)) {
        res.destroy();
        return resolve('too-large');
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        if (bytes > opts.bytesMax) {
          res.destroy();
          return resolve('too-large');
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    };
    const req =
      parsed.protocol === 'https:'
        ? httpsRequest(parsed, { method: 'GET', signal, ...(opts.ca === undefined ? {} : { ca: opts.ca }) }, onResponse)
        : httpRequest(parsed, { method: 'GET', signal }, onResponse);
    req.on('error', reject);
    req.end();
  });
}
