// The replica's side of witness compatibility (docs/witness.md): for a log
// size this replica has committed, the checkpoint of the highest committed
// block at that size, cosigned (cosignature/v1) with this replica's key of
// the current epoch. Work is bounded: a size is found by binary search over
// the committed headers (logSize never decreases with height), at most 64
// answers are kept (least recently used dropped), and fresh work (a search or
// a signature) draws from a token bucket; past it, a cached answer for the
// size is served if there is one, else the caller gets "overloaded".

import { bytesToHex, type Certificate, checkpointOfHeader, encodeVkey, formatCheckpoint, formatNote, headerHash, keyIdHex, NOTE_SIGNATURE_TYPE, noteVerifierKey, parseHeaderJson, signCosignature } from '@vcr/proofs';
import type { CommittedBlock } from '@vcr/consensus';
import { nodeBackend } from '@vcr/crypto-node';

export const witnessLimits = {
  /** Cached answers (one per size; the latest size is re-signed when a newer block at that size commits). */
  cacheEntriesMax: 64,
  /** Fresh searches or signatures per second, sustained, and the burst allowed above it. */
  freshPerSecond: 5,
  freshBurst: 20,
  /** A binary search over 2^63 heights takes at most 63 header reads. */
  searchStepsMax: 64,
} as const;

/** What the cosigner needs of the replica node (ReplicaNode satisfies it). */
export interface WitnessNode {
  readonly currentMembership: { epoch: bigint };
  latestBlock(): CommittedBlock | undefined;
  block(height: bigint): string | undefined;
  loadCommittedBlock(height: bigint): CommittedBlock;
  cosigner(): { epoch: bigint; replicaId: string; publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array } | undefined;
}

export interface CosignedCheckpoint {
  height: bigint;
  headerHash: Uint8Array;
  certificate: Certificate;
  /** The epoch of the key that cosigned (the replica's current epoch when it signed). */
  epoch: bigint;
  replicaId: string;
  vkey: string;
  keyId: string;
  timestamp: bigint;
  body: string;
  line: string;
}

export type WitnessAnswer =
  | { ok: true; value: CosignedCheckpoint }
  | { ok: false; status: 404 | 429 | 503; code: 'not-found' | 'overloaded' | 'no-certified-state' | 'not-a-member'; message: string };

export class WitnessCosigner {
  private readonly cache = new Map<bigint, CosignedCheckpoint>();
  private tokens: number = witnessLimits.freshBurst;
  private lastRefillMs: number;

  constructor(
    private readonly node: WitnessNode,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.lastRefillMs = nowMs();
  }

  /** The cosigned checkpoint at `size` (default: the latest committed log size). */
  checkpoint(size?: bigint): WitnessAnswer {
    const latest = this.node.latestBlock();
    if (latest === undefined) return { ok: false, status: 503, code: 'no-certified-state', message: 'no block committed yet' };
    const latestSize = latest.header.logSize;
    const target = size ?? latestSize;
    if (target > latestSize) return { ok: false, status: 404, code: 'not-found', message: `log size ${target} not reached; this replica's log has ${latestSize} entries` };
    // A cached answer from an earlier epoch's key is dropped: monitors follow the current epoch's keys.
    const cachedAny = this.cache.get(target);
    const cached = cachedAny?.epoch === this.node.currentMembership.epoch ? cachedAny : undefined;
    // Past sizes never change block; the latest size moves to each newer block committed at that size.
    if (cached !== undefined && (target < latestSize || cached.height === latest.header.height)) return this.hit(target, cached);
    if (!this.take()) {
      if (cached !== undefined) return this.hit(target, cached);
      return { ok: false, status: 429, code: 'overloaded', message: 'too many fresh checkpoint signatures; retry in a second' };
    }
    const height = target === latestSize ? latest.header.height : this.highestHeightAtSize(target, latest.header.height);
    if (typeof height === 'string') return { ok: false, status: 404, code: 'not-found', message: height };
    const block = height === latest.header.height ? latest : this.node.loadCommittedBlock(height);
    const signed = this.sign(block);
    if (signed === undefined) return { ok: false, status: 503, code: 'not-a-member', message: 'this replica has no key in the current epoch, so it cannot cosign; ask a member (GET /v1/epochs)' };
    this.remember(target, signed);
    return { ok: true, value: signed };
  }

  private hit(size: bigint, entry: CosignedCheckpoint): WitnessAnswer {
    this.cache.delete(size);
    this.cache.set(size, entry);
    return { ok: true, value: entry };
  }

  private remember(size: bigint, entry: CosignedCheckpoint): void {
    this.cache.delete(size);
    this.cache.set(size, entry);
    while (this.cache.size > witnessLimits.cacheEntriesMax) this.cache.delete(this.cache.keys().next().value as bigint);
  }

  private take(): boolean {
    const now = this.nowMs();
    const refill = ((now - this.lastRefillMs) / 1000) * witnessLimits.freshPerSecond;
    this.tokens = Math.min(witnessLimits.freshBurst, this.tokens + Math.max(0, refill));
    this.lastRefillMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** The header's logSize at `height`, read from this replica's own (verified) store. */
  private logSizeAt(height: bigint): bigint {
    const json = this.node.block(height);
    const header = json === undefined ? undefined : parseHeaderJson((JSON.parse(json) as { header?: unknown }).header);
    if (header === undefined || !header.ok) throw new Error(`stored block ${height} missing or unreadable`);
    return header.value.logSize;
  }

  /** The highest committed height whose header has logSize `size` (< the latest size), or why there is none. */
  private highestHeightAtSize(size: bigint, latestHeight: bigint): bigint | string {
    // Smallest height with logSize > size; it exists because size < the latest size.
    let lo = 1n;
    let hi = latestHeight;
    for (let steps = 0; lo < hi; steps++) {
      if (steps >= witnessLimits.searchStepsMax) throw new Error('binary search did not converge');
      const mid = lo + (hi - lo) / 2n;
      if (this.logSizeAt(mid) > size) hi = mid;
      else lo = mid + 1n;
    }
    const before = lo - 1n;
    const sizeBefore = before === 0n ? 0n : this.logSizeAt(before);
    if (before === 0n || sizeBefore !== size) {
      return `no committed block ends at log size ${size}: a block appends a whole batch (block ${before} ends at size ${sizeBefore}, block ${lo} at ${this.logSizeAt(lo)})`;
    }
    return before;
  }

  private sign(block: CommittedBlock): CosignedCheckpoint | undefined {
    const cosigner = this.node.cosigner();
    if (cosigner === undefined) return undefined;
    const checkpoint = checkpointOfHeader(block.header);
    const body = formatCheckpoint(checkpoint);
    const key = noteVerifierKey(nodeBackend, checkpoint.origin, NOTE_SIGNATURE_TYPE.cosignatureV1, cosigner.publicKey);
    // The certified time of the block, never later than this replica's clock (docs/witness.md, "Timestamps").
    const timestamp = BigInt(Math.min(Math.floor(Number(block.header.timestampMs) / 1000), Math.floor(this.nowMs() / 1000)));
    return {
      height: block.header.height,
      headerHash: headerHash(nodeBackend, block.header),
      certificate: block.certificate,
      epoch: cosigner.epoch,
      replicaId: cosigner.replicaId,
      vkey: encodeVkey(key),
      keyId: keyIdHex(key.keyId),
      timestamp,
      body,
      line: signCosignature(nodeBackend, cosigner, checkpoint.origin, body, timestamp),
    };
  }
}

export function cosignedCheckpointToJson(c: CosignedCheckpoint, certificateJson: unknown) {
  return {
    origin: c.body.slice(0, c.body.indexOf('\n')),
    size: c.certificate.header.logSize.toString(),
    height: c.height.toString(),
    headerHash: bytesToHex(c.headerHash),
    epoch: c.epoch.toString(),
    replicaId: c.replicaId,
    vkey: c.vkey,
    keyId: c.keyId,
    timestamp: c.timestamp.toString(),
    checkpoint: c.body,
    cosignature: c.line,
    note: formatNote(c.body, [c.line]),
    certificate: certificateJson,
  };
}
