import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { utf8 } from './bytes';
import { nobleBackend } from './noble-backend';
import { type MapEntry, MerkleMapSnapshot } from './merkle-map';
import { MerkleMapDraft } from './merkle-map-draft';

const backend = nobleBackend;
const keyOf = (i: number): string => `key-${i}`;
const entryOf = (i: number, revision = 1n): MapEntry => ({ value: utf8(`value-${i}`), revision });
const snapshotOf = (keys: readonly number[]): MerkleMapSnapshot => MerkleMapSnapshot.fromEntries(backend, keys.map((k) => [keyOf(k), entryOf(k)] as const));

/** The same changes applied one by one, the way execution applied them before drafts. */
function oneByOne(base: MerkleMapSnapshot, changes: ReadonlyMap<string, MapEntry | null>): MerkleMapSnapshot {
  let map = base;
  for (const [key, entry] of changes) map = entry === null ? map.without(key) : map.with(key, entry);
  return map;
}

const change = fc.record({ key: fc.integer({ min: 0, max: 60 }), del: fc.boolean(), revision: fc.bigInt({ min: 1n, max: 9n }) });

describe('MerkleMapSnapshot.withChanges (one batched update)', () => {
  it('gives the root, size and entries of applying the same changes one by one, on any base', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }), fc.array(change, { maxLength: 50 }), (baseKeys, list) => {
        const base = snapshotOf(baseKeys);
        const changes = new Map<string, MapEntry | null>();
        for (const c of list) changes.set(keyOf(c.key), c.del ? null : entryOf(c.key + 100, c.revision));
        const batched = base.withChanges(changes);
        const expected = oneByOne(base, changes);
        expect(batched.root).toEqual(expected.root);
        expect(batched.size).toBe(expected.size);
        expect([...batched.entries()]).toEqual([...expected.entries()]);
        // The base version is untouched.
        expect(base.root).toEqual(snapshotOf(baseKeys).root);
      }),
      { numRuns: 150 },
    );
  });

  it('hashes each inner node on the changed paths once: fewer hashes than one update per key', () => {
    let calls = 0;
    const counting = { ...backend, sha256: (...parts: Uint8Array[]) => (calls++, backend.sha256(...parts)) };
    const base = MerkleMapSnapshot.fromEntries(counting, Array.from({ length: 512 }, (_, i) => [keyOf(i), entryOf(i)] as const));
    const changes = new Map(Array.from({ length: 64 }, (_, i) => [keyOf(i * 8), entryOf(i, 2n)] as const));
    oneByOne(base, changes); // warms the path memo, so both count only leaf and inner hashes
    calls = 0;
    oneByOne(base, changes);
    const perKey = calls;
    calls = 0;
    base.withChanges(changes);
    expect(calls).toBeLessThan(perKey * 0.7);
  });

  it('an empty change set, or only removals of absent keys, returns the same version', () => {
    const base = snapshotOf([1, 2, 3]);
    expect(base.withChanges(new Map())).toBe(base);
    expect(base.withChanges(new Map([[keyOf(9), null]]))).toBe(base);
  });

  it('refuses what `with` refuses', () => {
    const base = snapshotOf([1]);
    expect(() => base.withChanges(new Map([['', entryOf(1)]]))).toThrow(RangeError);
    expect(() => base.withChanges(new Map([[keyOf(2), { value: utf8('x'), revision: 0n }]]))).toThrow(RangeError);
  });
});

describe('MerkleMapDraft', () => {
  it('reads its own writes, and its snapshot equals the writes applied one by one', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }), fc.array(change, { maxLength: 40 }), (baseKeys, list) => {
        const base = snapshotOf(baseKeys);
        let draft = MerkleMapDraft.over(base);
        let expected = base;
        for (const c of list) {
          const key = keyOf(c.key);
          if (c.del) {
            draft = draft.without(key);
            expected = expected.without(key);
          } else {
            draft = draft.with(key, entryOf(c.key, c.revision));
            expected = expected.with(key, entryOf(c.key, c.revision));
          }
          expect(draft.get(key)).toEqual(expected.get(key));
          expect(draft.has(key)).toBe(expected.has(key));
        }
        expect(draft.toSnapshot().root).toEqual(expected.root);
      }),
      { numRuns: 100 },
    );
  });

  it('an earlier draft still reads as it was after later writes, and going on from it drops them', () => {
    const base = snapshotOf([1]);
    const start = MerkleMapDraft.over(base);
    const a = start.with(keyOf(2), entryOf(2));
    const b = a.with(keyOf(1), entryOf(1, 5n)).without(keyOf(2));
    expect(b.has(keyOf(2))).toBe(false);
    expect(a.has(keyOf(2))).toBe(true);
    expect(a.get(keyOf(1))).toEqual(entryOf(1));
    expect(start.has(keyOf(2))).toBe(false);
    // A refused step: execution goes on from `a`, and b's writes are gone.
    const c = a.with(keyOf(3), entryOf(3));
    expect(c.get(keyOf(1))).toEqual(entryOf(1));
    expect(c.toSnapshot().root).toEqual(base.with(keyOf(2), entryOf(2)).with(keyOf(3), entryOf(3)).root);
  });

  it('a draft abandoned for an earlier one cannot be used again', () => {
    const start = MerkleMapDraft.over(snapshotOf([]));
    const abandoned = start.with(keyOf(1), entryOf(1));
    start.with(keyOf(2), entryOf(2));
    expect(() => abandoned.get(keyOf(1))).toThrow(/abandoned/);
    expect(() => abandoned.with(keyOf(3), entryOf(3))).toThrow(/abandoned/);
  });

  it('checks keys and entries when written, and copies the value', () => {
    const draft = MerkleMapDraft.over(snapshotOf([]));
    expect(() => draft.with('', entryOf(1))).toThrow(RangeError);
    expect(() => draft.with(keyOf(1), { value: utf8('x'), revision: 0n })).toThrow(RangeError);
    const value = utf8('mutable');
    const next = draft.with(keyOf(1), { value, revision: 1n });
    value[0] = 0;
    expect(next.get(keyOf(1))?.value).toEqual(utf8('mutable'));
    expect(next.toSnapshot().get(keyOf(1))?.value).toEqual(utf8('mutable'));
  });
});
