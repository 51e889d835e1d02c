import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, utf8 } from './bytes';
import { encodeCanonical } from './canonical';
import { type CryptoBackend } from './crypto-backend';
import { nobleBackend } from './noble-backend';
import {
  type MapEntry,
  type MapProof,
  mapEntryHash,
  mapInternalHash,
  mapKeyPath,
  mapLeafHash,
  MerkleMap,
  MerkleMapSnapshot,
  verifyMembership,
  verifyNonMembership,
} from './merkle-map';

const backend = nobleBackend;
const ZERO = new Uint8Array(32);

const keyOf = (i: number): string => `key-${i}`;
const entryOf = (i: number, revision = 1n): MapEntry => ({ value: utf8(`value-${i}`), revision });

function mapOf(n: number, offset = 0): MerkleMap {
  return MerkleMap.fromEntries(backend, Array.from({ length: n }, (_, i) => [keyOf(i + offset), entryOf(i + offset)] as const));
}

function countingBackend(): { backend: CryptoBackend; calls: () => number } {
  let calls = 0;
  const counted: CryptoBackend = {
    ...nobleBackend,
    sha256: (...parts) => {
      calls++;
      return nobleBackend.sha256(...parts);
    },
  };
  return { backend: counted, calls: () => calls };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (0x80 >> (bit & 7));
  return out;
}

function bitOf(path: Uint8Array, depth: number): number {
  return ((path[depth >> 3] as number) >> (7 - (depth & 7))) & 1;
}

function proveMember(map: MerkleMap, i: number) {
  return { root: map.root, key: keyOf(i), entry: entryOf(i), proof: map.prove(keyOf(i)) };
}

describe('merkle-map hashing and shape', () => {
  it('the empty map has the all-zero root', () => {
    expect(new MerkleMap(backend).root).toEqual(ZERO);
    expect(mapOf(0).root).toEqual(ZERO);
  });

  it('the entry hash is SHA-256 of the canonical encoding of { key, revision, value }', () => {
    const entry = entryOf(7, 42n);
    const expected = backend.sha256(encodeCanonical({ key: 'k', revision: 42n, value: entry.value }));
    expect(mapEntryHash(backend, 'k', entry)).toEqual(expected);
    expect(mapEntryHash(backend, 'k2', entry)).not.toEqual(expected);
    expect(mapEntryHash(backend, 'k', { ...entry, revision: 43n })).not.toEqual(expected);
    expect(mapEntryHash(backend, 'k', { ...entry, value: utf8('other') })).not.toEqual(expected);
  });

  it('a one-key map is that key\'s leaf, collapsed at the root', () => {
    const map = mapOf(1);
    const path = mapKeyPath(backend, keyOf(0));
    expect(map.root).toEqual(mapLeafHash(backend, path, mapEntryHash(backend, keyOf(0), entryOf(0))));
    expect(map.prove(keyOf(0)).siblings).toEqual([]);
  });

  it('two keys sit under internal nodes down to the first bit where their paths differ', () => {
    const map = mapOf(2);
    const leaves = [0, 1].map((i) => {
      const path = mapKeyPath(backend, keyOf(i));
      return { path, hash: mapLeafHash(backend, path, mapEntryHash(backend, keyOf(i), entryOf(i))) };
    });
    const [a, b] = leaves as [(typeof leaves)[0], (typeof leaves)[0]];
    let split = 0;
    while (bitOf(a.path, split) === bitOf(b.path, split)) split++;
    let node = bitOf(a.path, split) === 0 ? mapInternalHash(backend, a.hash, b.hash) : mapInternalHash(backend, b.hash, a.hash);
    for (let depth = split - 1; depth >= 0; depth--) {
      node = bitOf(a.path, depth) === 0 ? mapInternalHash(backend, node, ZERO) : mapInternalHash(backend, ZERO, node);
    }
    expect(map.root).toEqual(node);
    expect(map.prove(keyOf(0)).siblings.length).toBe(split + 1);
  });

  it('matches the worked example in docs/merkle-map.md', () => {
    const map = new MerkleMap(backend);
    map.set('bob', { value: utf8('20'), revision: 2n });
    map.set('carol', { value: utf8('30'), revision: 3n });
    map.set('dave', { value: utf8('40'), revision: 4n });
    const hex = (proof: MapProof) => ({
      siblings: proof.siblings.map(bytesToHex),
      terminal: proof.terminal.kind === 'leaf' ? bytesToHex(proof.terminal.path) : 'empty',
    });
    expect(bytesToHex(map.root)).toBe(EXAMPLE.root);
    expect(hex(map.prove('carol'))).toEqual({ siblings: [EXAMPLE.bobLeaf, bytesToHex(ZERO), EXAMPLE.daveLeaf], terminal: EXAMPLE.carolPath });
    expect(hex(map.prove('alice'))).toEqual({ siblings: [EXAMPLE.bobLeaf, EXAMPLE.n2], terminal: 'empty' });
    expect(hex(map.prove('grace'))).toEqual({ siblings: [EXAMPLE.n1], terminal: EXAMPLE.bobPath });
  });
});

describe('merkle-map updates', () => {
  it('the root depends only on the entries, not on insertion order', () => {
    const keys = Array.from({ length: 40 }, (_, i) => i);
    fc.assert(
      fc.property(fc.shuffledSubarray(keys, { minLength: 40 }), fc.shuffledSubarray(keys, { minLength: 40 }), (first, second) => {
        const a = new MerkleMap(backend);
        const b = new MerkleMap(backend);
        for (const i of first) a.set(keyOf(i), entryOf(i));
        for (const i of second) b.set(keyOf(i), entryOf(i));
        expect(a.root).toEqual(b.root);
      }),
      { numRuns: 30 },
    );
  });

  it('fromEntries gives the same root and size as inserting one by one', () => {
    const map = new MerkleMap(backend);
    for (let n = 0; n <= 300; n++) {
      if (n > 0) map.set(keyOf(n - 1), entryOf(n - 1));
      if (n % 7 === 0 || n < 20) {
        const bulk = mapOf(n);
        expect(bulk.root).toEqual(map.root);
        expect(bulk.size).toBe(n);
      }
    }
  });

  it('any sequence of sets and deletes matches a bulk build of the surviving entries', () => {
    const op = fc.record({ del: fc.boolean(), key: fc.integer({ min: 0, max: 30 }), revision: fc.bigInt({ min: 1n, max: 5n }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const map = new MerkleMap(backend);
        const model = new Map<string, MapEntry>();
        for (const { del, key, revision } of ops) {
          if (del) expect(map.delete(keyOf(key))).toBe(model.delete(keyOf(key)));
          else {
            map.set(keyOf(key), entryOf(key, revision));
            model.set(keyOf(key), entryOf(key, revision));
          }
        }
        expect(map.size).toBe(model.size);
        expect(map.root).toEqual(MerkleMap.fromEntries(backend, model).root);
        for (const [key, entry] of model) expect(map.get(key)).toEqual(entry);
      }),
      { numRuns: 60 },
    );
  });

  it('set then delete restores exactly the root of never having set', () => {
    for (const n of [0, 1, 2, 3, 50]) {
      const map = mapOf(n);
      const before = map.root;
      map.set('fresh', entryOf(1));
      expect(map.root).not.toEqual(before);
      expect(map.delete('fresh')).toBe(true);
      expect(map.root).toEqual(before);
      expect(map.size).toBe(n);
    }
  });

  it('deleting an absent key changes nothing and reports false', () => {
    const map = mapOf(20);
    const before = map.snapshot();
    expect(map.delete('absent')).toBe(false);
    expect(map.snapshot()).toBe(before);
  });

  it('overwriting an entry changes the root, and writing the old entry back restores it', () => {
    const map = mapOf(20);
    const before = map.root;
    map.set(keyOf(3), entryOf(3, 2n));
    expect(map.root).not.toEqual(before);
    expect(map.size).toBe(20);
    map.set(keyOf(3), entryOf(3));
    expect(map.root).toEqual(before);
  });

  it('snapshots keep their root, entries and proofs while the map changes', () => {
    const map = mapOf(100);
    const snap = map.snapshot();
    const root = snap.root;
    for (let i = 0; i < 100; i += 2) map.delete(keyOf(i));
    for (let i = 100; i < 200; i++) map.set(keyOf(i), entryOf(i));
    map.set(keyOf(1), entryOf(1, 9n));
    expect(snap.root).toEqual(root);
    expect(snap.size).toBe(100);
    expect(snap.get(keyOf(1))).toEqual(entryOf(1));
    for (let i = 0; i < 100; i++) {
      expect(verifyMembership(backend, { root, key: keyOf(i), entry: entryOf(i), proof: snap.prove(keyOf(i)) })).toEqual({ ok: true });
    }
    expect(verifyNonMembership(backend, { root, key: keyOf(150), proof: snap.prove(keyOf(150)) })).toEqual({ ok: true });
    expect([...snap.entries()]).toHaveLength(100);
  });

  it('the map keeps its own copy of values, roots and proofs', () => {
    const map = new MerkleMap(backend);
    const value = utf8('abc');
    map.set('k', { value, revision: 1n });
    const root = map.root;
    value[0] = 0;
    map.root.fill(1);
    const proof = map.prove('k');
    if (proof.terminal.kind === 'leaf') proof.terminal.path.fill(1);
    (map.get('k') as MapEntry).value.fill(1);
    expect(map.get('k')).toEqual({ value: utf8('abc'), revision: 1n });
    expect(map.root).toEqual(root);
    expect(verifyMembership(backend, { root, key: 'k', entry: { value: utf8('abc'), revision: 1n }, proof: map.prove('k') }).ok).toBe(true);
  });

  it('refuses keys, values and revisions outside the limits', () => {
    const map = new MerkleMap(backend);
    const bad: [string, MapEntry][] = [
      ['', entryOf(0)],
      ['x'.repeat(513), entryOf(0)],
      ['é'.repeat(257), entryOf(0)],
      ['\ud800', entryOf(0)],
      ['k', { value: new Uint8Array(64 * 1024 + 1), revision: 1n }],
      ['k', { value: utf8('v'), revision: 0n }],
      ['k', { value: utf8('v'), revision: 1n << 63n }],
      ['k', { value: utf8('v'), revision: 1 as unknown as bigint }],
    ];
    for (const [key, entry] of bad) expect(() => map.set(key, entry)).toThrow(RangeError);
    // Lone surrogates anywhere (which UTF-8 would turn into U+FFFD, the bytes of another key) are refused by the verifiers too.
    for (const key of ['\ud800', 'a\udc00', '\udc00\ud800', 'x\ud83d']) {
      expect(verifyNonMembership(backend, { root: map.root, key, proof: map.prove('a') })).toEqual({ ok: false, reason: 'bad-key' });
    }
    expect(verifyNonMembership(backend, { root: map.root, key: 'a\ud83d\ude00', proof: map.prove('a\ud83d\ude00') })).toEqual({ ok: true });
    expect(() => map.set('x'.repeat(512), { value: new Uint8Array(64 * 1024), revision: (1n << 63n) - 1n })).not.toThrow();
    expect(() => MerkleMap.fromEntries(backend, [['a', entryOf(0)], ['a', entryOf(1)]])).toThrow(/duplicate/);
  });
});

describe('merkle-map proofs', () => {
  it('membership proofs verify for every key in maps of size 0..200', () => {
    const map = new MerkleMap(backend);
    for (let n = 0; n <= 200; n++) {
      if (n > 0) map.set(keyOf(n - 1), entryOf(n - 1));
      for (let i = 0; i < n; i++) expect(verifyMembership(backend, proveMember(map, i))).toEqual({ ok: true });
    }
  });

  it('non-membership proofs verify for absent keys, ending at an empty node or at another key\'s leaf', () => {
    const seen = { empty: 0, leaf: 0 };
    for (const n of [0, 1, 2, 3, 5, 10, 60, 200]) {
      const map = mapOf(n);
      for (let i = n; i < n + 40; i++) {
        const proof = map.prove(keyOf(i));
        seen[proof.terminal.kind]++;
        expect(verifyNonMembership(backend, { root: map.root, key: keyOf(i), proof })).toEqual({ ok: true });
      }
    }
    expect(seen.empty).toBeGreaterThan(0);
    expect(seen.leaf).toBeGreaterThan(0);
  });

  it('read gives get and prove of the key together, from one hash of the key and no node hashing', () => {
    const map = mapOf(60);
    for (let i = 0; i < 80; i++) {
      const read = map.read(keyOf(i));
      expect(read.entry).toEqual(map.get(keyOf(i)));
      expect(read.proof).toEqual(map.prove(keyOf(i)));
    }
    const counted = countingBackend();
    const snapshot = MerkleMapSnapshot.fromEntries(counted.backend, [[keyOf(1), entryOf(1)], [keyOf(2), entryOf(2)], [keyOf(3), entryOf(3)]]);
    const before = counted.calls();
    const read = snapshot.read(keyOf(2));
    expect(counted.calls() - before).toBe(1);
    expect(verifyMembership(backend, { root: snapshot.root, key: keyOf(2), entry: read.entry as MapEntry, proof: read.proof })).toEqual({ ok: true });
  });

  it('a membership proof never passes as non-membership, nor the reverse', () => {
    const map = mapOf(50);
    for (let i = 0; i < 50; i++) {
      expect(verifyNonMembership(backend, { root: map.root, key: keyOf(i), proof: map.prove(keyOf(i)) })).toEqual({ ok: false, reason: 'key-present' });
    }
    for (let i = 50; i < 100; i++) {
      const proof = map.prove(keyOf(i));
      const reason = proof.terminal.kind === 'empty' ? 'key-absent' : 'other-key';
      expect(verifyMembership(backend, { root: map.root, key: keyOf(i), entry: entryOf(i), proof })).toEqual({ ok: false, reason });
    }
  });

  it('a membership proof binds the value and the revision', () => {
    const map = mapOf(10);
    const claim = proveMember(map, 4);
    expect(verifyMembership(backend, { ...claim, entry: entryOf(5) })).toEqual({ ok: false, reason: 'entry-mismatch' });
    expect(verifyMembership(backend, { ...claim, entry: entryOf(4, 2n) })).toEqual({ ok: false, reason: 'entry-mismatch' });
  });

  it('a leaf claimed at another depth than its real one does not verify', () => {
    const map = mapOf(300);
    for (let i = 0; i < 300; i++) {
      const claim = proveMember(map, i);
      const { siblings } = claim.proof;
      const deeper = { ...claim.proof, siblings: [...siblings, backend.sha256(utf8('x'))] };
      expect(verifyMembership(backend, { ...claim, proof: deeper })).toEqual({ ok: false, reason: 'root-mismatch' });
      const shallower = { ...claim.proof, siblings: siblings.slice(0, -1) };
      // Dropping a sibling can expose an EMPTY one as the last, which the shape rule rejects first.
      const expected = shallower.siblings.at(-1)?.every((b) => b === 0) ? 'non-canonical-proof' : 'root-mismatch';
      expect(verifyMembership(backend, { ...claim, proof: shallower })).toEqual({ ok: false, reason: expected });
    }
  });

  it('a proof whose last sibling is EMPTY is non-canonical, and would not reach the root anyway', () => {
    const map = mapOf(300);
    for (let i = 0; i < 300; i++) {
      const claim = proveMember(map, i);
      const padded: MapProof = { ...claim.proof, siblings: [...claim.proof.siblings, ZERO] };
      expect(verifyMembership(backend, { ...claim, proof: padded })).toEqual({ ok: false, reason: 'non-canonical-proof' });
      // Without the shape rule the fold gives H(0x03 || leaf || EMPTY) at the leaf's real position, which is not its real node.
      const path = mapKeyPath(backend, keyOf(i));
      const leaf = mapLeafHash(backend, path, mapEntryHash(backend, keyOf(i), entryOf(i)));
      const depth = claim.proof.siblings.length;
      const fakeNode = bitOf(path, depth) === 0 ? mapInternalHash(backend, leaf, ZERO) : mapInternalHash(backend, ZERO, leaf);
      expect(fakeNode).not.toEqual(leaf);
      const absent = map.prove(keyOf(1000 + i));
      const paddedAbsent: MapProof = { ...absent, siblings: [...absent.siblings, ZERO] };
      expect(verifyNonMembership(backend, { root: map.root, key: keyOf(1000 + i), proof: paddedAbsent })).toEqual({ ok: false, reason: 'non-canonical-proof' });
    }
  });

  it('rejects an empty terminal at depth 256 and proofs deeper than 256', () => {
    const root = mapOf(5).root;
    const siblings = Array.from({ length: 256 }, () => backend.sha256(utf8('s')));
    expect(verifyNonMembership(backend, { root, key: 'k', proof: { siblings, terminal: { kind: 'empty' } } })).toEqual({ ok: false, reason: 'non-canonical-proof' });
    const tooDeep = [...siblings, backend.sha256(utf8('s'))];
    expect(verifyNonMembership(backend, { root, key: 'k', proof: { siblings: tooDeep, terminal: { kind: 'empty' } } })).toEqual({ ok: false, reason: 'proof-too-deep' });
  });

  it('a non-membership leaf must share the key\'s path down to its depth', () => {
    const map = mapOf(200);
    let checked = 0;
    for (let i = 200; i < 400 && checked < 20; i++) {
      const proof = map.prove(keyOf(i));
      if (proof.terminal.kind !== 'leaf' || proof.siblings.length === 0) continue;
      // Find an absent key whose path leaves the terminal's subtree at the very last level.
      const depth = proof.siblings.length;
      const terminalPath = proof.terminal.path;
      let other = 0;
      const diverges = (k: string) => {
        const path = mapKeyPath(backend, k);
        for (let d = 0; d < depth - 1; d++) if (bitOf(path, d) !== bitOf(terminalPath, d)) return false;
        return bitOf(path, depth - 1) !== bitOf(terminalPath, depth - 1);
      };
      while (!diverges(`probe-${other}`)) other++;
      expect(verifyNonMembership(backend, { root: map.root, key: `probe-${other}`, proof })).toEqual({ ok: false, reason: 'leaf-off-path' });
      checked++;
    }
    expect(checked).toBe(20);
  });

  const propertyMaps = [1, 2, 3, 17, 300].map((n) => mapOf(n));

  it('flipping any single bit of key, value, revision, sibling, terminal or root breaks a membership proof', () => {
    const where = fc.constantFrom('key', 'value', 'revision', 'sibling', 'path', 'entryHash', 'root');
    fc.assert(
      fc.property(fc.nat(propertyMaps.length - 1), fc.nat(), where, fc.nat(), fc.nat(), (m, k, part, index, bit) => {
        const map = propertyMaps[m] as MerkleMap;
        const i = k % map.size;
        const claim = proveMember(map, i);
        const proof = claim.proof;
        const terminal = proof.terminal as { kind: 'leaf'; path: Uint8Array; entryHash: Uint8Array };
        let bad: Parameters<typeof verifyMembership>[1];
        if (part === 'key') {
          // Flipping one of the low 7 bits keeps the key ASCII, hence a string.
          const bytes = utf8(claim.key);
          const flipped = flipBit(bytes, (index % bytes.length) * 8 + 1 + (bit % 7));
          bad = { ...claim, key: new TextDecoder().decode(flipped) };
        } else if (part === 'value') {
          const value = claim.entry.value;
          bad = { ...claim, entry: { ...claim.entry, value: flipBit(value, bit % (value.length * 8)) } };
        } else if (part === 'revision') {
          bad = { ...claim, entry: { ...claim.entry, revision: claim.entry.revision ^ (1n << BigInt(bit % 64)) } };
        } else if (part === 'sibling') {
          if (proof.siblings.length === 0) return;
          const s = index % proof.siblings.length;
          const siblings = proof.siblings.map((x, j) => (j === s ? flipBit(x, bit % 256) : x));
          bad = { ...claim, proof: { ...proof, siblings } };
        } else if (part === 'path' || part === 'entryHash') {
          bad = { ...claim, proof: { ...proof, terminal: { ...terminal, [part]: flipBit(terminal[part], bit % 256) } } };
        } else {
          bad = { ...claim, root: flipBit(claim.root, bit % 256) };
        }
        expect(verifyMembership(backend, claim).ok).toBe(true);
        expect(verifyMembership(backend, bad).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('flipping any single bit of a sibling, the terminal or the root breaks a non-membership proof', () => {
    fc.assert(
      fc.property(fc.nat(propertyMaps.length - 1), fc.nat(), fc.constantFrom('sibling', 'terminal', 'root'), fc.nat(), fc.nat(), (m, k, part, index, bit) => {
        const map = propertyMaps[m] as MerkleMap;
        const key = `absent-${k}`;
        const claim = { root: map.root, key, proof: map.prove(key) };
        const { proof } = claim;
        let bad: Parameters<typeof verifyNonMembership>[1];
        if (part === 'sibling') {
          if (proof.siblings.length === 0) return;
          const s = index % proof.siblings.length;
          bad = { ...claim, proof: { ...proof, siblings: proof.siblings.map((x, j) => (j === s ? flipBit(x, bit % 256) : x)) } };
        } else if (part === 'terminal') {
          if (proof.terminal.kind === 'empty') return;
          const field = index % 2 === 0 ? 'path' : 'entryHash';
          bad = { ...claim, proof: { ...proof, terminal: { ...proof.terminal, [field]: flipBit(proof.terminal[field], bit % 256) } } };
        } else {
          bad = { ...claim, root: flipBit(claim.root, bit % 256) };
        }
        expect(verifyNonMembership(backend, claim).ok).toBe(true);
        expect(verifyNonMembership(backend, bad).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('a non-membership proof passes for another key only if it is exactly that key\'s own proof', () => {
    let passedForOther = 0;
    fc.assert(
      fc.property(fc.nat(propertyMaps.length - 1), fc.nat(), fc.nat({ max: 6 }), fc.nat(), (m, k, bit, index) => {
        const map = propertyMaps[m] as MerkleMap;
        const key = `absent-${k}`;
        const proof = map.prove(key);
        const bytes = utf8(key);
        const other = new TextDecoder().decode(flipBit(bytes, (index % bytes.length) * 8 + 1 + bit));
        const ok = verifyNonMembership(backend, { root: map.root, key: other, proof }).ok;
        expect(ok).toBe(!map.has(other) && JSON.stringify(map.prove(other)) === JSON.stringify(proof));
        if (ok) passedForOther++;
      }),
      { numRuns: 500 },
    );
    // Small maps have short proofs, so some other keys share them: the case above is exercised.
    expect(passedForOther).toBeGreaterThan(0);
  });

  it('garbage input returns ok:false without throwing', () => {
    const map = mapOf(10);
    const good = proveMember(map, 3);
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } });
    const withGetter = { ...good, get proof(): MapProof { throw new Error('boom'); } };
    for (const garbage of [null, undefined, 0, 'x', [], {}, hostile, withGetter, { ...good, entry: hostile }, { ...good, proof: { siblings: hostile, terminal: { kind: 'empty' } } }]) {
      expect(verifyMembership(backend, garbage as never).ok).toBe(false);
      expect(verifyNonMembership(backend, garbage as never).ok).toBe(false);
    }
    const field = fc.constantFrom('root', 'key', 'entry', 'proof', 'siblings', 'terminal', 'value', 'revision');
    fc.assert(
      fc.property(field, fc.anything({ withBigInt: true, withTypedArray: true, withNullPrototype: true }), (name, junk) => {
        const claim: Record<string, unknown> = { ...good };
        if (name === 'siblings' || name === 'terminal') claim.proof = { ...good.proof, [name]: junk };
        else if (name === 'value' || name === 'revision') claim.entry = { ...good.entry, [name]: junk };
        else claim[name] = junk;
        expect(verifyMembership(backend, claim as never).ok).toBe(false);
        // A leaf-terminated proof of absence holds for every absent key routed to that leaf's
        // position, so a replaced key may legitimately verify as absent, but only with its own proof.
        const ownProof = (() => {
          try {
            return typeof junk === 'string' && !map.has(junk) && JSON.stringify(map.prove(junk)) === JSON.stringify(good.proof);
          } catch {
            return false;
          }
        })();
        expect(verifyNonMembership(backend, claim as never).ok).toBe(name === 'key' && ownProof);
      }),
      { numRuns: 500 },
    );
  });

  it('checks sizes before hashing: a malformed claim costs no hash', () => {
    const counter = countingBackend();
    const good = proveMember(mapOf(10), 3);
    const bad = [
      { ...good, root: new Uint8Array(31) },
      { ...good, key: '' },
      { ...good, entry: { value: new Uint8Array(64 * 1024 + 1), revision: 1n } },
      { ...good, entry: { value: utf8('v'), revision: 0n } },
      { ...good, proof: { ...good.proof, siblings: [new Uint8Array(33)] } },
      { ...good, proof: { siblings: [], terminal: { kind: 'leaf' } } },
      { ...good, proof: { siblings: [], terminal: { kind: 'other' } } },
    ];
    for (const claim of bad) expect(verifyMembership(counter.backend, claim as never).ok).toBe(false);
    expect(counter.calls()).toBe(0);
  });
});

describe('merkle-map cost at 10,000 keys', () => {
  const n = 10_000;
  const log2n = Math.log2(n);

  it('bulk build hashes about 4 times per key', () => {
    const counter = countingBackend();
    const map = MerkleMap.fromEntries(counter.backend, Array.from({ length: n }, (_, i) => [keyOf(i), entryOf(i)] as const));
    expect(map.size).toBe(n);
    expect(counter.calls()).toBeLessThan(5 * n);
  });

  it('proofs are about log2(n) long', () => {
    const map = mapOf(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += map.prove(keyOf(i)).siblings.length;
    expect(total / n).toBeLessThan(2 * log2n + 4);
    expect(total / n).toBeGreaterThan(log2n - 1);
  });

  it('an insert, an overwrite or a delete costs O(log n) hashes, never a rebuild', () => {
    const counter = countingBackend();
    const map = MerkleMap.fromEntries(counter.backend, Array.from({ length: n }, (_, i) => [keyOf(i), entryOf(i)] as const));
    const bound = 2 * log2n + 8;
    const costs: number[] = [];
    const measure = (update: () => void) => {
      const before = counter.calls();
      update();
      costs.push(counter.calls() - before);
    };
    for (let i = 0; i < 100; i++) {
      measure(() => map.set(keyOf(n + i), entryOf(n + i)));
      measure(() => map.set(keyOf(i), entryOf(i, 2n)));
      measure(() => map.delete(keyOf(n / 2 + i)));
    }
    expect(Math.max(...costs)).toBeLessThan(bound);
    expect(costs.reduce((a, b) => a + b, 0) / costs.length).toBeLessThan(log2n + 6);
  });
});

describe('merkle-map snapshots are persistent maps', () => {
  it('with/without return new versions and leave the original untouched', () => {
    const empty = MerkleMapSnapshot.empty(backend);
    const one = empty.with('a', entryOf(1));
    const two = one.with('b', entryOf(2));
    expect(empty.size).toBe(0);
    expect(one.size).toBe(1);
    expect(two.without('b').root).toEqual(one.root);
    expect(two.without('zzz')).toBe(two);
    expect(one.get('b')).toBeUndefined();
    expect(two.get('b')).toEqual(entryOf(2));
  });
});

// Computed by the code and copied into docs/merkle-map.md; a change here is a format change.
const EXAMPLE = {
  root: 'ba935a0d8926b422694d44756af0a128eb230aa7f66084852614a2050dd62fec',
  n1: '7cbd5c07af441532aab155e6cc842462e9cb77910933b460b1cc09ae4912a76b',
  n2: '04115405c3576ac80ae9f818e99a61a1c1102c24fb0a74a6ea454e450ed44cd8',
  bobLeaf: '26eb7c60e216f4eac11325d85e7f2ac3c7311858fc3b2180f4b7257b3dab8403',
  daveLeaf: '14ad0f1d72e79ee2ae580639bd20eb1a7690d9593d6ec4d565bee2a206d13346',
  bobPath: '81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9',
  carolPath: '4c26d9074c27d89ede59270c0ac14b71e071b15239519f75474b2f3ba63481f5',
};
