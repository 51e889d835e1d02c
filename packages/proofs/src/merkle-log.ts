// The Merkle log of committed entries (DESIGN section 3), hashed as in
// RFC 9162 section 2.1: a binary Merkle tree over an append-only list, with
// inclusion proofs (2.1.3) and consistency proofs (2.1.4). Sizes and indices
// are bigints everywhere, so values past 2^53 keep their precision.
//
// Generation is trusted code: bad arguments are caller bugs and throw.
// Verification takes untrusted input and never throws: it returns a typed
// verdict naming the rule that failed, and it does every cheap check (types,
// ranges, exact proof length, node lengths) before the first hash.

import { abytes, equalBytes } from './bytes';
import { type CryptoBackend } from './crypto-backend';
import { limits } from './limits';
import { assert } from './assert';

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** RFC 9162 2.1.1: MTH({}) = SHA-256(), the hash of the empty string. */
export function emptyRoot(backend: CryptoBackend): Uint8Array {
  return backend.sha256();
}

/** RFC 9162 2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function hashLeaf(backend: CryptoBackend, data: Uint8Array): Uint8Array {
  return backend.sha256(LEAF_PREFIX, abytes(data, undefined, 'leaf data'));
}

/** RFC 9162 2.1.1: an interior node is SHA-256(0x01 || left || right). */
export function hashChildren(backend: CryptoBackend, left: Uint8Array, right: Uint8Array): Uint8Array {
  return backend.sha256(NODE_PREFIX, left, right);
}

/** RFC 9162 2.1.1: the split point k, the largest power of two smaller than n (n >= 2). */
function splitPoint(n: number): number {
  assert(n >= 2, 'split needs at least two leaves');
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** log2(n) when n is a power of two, else undefined (exact up to 2^53, unlike bit operators). */
function exactLog2(n: number): number | undefined {
  let level = 0;
  for (let k = 1; k < n; k *= 2) level++;
  return 2 ** level === n ? level : undefined;
}

// JavaScript arrays hold at most 2^32 - 1 elements; the in-memory log stops there.
const LOG_LEAVES_IN_MEMORY_MAX = 2 ** 32 - 2;

/** Checks a trusted bigint argument and returns it as an exact array index. */
function toCount(value: bigint, min: number, max: number, what: string): number {
  if (typeof value !== 'bigint') throw new TypeError(`${what}: expected a bigint`);
  if (value < BigInt(min) || value > BigInt(max)) throw new RangeError(`${what} ${value} is outside [${min}, ${max}]`);
  return Number(value);
}

/**
 * An append-only Merkle log. `levels[h][i]` is the hash of the complete
 * subtree of 2^h leaves starting at leaf i * 2^h; every such subtree is stored
 * once it is complete, so an append costs one hash amortized and the root or a
 * proof at any past size is a walk down O(log n) cached subtrees, not a rebuild.
 */
export class MerkleLog {
  private readonly levels: Uint8Array[][] = [[]];

  constructor(private readonly backend: CryptoBackend) {}

  static fromLeafHashes(backend: CryptoBackend, leafHashes: Iterable<Uint8Array>): MerkleLog {
    const log = new MerkleLog(backend);
    for (const leafHash of leafHashes) log.appendLeafHash(leafHash);
    return log;
  }

  get size(): bigint {
    return BigInt(this.leafCount());
  }

  /** Appends one entry (hashed as a leaf, RFC 9162 2.1.1); returns its index. */
  append(data: Uint8Array): bigint {
    return this.appendLeafHash(hashLeaf(this.backend, data));
  }

  /** Appends an already computed 32-byte leaf hash; returns its index. */
  appendLeafHash(leafHash: Uint8Array): bigint {
    const hash = abytes(leafHash, limits.hashBytes, 'leafHash').slice();
    const index = this.leafCount();
    if (index >= LOG_LEAVES_IN_MEMORY_MAX) throw new RangeError('log is full');
    this.row(0).push(hash);
    // Each time a level gains its second node of a pair, the pair's parent is complete.
    for (let level = 0; this.row(level).length % 2 === 0; level++) {
      const row = this.row(level);
      const parent = hashChildren(this.backend, this.cached(level, row.length - 2), this.cached(level, row.length - 1));
      if (this.levels.length === level + 1) this.levels.push([]);
      this.row(level + 1).push(parent);
    }
    return BigInt(index);
  }

  root(): Uint8Array {
    return this.rootAt(this.size);
  }

  /** MTH(D[0:size]) for any size <= the current size (RFC 9162 2.1.1). */
  rootAt(size: bigint): Uint8Array {
    const n = toCount(size, 0, this.leafCount(), 'size');
    return n === 0 ? emptyRoot(this.backend) : this.subtreeHash(0, n);
  }

  /** RFC 9162 2.1.3.1: PATH(index, D[0:size]), nodes ordered from the leaf up to the root. */
  inclusionProof(index: bigint, size: bigint): Uint8Array[] {
    const n = toCount(size, 1, this.leafCount(), 'size');
    const m = toCount(index, 0, n - 1, 'index');
    const out: Uint8Array[] = [];
    this.path(m, 0, n, out);
    return out;
  }

  /** RFC 9162 2.1.4.1: PROOF(size1, D[0:size2]); empty when size1 = size2. */
  consistencyProof(size1: bigint, size2: bigint): Uint8Array[] {
    const n = toCount(size2, 1, this.leafCount(), 'size2');
    const m = toCount(size1, 1, n, 'size1');
    const out: Uint8Array[] = [];
    this.subproof(m, 0, n, true, out);
    return out;
  }

  private leafCount(): number {
    return this.row(0).length;
  }

  private row(level: number): Uint8Array[] {
    const row = this.levels[level];
    assert(row !== undefined, `no level ${level}`);
    return row;
  }

  private cached(level: number, index: number): Uint8Array {
    const hash = this.levels[level]?.[index];
    assert(hash !== undefined, `no complete subtree at level ${level} index ${index}`);
    return hash;
  }

  /**
   * MTH(D[start:start+count]) (RFC 9162 2.1.1). Callers only ask for the
   * subtrees the RFC recursion visits, whose start is a multiple of the
   * smallest power of two >= count; so a power-of-two count is one cached
   * node, and otherwise only the right child recurses: O(log count) hashes.
   */
  private subtreeHash(start: number, count: number): Uint8Array {
    assert(count >= 1 && start + count <= this.leafCount(), 'subtree outside the log');
    const level = exactLog2(count);
    if (level !== undefined) {
      assert(start % count === 0, 'unaligned complete subtree');
      return this.cached(level, start / count);
    }
    const k = splitPoint(count);
    return hashChildren(this.backend, this.subtreeHash(start, k), this.subtreeHash(start + k, count - k));
  }

  /** RFC 9162 2.1.3.1 PATH(m, D[start:start+n]), appending deepest node first. */
  private path(m: number, start: number, n: number, out: Uint8Array[]): void {
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      this.path(m, start, k, out);
      out.push(this.subtreeHash(start + k, n - k));
    } else {
      this.path(m - k, start + k, n - k, out);
      out.push(this.subtreeHash(start, k));
    }
  }

  /** RFC 9162 2.1.4.1 SUBPROOF(m, D[start:start+n], b), appending deepest node first. */
  private subproof(m: number, start: number, n: number, complete: boolean, out: Uint8Array[]): void {
    if (m === n) {
      if (!complete) out.push(this.subtreeHash(start, n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.subproof(m, start, k, complete, out);
      out.push(this.subtreeHash(start + k, n - k));
    } else {
      this.subproof(m - k, start + k, n - k, false, out);
      out.push(this.subtreeHash(start, k));
    }
  }
}

// ---------------------------------------------------------------------------
// Verification of untrusted proofs (RFC 9162 2.1.3.2 and 2.1.4.2).

export interface InclusionClaim {
  leafHash: Uint8Array;
  index: bigint;
  size: bigint;
  proof: readonly Uint8Array[];
  root: Uint8Array;
}

export interface ConsistencyClaim {
  size1: bigint;
  size2: bigint;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: readonly Uint8Array[];
}

type CommonFailure =
  | 'bad-claim'
  | 'bad-size-type'
  | 'size-out-of-range'
  | 'bad-proof-type'
  | 'proof-too-long'
  | 'wrong-proof-length'
  | 'bad-node-type'
  | 'bad-node-length'
  | 'bad-root-type'
  | 'bad-root-length'
  | 'root-mismatch';

export type InclusionFailure = CommonFailure | 'bad-index-type' | 'index-out-of-range' | 'bad-leaf-hash-type' | 'bad-leaf-hash-length';

export type ConsistencyFailure =
  | CommonFailure
  | 'size1-zero'
  | 'size1-greater-than-size2'
  | 'equal-sizes-need-empty-proof'
  | 'root1-mismatch'
  | 'root2-mismatch';

export type MerkleVerdict<Reason extends string> = { ok: true } | { ok: false; reason: Reason };

const OK = { ok: true } as const;

function fail<Reason extends string>(reason: Reason): { ok: false; reason: Reason } {
  return { ok: false, reason };
}

/** Reads the named fields once; getters and proxies that throw make the claim malformed. */
function readFields<K extends string>(claim: unknown, keys: readonly K[]): Record<K, unknown> | undefined {
  if (typeof claim !== 'object' || claim === null) return undefined;
  try {
    const out = {} as Record<K, unknown>;
    for (const key of keys) out[key] = (claim as Record<string, unknown>)[key];
    return out;
  } catch {
    return undefined;
  }
}

/** A private copy of untrusted bytes (so later mutation cannot race the check), or undefined. */
function copyBytes(value: unknown): Uint8Array | undefined {
  try {
    return value instanceof Uint8Array ? new Uint8Array(value) : undefined;
  } catch {
    return undefined;
  }
}

function inSizeRange(size: bigint): boolean {
  return size >= 0n && size <= limits.logSizeMax;
}

// Bit helpers for the proof-length rules; sizes are below 2^63, so at most 63 bits.
function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function popCount(x: bigint): number {
  return x.toString(2).split('1').length - 1;
}

/**
 * Length of PATH(index, D[0:size]) (RFC 9162 2.1.3.1): one node per level
 * below the point where the paths to `index` and to the last leaf part
 * ("inner"), then one per left sibling on the right border above it.
 */
function inclusionProofLength(index: bigint, size: bigint): number {
  const inner = bitLength(index ^ (size - 1n));
  return inner + popCount(index >> BigInt(inner));
}

/**
 * Length of PROOF(size1, D[0:size2]) for 0 < size1 < size2 (RFC 9162 2.1.4.1):
 * the inclusion path of the last node of the size1 tree at the height of its
 * lowest set bit, plus that node itself unless size1 is a power of two.
 */
function consistencyProofLength(size1: bigint, size2: bigint): number {
  const shift = BigInt(bitLength(size1 & -size1) - 1); // trailing zero bits of size1
  const length = inclusionProofLength((size1 - 1n) >> shift, ((size2 - 1n) >> shift) + 1n);
  return size1 === 1n << shift ? length : length + 1;
}

type ProofRead = { ok: true; nodes: Uint8Array[] } | { ok: false; reason: CommonFailure };

/** Checks the proof's shape: an array of exactly `expected` 32-byte nodes, copied. */
function readProof(value: unknown, expected: number): ProofRead {
  try {
    if (!Array.isArray(value)) return fail('bad-proof-type');
    const length: unknown = value.length;
    if (typeof length !== 'number') return fail('bad-proof-type');
    if (length > limits.logProofNodesMax) return fail('proof-too-long');
    if (length !== expected) return fail('wrong-proof-length');
    const nodes: Uint8Array[] = [];
    for (let i = 0; i < expected; i++) {
      const node = copyBytes(value[i]);
      if (node === undefined) return fail('bad-node-type');
      if (node.length !== limits.hashBytes) return fail('bad-node-length');
      nodes.push(node);
    }
    return { ok: true, nodes };
  } catch {
    return fail('bad-proof-type');
  }
}

type HashRead<R extends string> = { ok: true; hash: Uint8Array } | { ok: false; reason: R };

function readHash<R extends string>(value: unknown, typeReason: R, lengthReason: R): HashRead<R> {
  const hash = copyBytes(value);
  if (hash === undefined) return fail(typeReason);
  if (hash.length !== limits.hashBytes) return fail(lengthReason);
  return { ok: true, hash };
}

/** RFC 9162 2.1.3.2: verifies that `leafHash` is leaf `index` of the tree of `size` leaves with `root`. */
export function verifyInclusion(backend: CryptoBackend, claim: InclusionClaim): MerkleVerdict<InclusionFailure> {
  const f = readFields(claim, ['leafHash', 'index', 'size', 'proof', 'root'] as const);
  if (f === undefined) return fail('bad-claim');
  if (typeof f.size !== 'bigint') return fail('bad-size-type');
  if (typeof f.index !== 'bigint') return fail('bad-index-type');
  if (!inSizeRange(f.size)) return fail('size-out-of-range');
  // Step 1: leaf_index >= tree_size fails (this also refuses the empty tree).
  if (f.index < 0n || f.index >= f.size) return fail('index-out-of-range');
  const proof = readProof(f.proof, inclusionProofLength(f.index, f.size));
  if (!proof.ok) return proof;
  const leaf = readHash(f.leafHash, 'bad-leaf-hash-type', 'bad-leaf-hash-length');
  if (!leaf.ok) return leaf;
  const root = readHash(f.root, 'bad-root-type', 'bad-root-length');
  if (!root.ok) return root;
  return chainInclusion(backend, { index: f.index, size: f.size, leafHash: leaf.hash, proof: proof.nodes, root: root.hash });
}

/** RFC 9162 2.1.3.2 steps 2-5, on a claim whose shape is already checked. */
function chainInclusion(backend: CryptoBackend, claim: InclusionClaim): MerkleVerdict<InclusionFailure> {
  let fn = claim.index;
  let sn = claim.size - 1n;
  let r = claim.leafHash;
  for (const p of claim.proof) {
    if (sn === 0n) return fail('wrong-proof-length');
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(backend, p, r);
      while ((fn & 1n) === 0n && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      r = hashChildren(backend, r, p);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  if (sn !== 0n) return fail('wrong-proof-length');
  return equalBytes(r, claim.root) ? OK : fail('root-mismatch');
}

/** RFC 9162 2.1.4.2: verifies that the tree (size1, root1) is a prefix of the tree (size2, root2). */
export function verifyConsistency(backend: CryptoBackend, claim: ConsistencyClaim): MerkleVerdict<ConsistencyFailure> {
  const f = readFields(claim, ['size1', 'size2', 'root1', 'root2', 'proof'] as const);
  if (f === undefined) return fail('bad-claim');
  const { size1, size2 } = f;
  if (typeof size1 !== 'bigint' || typeof size2 !== 'bigint') return fail('bad-size-type');
  if (!inSizeRange(size1) || !inSizeRange(size2)) return fail('size-out-of-range');
  // A proof from the empty tree proves nothing (RFC 9162 2.1.4.1 needs 0 < first).
  if (size1 === 0n) return fail('size1-zero');
  if (size1 > size2) return fail('size1-greater-than-size2');
  if (size1 === size2) return verifyEqualSizes(f.proof, f.root1, f.root2);
  const proof = readProof(f.proof, consistencyProofLength(size1, size2));
  if (!proof.ok) return proof;
  const root1 = readHash(f.root1, 'bad-root-type', 'bad-root-length');
  if (!root1.ok) return root1;
  const root2 = readHash(f.root2, 'bad-root-type', 'bad-root-length');
  if (!root2.ok) return root2;
  return chainConsistency(backend, { size1, size2, proof: proof.nodes, root1: root1.hash, root2: root2.hash });
}

/**
 * Equal sizes: the proof must be empty and the roots byte-equal. No hash is
 * computed, so the roots are compared as opaque bytes of any length, as the
 * transparency-dev vectors require ("sizes are equal (one) and proof is empty").
 */
function verifyEqualSizes(untrustedProof: unknown, untrustedRoot1: unknown, untrustedRoot2: unknown): MerkleVerdict<ConsistencyFailure> {
  const proof = readProof(untrustedProof, 0);
  if (!proof.ok) return proof.reason === 'wrong-proof-length' ? fail('equal-sizes-need-empty-proof') : proof;
  const root1 = copyBytes(untrustedRoot1);
  const root2 = copyBytes(untrustedRoot2);
  if (root1 === undefined || root2 === undefined) return fail('bad-root-type');
  return equalBytes(root1, root2) ? OK : fail('root-mismatch');
}

/** RFC 9162 2.1.4.2 steps 2-7, for 0 < size1 < size2 and a proof of the expected length. */
function chainConsistency(backend: CryptoBackend, claim: ConsistencyClaim): MerkleVerdict<ConsistencyFailure> {
  const { size1, size2, root1, root2 } = claim;
  // Step 2: when size1 is a power of two, its root is the first node of the path.
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...claim.proof] : claim.proof;
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) [fn, sn] = [fn >> 1n, sn >> 1n];
  const [first, ...rest] = path;
  if (first === undefined) return fail('wrong-proof-length');
  let fr = first;
  let sr = first;
  for (const c of rest) {
    if (sn === 0n) return fail('wrong-proof-length');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(backend, c, fr);
      sr = hashChildren(backend, c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      sr = hashChildren(backend, sr, c);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  // Step 7: fr must equal root1, sr must equal root2, and the path must reach the top.
  if (sn !== 0n) return fail('wrong-proof-length');
  if (!equalBytes(fr, root1)) return fail('root1-mismatch');
  return equalBytes(sr, root2) ? OK : fail('root2-mismatch');
}
