// Pending changes (docs/registry.md, "Approvals"): a write to a namespace
// that needs k-of-m organizations is recorded under a key derived from the
// exact operations, so the same change submitted by another organization
// finds and approves the same record. The executor, the replica's pending
// listing and every client that checks a listed submission against its record
// derive that key here, one way.

import { bytesToHex, type CryptoBackend, encodeCanonical } from '@vcr/proofs';
import { pendingKey } from './governance';
import { opToCanonical, type SingleOp } from './ops';

/** The reserved state key of the pending change made of exactly these ops (in order). */
export function changeKey(backend: CryptoBackend, ops: readonly SingleOp[]): string {
  const hash = backend.sha256(encodeCanonical(opToCanonical({ op: 'txn', ops: [...ops] })));
  return pendingKey(bytesToHex(hash).slice(0, 32));
}
