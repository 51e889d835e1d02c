// Per-sequence-number bookkeeping of the PBFT message log (PBFT 4.2), and the
// tentative chain of executed-but-uncommitted blocks.

import { type BlockHeader, bytesToHex } from '@vcr/proofs';
import type { Commit, ExecutionResult, PrePrepare, Prepare, PreparedCertificate } from './types';

export interface ChainPoint<S> {
  seq: bigint;
  header: BlockHeader | undefined;
  hash: Uint8Array;
  state: S;
}

export interface AcceptedProposal<S> {
  view: bigint;
  prePrepare: PrePrepare;
  hash: Uint8Array;
  hashHex: string;
  exec: ExecutionResult<S>;
}

export interface Slot<S> {
  seq: bigint;
  /** The proposal accepted (and executed tentatively) in the current view. */
  accepted: AcceptedProposal<S> | undefined;
  /** Prepares keyed by `${view}:${hashHex}`, then by sender. */
  prepares: Map<string, Map<string, Prepare>>;
  /** Commits keyed by `${view}:${hashHex}`, then by sender: a certificate needs a quorum of one view. */
  commits: Map<string, Map<string, Commit>>;
  /** The latest view in which this replica saw the slot prepared, with the certificate. */
  preparedView: bigint | undefined;
  preparedCert: PreparedCertificate | undefined;
  /** Own messages, kept for retransmission until the slot commits. */
  sentPrepare: Prepare | undefined;
  sentCommit: Commit | undefined;
}

export function newSlot<S>(seq: bigint): Slot<S> {
  return {
    seq,
    accepted: undefined,
    prepares: new Map(),
    commits: new Map(),
    preparedView: undefined,
    preparedCert: undefined,
    sentPrepare: undefined,
    sentCommit: undefined,
  };
}

export function prepareKey(view: bigint, hash: Uint8Array): string {
  return `${view}:${bytesToHex(hash)}`;
}

export function addVote<M extends { from: string }>(index: Map<string, Map<string, M>>, key: string, message: M): Map<string, M> {
  let votes = index.get(key);
  if (votes === undefined) {
    votes = new Map();
    index.set(key, votes);
  }
  if (!votes.has(message.from)) votes.set(message.from, message);
  return votes;
}
