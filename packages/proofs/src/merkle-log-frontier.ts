// The compact range of a Merkle log (RFC 9162 section 2.1.1 hashing): for a
// log of `size` leaves, the roots of the perfect subtrees that the set bits of
// `size` describe, largest (leftmost) first. It is all a replicated state
// machine needs to extend a log and compute its root without keeping the
// leaves: the leaves themselves live in the replica's storage, where
// MerkleLog serves proofs.
//
// A frontier is immutable: `append` returns a new frontier and never touches
// the old one, so a state that holds a frontier can be shared between
// speculative executions (the Executor contract: apply never mutates).

import { abytes } from './bytes';
import { type CryptoBackend } from './crypto-backend';
import { assert } from './assert';
import { limits } from './limits';
import { emptyRoot, hashChildren } from './merkle-log';

/** Number of set bits of a non-negative bigint. */
function popCount(x: bigint): number {
  let count = 0;
  for (let rest = x; rest > 0n; rest >>= 1n) count += Number(rest & 1n);
  return count;
}

export class LogFrontier {
  private constructor(
    private readonly backend: CryptoBackend,
    /** Leaves covered by `nodes`. */
    readonly size: bigint,
    /** Perfect-subtree roots, one per set bit of `size`, highest bit first. Never mutated. */
    private readonly nodes: readonly Uint8Array[],
  ) {}

  static empty(backend: CryptoBackend): LogFrontier {
    return new LogFrontier(backend, 0n, []);
  }

  /**
   * Rebuilds a frontier from stored subtree roots (as returned by `hashes()`).
   * Trusted input from our own storage: a wrong shape is a bug and throws. The
   * root it yields still has to match a certified log root before anyone
   * relies on it.
   */
  static fromHashes(backend: CryptoBackend, size: bigint, hashes: readonly Uint8Array[]): LogFrontier {
    if (typeof size !== 'bigint' || size < 0n || size > limits.logSizeMax) throw new RangeError(`log frontier: size ${String(size)} is outside [0, 2^62]`);
    if (hashes.length !== popCount(size)) throw new RangeError(`log frontier: a log of ${size} leaves needs ${popCount(size)} subtree roots, got ${hashes.length}`);
    const nodes = hashes.map((hash, i) => abytes(hash, limits.hashBytes, `frontier hash ${i}`).slice());
    return new LogFrontier(backend, size, nodes);
  }

  /** Copies of the perfect-subtree roots, highest bit of `size` first. */
  hashes(): Uint8Array[] {
    return this.nodes.map((node) => node.slice());
  }

  /**
   * A new frontier with one more leaf. Each trailing 1 bit of the old size is
   * a perfect subtree that the new leaf completes into one twice its height
   * (the carry of a binary increment): one hash per carry, one amortized.
   */
  append(leafHash: Uint8Array): LogFrontier {
    let carry: Uint8Array = abytes(leafHash, limits.hashBytes, 'leafHash').slice();
    if (this.size >= limits.logSizeMax) throw new RangeError('log frontier: the log is full');
    const nodes = this.nodes.slice();
    for (let rest = this.size; (rest & 1n) === 1n; rest >>= 1n) {
      const left = nodes.pop();
      assert(left !== undefined, 'log frontier: fewer subtree roots than set bits of the size');
      carry = hashChildren(this.backend, left, carry);
    }
    nodes.push(carry);
    const size = this.size + 1n;
    assert(nodes.length === popCount(size), 'log frontier: subtree roots do not match the size');
    return new LogFrontier(this.backend, size, nodes);
  }

  /**
   * MTH(D[0:size]) (RFC 9162 2.1.1). The RFC splits at the largest power of
   * two below n, which is exactly the leftmost perfect subtree; folding the
   * subtree roots from the right therefore reproduces the recursion.
   */
  root(): Uint8Array {
    const last = this.nodes[this.nodes.length - 1];
    if (last === undefined) return emptyRoot(this.backend);
    let root = last;
    for (let i = this.nodes.length - 2; i >= 0; i--) {
      const left = this.nodes[i];
      assert(left !== undefined, 'log frontier: hole in the subtree roots');
      root = hashChildren(this.backend, left, root);
    }
    return root.slice();
  }
}
