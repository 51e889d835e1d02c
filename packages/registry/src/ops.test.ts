import { describe, expect, it } from 'vitest';
import { encodeCanonical } from '@vcr/proofs';
import { decodeOp, decodeResult, encodeOp, encodeResult, singleOps } from './ops';

describe('the noop operation (a point in the order, for linearizable reads)', () => {
  it('round-trips, has no single ops, and its result has no revisions', () => {
    const bytes = encodeOp({ op: 'noop' });
    const decoded = decodeOp(bytes);
    expect(decoded).toEqual({ ok: true, op: { op: 'noop' } });
    expect(decoded.ok && singleOps(decoded.op)).toEqual([]);
    expect(decodeResult(encodeResult({ ok: true, revisions: [] }))).toEqual({ ok: true, result: { ok: true, revisions: [] } });
  });

  it('refuses extra fields and a noop inside a transaction', () => {
    expect(decodeOp(encodeCanonical({ op: 'noop', key: 'k' }))).toEqual({ ok: false, reason: 'bad-fields' });
    expect(decodeOp(encodeCanonical({ op: 'txn', ops: [{ op: 'noop' }] }))).toEqual({ ok: false, reason: 'unknown-op' });
  });
});
