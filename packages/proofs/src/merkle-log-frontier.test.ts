import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, u64be } from './bytes';
import { nobleBackend } from './noble-backend';
import { MerkleLog, hashLeaf } from './merkle-log';
import { LogFrontier } from './merkle-log-frontier';

const backend = nobleBackend;

function leafHashOf(i: number): Uint8Array {
  return hashLeaf(backend, u64be(BigInt(i)));
}

describe('LogFrontier', () => {
  it('the empty frontier has size 0 and the RFC 9162 empty root, SHA-256("")', () => {
    const empty = LogFrontier.empty(backend);
    expect(empty.size).toBe(0n);
    expect(bytesToHex(empty.root())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('the root equals MerkleLog.rootAt(size) for every size 0..300', () => {
    const log = MerkleLog.fromLeafHashes(backend, Array.from({ length: 300 }, (_, i) => leafHashOf(i)));
    let frontier = LogFrontier.empty(backend);
    for (let size = 0; size <= 300; size++) {
      if (size > 0) frontier = frontier.append(leafHashOf(size - 1));
      expect(frontier.size).toBe(BigInt(size));
      expect(frontier.root()).toEqual(log.rootAt(BigInt(size)));
      // One stored subtree root per set bit of the size.
      expect(frontier.hashes().length).toBe(size.toString(2).split('1').length - 1);
    }
  });

  it('the root equals MerkleLog for random leaf hashes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 150 }), (leafHashes) => {
        const log = new MerkleLog(backend);
        let frontier = LogFrontier.empty(backend);
        for (const leafHash of leafHashes) {
          log.appendLeafHash(leafHash);
          frontier = frontier.append(leafHash);
          expect(frontier.root()).toEqual(log.root());
        }
        expect(frontier.size).toBe(log.size);
      }),
      { numRuns: 40, seed: 9162 },
    );
  });

  it('append returns a new frontier and leaves the old one unchanged', () => {
    let frontier = LogFrontier.empty(backend);
    for (let i = 0; i < 37; i++) frontier = frontier.append(leafHashOf(i));
    const rootBefore = frontier.root();
    const hashesBefore = frontier.hashes();
    const grown = frontier.append(leafHashOf(37));
    const forked = frontier.append(leafHashOf(1000));
    expect(grown).not.toBe(frontier);
    expect(frontier.size).toBe(37n);
    expect(frontier.root()).toEqual(rootBefore);
    expect(frontier.hashes()).toEqual(hashesBefore);
    expect(grown.size).toBe(38n);
    expect(forked.size).toBe(38n);
    expect(grown.root()).not.toEqual(forked.root());
    expect(grown.root()).toEqual(MerkleLog.fromLeafHashes(backend, Array.from({ length: 38 }, (_, i) => leafHashOf(i))).root());
  });

  it('mutating an appended leaf hash, a returned root or returned hashes does not change the frontier', () => {
    const leaf = leafHashOf(0);
    const frontier = LogFrontier.empty(backend).append(leaf).append(leafHashOf(1)).append(leafHashOf(2));
    const root = frontier.root();
    leaf.fill(0xff);
    frontier.root().fill(0);
    for (const hash of frontier.hashes()) hash.fill(0);
    expect(frontier.root()).toEqual(root);
  });

  it('fromHashes restores a frontier that keeps appending like the original', () => {
    let frontier = LogFrontier.empty(backend);
    for (let i = 0; i < 45; i++) frontier = frontier.append(leafHashOf(i));
    const restored = LogFrontier.fromHashes(backend, frontier.size, frontier.hashes());
    expect(restored.root()).toEqual(frontier.root());
    expect(restored.append(leafHashOf(45)).root()).toEqual(frontier.append(leafHashOf(45)).root());
  });

  it('fromHashes refuses a hash count that does not match the set bits of the size, and bad hashes', () => {
    const hashes = [leafHashOf(0), leafHashOf(1)];
    expect(() => LogFrontier.fromHashes(backend, 4n, hashes)).toThrow(RangeError);
    expect(() => LogFrontier.fromHashes(backend, -1n, [])).toThrow(RangeError);
    expect(() => LogFrontier.fromHashes(backend, 3n, [leafHashOf(0), new Uint8Array(31)])).toThrow(TypeError);
    expect(LogFrontier.fromHashes(backend, 3n, hashes).size).toBe(3n);
  });

  it('append refuses a leaf hash that is not 32 bytes', () => {
    expect(() => LogFrontier.empty(backend).append(new Uint8Array(31))).toThrow(TypeError);
  });
});
