// Which blocks the Blocks page lists: by default only blocks with requests
// (the primary's empty heartbeat blocks hide the writes otherwise), and
// optionally only one epoch's, those with a request signed by a client key of
// one organization, or those writing a key under a prefix. Keys and signers
// are read from a batch only after it matched its certified batchHash; a
// block whose certificate or batch does not verify is always listed, so a
// filter never hides a failure.

import type { ClientRequest } from '@vcr/proofs';
import { decodeOp, singleOps } from '@vcr/registry';

export interface BlockFilters {
  withRequestsOnly: boolean;
  /** Decimal epoch, or '' for any. */
  epoch: string;
  /** Organization id, or '' for any. */
  org: string;
  /** Key prefix, or '' for any. */
  keyPrefix: string;
}

export const noFilters: BlockFilters = { withRequestsOnly: true, epoch: '', org: '', keyPrefix: '' };

export interface ListedBlock {
  epoch: bigint | undefined;
  /** The verified batch, or undefined when the certificate or the batch did not verify. */
  batch: readonly ClientRequest[] | undefined;
}

/** The user keys a verified batch writes, in order, without repeats. */
export function keysOf(batch: readonly ClientRequest[]): string[] {
  const keys = new Set<string>();
  for (const request of batch) {
    const op = decodeOp(request.payload);
    if (op.ok) for (const s of singleOps(op.op)) keys.add(s.key);
  }
  return [...keys];
}

export function blockMatches(block: ListedBlock, filters: BlockFilters, orgsOf: (clientId: string) => string[]): boolean {
  if (block.batch === undefined) return true;
  if (filters.withRequestsOnly && block.batch.length === 0) return false;
  if (filters.epoch !== '' && block.epoch?.toString() !== filters.epoch) return false;
  if (filters.org !== '' && !block.batch.some((r) => orgsOf(r.clientId).includes(filters.org))) return false;
  if (filters.keyPrefix !== '' && !keysOf(block.batch).some((k) => k.startsWith(filters.keyPrefix))) return false;
  return true;
}
