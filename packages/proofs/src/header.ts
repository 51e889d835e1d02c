// The block header the replicas commit. It certifies the post-execution state:
// the state root and log root after the batch is applied, chained to the
// previous header by hash. The 2f+1 commit signatures over it are its certificate.

import { type CanonicalValue, isWellFormedText } from './canonical';
import { type CryptoBackend } from './crypto-backend';
import { hashCanonical } from './hash';

export interface BlockHeader {
  chainId: string;
  epoch: bigint;
  view: bigint;
  /** The PBFT sequence number; every sequence number is one block (heartbeats are empty blocks). */
  height: bigint;
  /** Hash of the previous header; 32 zero bytes for height 1. */
  prevHash: Uint8Array;
  /** Hash of the ordered batch of client requests (see docs/protocol.md). */
  batchHash: Uint8Array;
  /** Root of the authenticated state map after executing this block. */
  stateRoot: Uint8Array;
  /** RFC 9162 root of the log of committed entries after this block, and its size. */
  logRoot: Uint8Array;
  logSize: bigint;
  /** Primary-proposed time, milliseconds since the Unix epoch; backups bound it against their clock. */
  timestampMs: bigint;
  /** Set only on the last block of an epoch: the hash of the next epoch's membership. */
  nextMembershipHash: Uint8Array | null;
}

export const GENESIS_PREV_HASH = new Uint8Array(32);

export function headerToCanonical(h: BlockHeader): CanonicalValue {
  return {
    chainId: h.chainId,
    epoch: h.epoch,
    view: h.view,
    height: h.height,
    prevHash: h.prevHash,
    batchHash: h.batchHash,
    stateRoot: h.stateRoot,
    logRoot: h.logRoot,
    logSize: h.logSize,
    timestampMs: h.timestampMs,
    nextMembershipHash: h.nextMembershipHash,
  };
}

export function headerHash(backend: CryptoBackend, h: BlockHeader): Uint8Array {
  return hashCanonical(backend, headerToCanonical(h));
}

/**
 * What a COMMIT vote signs (kind "commit", the header's chain and epoch).
 * `view` is the view the vote was cast in, which may be later than
 * `header.view` when a header is re-proposed unchanged after a view change.
 * A certificate's signatures all come from one view: only a same-view quorum
 * is a PBFT commit (4.4); commits from different views could otherwise be
 * pooled into a certificate for a header no replica committed.
 */
export function commitVoteMessage(hash: Uint8Array, height: bigint, view: bigint): CanonicalValue {
  return { headerHash: hash, height, view };
}

const U63 = 1n << 63n;

function isU63(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v < U63;
}

function isHash(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length === 32;
}

/** Shape checks on a header from outside; no hashing. */
export function isWellFormedHeader(h: BlockHeader): boolean {
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.chainId === 'string' &&
    isWellFormedText(h.chainId) &&
    isU63(h.epoch) &&
    isU63(h.view) &&
    isU63(h.height) &&
    h.height >= 1n &&
    isHash(h.prevHash) &&
    isHash(h.batchHash) &&
    isHash(h.stateRoot) &&
    isHash(h.logRoot) &&
    isU63(h.logSize) &&
    isU63(h.timestampMs) &&
    (h.nextMembershipHash === null || isHash(h.nextMembershipHash))
  );
}
