// The checker on hand-made histories: legal ones must pass, and each classic
// violation (stale read, value never written, lost write, an effect that
// vanishes) must be caught with an explanation naming the key and the op.

import { describe, expect, it } from 'vitest';
import { checkHistory, CheckerLimitError, type HistoryOp } from './checker';
import type { KvOp, KvOutcome } from './model';

let nextId = 0;
function op(client: number, kvOp: KvOp, invokedAt: number, completedAt: number | undefined, outcome: KvOutcome): HistoryOp {
  return { id: nextId++, client, op: kvOp, invokedAt, completedAt, outcome };
}
const put = (c: number, key: string, value: string, t0: number, t1: number, rev: bigint) => op(c, { kind: 'put', key, value }, t0, t1, { kind: 'written', revisions: [rev] });
const putUnknown = (c: number, key: string, value: string, t0: number) => op(c, { kind: 'put', key, value }, t0, undefined, { kind: 'unknown' });
const get = (c: number, key: string, t0: number, t1: number, value: string | undefined, rev: bigint) => op(c, { kind: 'get', key }, t0, t1, { kind: 'read', value, revision: rev });
const cas = (c: number, key: string, expected: bigint, value: string, t0: number, t1: number, outcome: KvOutcome) => op(c, { kind: 'cas', key, expectedRevision: expected, value }, t0, t1, outcome);

const failureOf = (history: HistoryOp[]) => {
  const verdict = checkHistory(history);
  if (verdict.linearizable) throw new Error('expected a violation');
  return verdict.failures;
};

describe('linearizable histories pass', () => {
  it('concurrent writes, with concurrent reads seeing either order', () => {
    const verdict = checkHistory([
      put(1, 'k', 'a', 0, 10, 2n), // ordered after b: b got revision 1
      put(2, 'k', 'b', 1, 9, 1n),
      get(3, 'k', 2, 8, 'b', 1n),
      get(4, 'k', 3, 12, 'a', 2n),
      get(3, 'k', 13, 14, 'a', 2n),
    ]);
    expect(verdict).toMatchObject({ linearizable: true, components: 1, ops: 5 });
  });

  it('a read before any write sees the key absent, and CAS succeeds or fails by revision', () => {
    const verdict = checkHistory([
      get(1, 'k', 0, 1, undefined, 0n),
      cas(1, 'k', 0n, 'x', 2, 3, { kind: 'written', revisions: [1n] }),
      cas(2, 'k', 0n, 'y', 2.5, 4, { kind: 'refused', error: 'revision-mismatch' }),
      cas(2, 'k', 1n, 'y', 5, 6, { kind: 'written', revisions: [2n] }),
      get(3, 'k', 7, 8, 'y', 2n),
    ]);
    expect(verdict.linearizable).toBe(true);
  });

  it('a transaction over two keys is checked jointly and reads see all or nothing of it', () => {
    const txn: KvOp = { kind: 'txn', ops: [{ kind: 'put', key: 'a', value: 't' }, { kind: 'cas', key: 'b', expectedRevision: 0n, value: 't' }] };
    const verdict = checkHistory([
      op(1, txn, 0, 10, { kind: 'written', revisions: [1n, 1n] }),
      get(2, 'a', 1, 2, undefined, 0n), // before the transaction
      get(2, 'b', 3, 11, 't', 1n), // after it
      get(3, 'c', 0, 1, undefined, 0n), // another key, another component
    ]);
    expect(verdict).toMatchObject({ linearizable: true, components: 2 });
  });

  it('a write with unknown outcome may have taken effect...', () => {
    expect(checkHistory([putUnknown(1, 'k', 'a', 0), get(2, 'k', 5, 6, 'a', 1n)]).linearizable).toBe(true);
  });

  it('...or not', () => {
    expect(checkHistory([putUnknown(1, 'k', 'a', 0), get(2, 'k', 5, 6, undefined, 0n), get(2, 'k', 100, 101, undefined, 0n)]).linearizable).toBe(true);
  });

  it('an unknown write may take effect late, long after the client gave up', () => {
    expect(checkHistory([putUnknown(1, 'k', 'a', 0), get(2, 'k', 5, 6, undefined, 0n), get(2, 'k', 100, 101, 'a', 1n)]).linearizable).toBe(true);
  });

  it('a read that got no answer says nothing', () => {
    const verdict = checkHistory([put(1, 'k', 'a', 0, 1, 1n), op(2, { kind: 'get', key: 'k' }, 2, undefined, { kind: 'unknown' })]);
    expect(verdict).toMatchObject({ linearizable: true, ops: 1 });
  });
});

describe('violations are caught and explained', () => {
  it('negative control: a stale read after a completed write', () => {
    const [failure] = failureOf([put(1, 'k', 'v1', 0, 1, 1n), put(1, 'k', 'v2', 2, 3, 2n), get(2, 'k', 4, 5, 'v1', 1n)]);
    expect(failure?.keys).toEqual(['k']);
    expect(failure?.stuck.op).toEqual({ kind: 'get', key: 'k' });
    expect(failure?.linearizedCount).toBe(2);
    expect(failure?.state).toContain('v2 @2');
    expect(failure?.text).toMatch(/cannot order #\d+ client 2 get k → v1 @1/);
  });

  it('a read of a value never written', () => {
    const [failure] = failureOf([put(1, 'k', 'a', 0, 10, 1n), get(2, 'k', 1, 11, 'ghost', 1n)]);
    expect(failure?.stuck.outcome).toEqual({ kind: 'read', value: 'ghost', revision: 1n });
  });

  it('a lost write: acknowledged, then absent for a read that starts after it', () => {
    const [failure] = failureOf([put(1, 'k', 'a', 0, 1, 1n), get(2, 'k', 2, 3, undefined, 0n)]);
    expect(failure?.stuck.op.kind).toBe('get');
  });

  it('an unknown write that was seen cannot vanish again', () => {
    failureOf([putUnknown(1, 'k', 'a', 0), get(2, 'k', 5, 6, 'a', 1n), get(2, 'k', 7, 8, undefined, 0n)]);
  });

  it('a revision that does not follow the order (two writes both claiming revision 1)', () => {
    failureOf([put(1, 'k', 'a', 0, 10, 1n), put(2, 'k', 'b', 0, 10, 1n)]);
  });

  it('a CAS refused although the revision matched', () => {
    failureOf([put(1, 'k', 'a', 0, 1, 1n), cas(2, 'k', 1n, 'b', 2, 3, { kind: 'refused', error: 'revision-mismatch' })]);
  });

  it('a torn transaction: a read sees one key of it but not the other', () => {
    const txn: KvOp = { kind: 'txn', ops: [{ kind: 'put', key: 'a', value: 't' }, { kind: 'put', key: 'b', value: 't' }] };
    const [failure] = failureOf([op(1, txn, 0, 10, { kind: 'written', revisions: [1n, 1n] }), get(2, 'a', 11, 12, 't', 1n), get(2, 'b', 13, 14, undefined, 0n)]);
    expect(failure?.keys).toEqual(['a', 'b']);
  });

  it('only the violating key is reported', () => {
    const failures = failureOf([put(1, 'good', 'x', 0, 1, 1n), get(2, 'good', 2, 3, 'x', 1n), put(1, 'bad', 'y', 0, 1, 1n), get(2, 'bad', 2, 3, undefined, 0n)]);
    expect(failures.map((f) => f.keys)).toEqual([['bad']]);
  });
});

describe('bounded work', () => {
  it('refuses rather than search without end', () => {
    // 40 concurrent writes of unknown outcome and a read of a value no one wrote: every order fails, and there are 2^40 sets to try.
    const history = Array.from({ length: 40 }, (_, i) => putUnknown(i, 'k', `v${i}`, 0));
    history.push(get(99, 'k', 0, 100, 'never', 41n));
    expect(() => checkHistory(history, { opsPerComponentMax: 1_000, stepsMax: 100_000, memoWordsMax: 1_000_000 })).toThrow(CheckerLimitError);
    expect(() => checkHistory(history.slice(0, 5), { opsPerComponentMax: 4, stepsMax: 100_000, memoWordsMax: 1_000_000 })).toThrow(/5 operations on keys \[k\] > 4/);
  });

  it('a long sequential history with a few clients checks fast', () => {
    const history: HistoryOp[] = [];
    let rev = 0n;
    for (let i = 0; i < 3_000; i++) {
      const t = i * 10;
      // Client i%4 writes; a reader overlaps each write and sees either side of it.
      history.push(put(i % 4, 'k', `v${i}`, t, t + 6, ++rev));
      history.push(get(9, 'k', t + 1, t + 8, i % 2 === 0 ? `v${i}` : i === 0 ? undefined : `v${i - 1}`, i % 2 === 0 ? rev : i === 0 ? 0n : rev - 1n));
    }
    const started = performance.now();
    expect(checkHistory(history).linearizable).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
