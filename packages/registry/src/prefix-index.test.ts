import { describe, expect, it } from 'vitest';
import { bytesToHex, encodeCanonical, mapEntryHash, mapKeyPath, mapLeafHash, MerkleMapSnapshot, nobleBackend, utf8 } from '@vcr/proofs';
import { decodePrefixCounts, encodePrefixCounts, indexedPrefixesOf, prefixDepth, prefixIndexKey } from './prefix-index';

describe('prefix index format (docs/merkle-map.md section 8)', () => {
  it('matches the published vector: key, value, entry hash, leaf and a root', () => {
    const key = prefixIndexKey('demo/flags/');
    const value = encodePrefixCounts({ keys: 2n, changes: 3n });
    const entry = { value, revision: 3n };
    expect(bytesToHex(utf8(key))).toBe('006469722f64656d6f2f666c6167732f');
    expect(bytesToHex(value)).toBe('a2646b65797302676368616e67657303');
    const path = mapKeyPath(nobleBackend, key);
    const entryHash = mapEntryHash(nobleBackend, key, entry);
    expect(bytesToHex(encodeCanonical({ key, revision: 3n, value }))).toBe('a3636b657970006469722f64656d6f2f666c6167732f6576616c756550a2646b65797302676368616e67657303687265766973696f6e03');
    expect(bytesToHex(entryHash)).toBe('c59b23c05dd58b6b037ef557cd7c20e06736d5acecae1eeb27750a95e217dc95');
    expect(bytesToHex(mapLeafHash(nobleBackend, path, entryHash))).toBe('7f9ad75cd56152ae2f92fa22888557c2a7e21dce233a00154e4c9e6669d8f7e9');
    const map = MerkleMapSnapshot.fromEntries(nobleBackend, [
      ['demo/flags/a', { value: utf8('1'), revision: 1n }],
      ['demo/flags/b', { value: utf8('2'), revision: 2n }],
      [key, entry],
    ]);
    expect(bytesToHex(map.root)).toBe('128982dad3669b3834b077b872ac7f1f7893658ab39228b6d35dc59116f16fb8');
  });

  it('decodes only its own shape: two non-negative counts, keys never above changes', () => {
    expect(decodePrefixCounts(encodePrefixCounts({ keys: 0n, changes: 7n }))).toEqual({ keys: 0n, changes: 7n });
    expect(decodePrefixCounts(encodeCanonical({ keys: 3n, changes: 2n }))).toBeUndefined();
    expect(decodePrefixCounts(encodeCanonical({ keys: 1n }))).toBeUndefined();
    expect(decodePrefixCounts(encodeCanonical({ keys: 1n, changes: 2n, more: 1n }))).toBeUndefined();
    expect(decodePrefixCounts(encodeCanonical({ keys: 'x', changes: 2n }))).toBeUndefined();
    expect(decodePrefixCounts(new Uint8Array([0xff]))).toBeUndefined();
  });

  it('indexes the /-terminated prefixes of a key up to the depth', () => {
    expect(indexedPrefixesOf('a/b/c/d', 2)).toEqual(['a/', 'a/b/']);
    expect(indexedPrefixesOf('a/b/c/d', 8)).toEqual(['a/', 'a/b/', 'a/b/c/']);
    expect(indexedPrefixesOf('plain', 8)).toEqual([]);
    expect(prefixDepth('a/b/')).toBe(2);
    expect(prefixDepth('a/b')).toBe(0);
  });
});
