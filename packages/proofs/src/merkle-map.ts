// The authenticated state map (DESIGN section 3): key -> (value, revision),
// with membership and non-membership proofs. A compact sparse Merkle tree in
// the style of Diem's Jellyfish Merkle tree: the 256-bit path of a key is
// SHA-256(utf8(key)); a subtree holding one key collapses into that key's
// leaf, so the tree is only ~log2(n) deep, and its shape (hence its root)
// depends only on the set of entries. Nodes are immutable and updates copy
// the path, so a snapshot is a pointer to a root. Spec: docs/merkle-map.md.

import { equalBytes, compareBytes, utf8 } from './bytes';
import { encodeCanonical, isWellFormedText } from './canonical';
import { type CryptoBackend } from './crypto-backend';
import { assert } from './assert';
import { limits } from './limits';

export type MapEntry = { value: Uint8Array; revision: bigint };

export type MapProofTerminal = { kind: 'empty' } | { kind: 'leaf'; path: Uint8Array; entryHash: Uint8Array };

/** Siblings from the root downward; the search for the key stopped at depth `siblings.length`. */
export type MapProof = { siblings: Uint8Array[]; terminal: MapProofTerminal };

// Prefixes 0x02/0x03 keep map nodes apart from Merkle-log nodes (RFC 9162 uses 0x00/0x01).
const LEAF_PREFIX = Uint8Array.of(0x02);
const INTERNAL_PREFIX = Uint8Array.of(0x03);
const EMPTY_HASH = new Uint8Array(limits.hashBytes);
// The canonical encoding carries integers up to 64 bits.
// Below 2^63, like every 64-bit quantity on the JSON wire (wire.ts u63String).
const REVISION_MAX = (1n << 63n) - 1n;

// ---- Hashes (docs/merkle-map.md section 1) ----

export function mapKeyPath(backend: CryptoBackend, key: string): Uint8Array {
  return backend.sha256(utf8(key));
}

/**
 * Paths of keys already checked by requireKey, per backend. Execution looks one key up four or
 * five times per request (revision, presence, the write, the prefix index), each a UTF-8
 * round trip and a SHA-256. Bounded: cleared when full. The paths are shared, never mutated.
 */
const PATH_MEMO_ENTRIES_MAX = 16_384;
const pathMemos = new WeakMap<CryptoBackend, Map<string, Uint8Array>>();

function checkedPath(backend: CryptoBackend, key: string): Uint8Array {
  let memo = pathMemos.get(backend);
  if (memo === undefined) {
    memo = new Map();
    pathMemos.set(backend, memo);
  }
  const known = memo.get(key);
  if (known !== undefined) return known;
  const path = backend.sha256(requireKey(key));
  if (memo.size >= PATH_MEMO_ENTRIES_MAX) memo.clear();
  memo.set(key, path);
  return path;
}

/** Binds key, value and revision, so a proof for one entry never passes for another. */
export function mapEntryHash(backend: CryptoBackend, key: string, entry: MapEntry): Uint8Array {
  return backend.sha256(encodeCanonical({ key, revision: entry.revision, value: entry.value }));
}

export function mapLeafHash(backend: CryptoBackend, path: Uint8Array, entryHash: Uint8Array): Uint8Array {
  return backend.sha256(LEAF_PREFIX, path, entryHash);
}

export function mapInternalHash(backend: CryptoBackend, left: Uint8Array, right: Uint8Array): Uint8Array {
  return backend.sha256(INTERNAL_PREFIX, left, right);
}

/** Bit `depth` of a path, most significant bit of byte 0 first; 0 means "go left". */
function pathBit(path: Uint8Array, depth: number): 0 | 1 {
  return (((path[depth >> 3] as number) >> (7 - (depth & 7))) & 1) as 0 | 1;
}

function sharesPrefix(a: Uint8Array, b: Uint8Array, bitCount: number): boolean {
  for (let depth = 0; depth < bitCount; depth++) if (pathBit(a, depth) !== pathBit(b, depth)) return false;
  return true;
}

// ---- Input rules shared by the map (which throws) and the verifiers (which report) ----

/** The key's UTF-8 bytes, or undefined. Lone surrogates are refused: two strings must never share one encoding. */
function keyBytesOf(key: unknown): Uint8Array | undefined {
  // A lone surrogate is checked on the string (the encoder would turn it into U+FFFD), not by decoding the bytes again.
  if (typeof key !== 'string' || key.length === 0 || key.length > limits.mapKeyBytesMax || !isWellFormedText(key)) return undefined;
  const bytes = utf8(key);
  if (bytes.length > limits.mapKeyBytesMax) return undefined;
  return bytes;
}

function isValue(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length <= limits.mapValueBytesMax;
}

function isRevision(revision: unknown): revision is bigint {
  return typeof revision === 'bigint' && revision >= 1n && revision <= REVISION_MAX;
}

function requireKey(key: string): Uint8Array {
  const bytes = keyBytesOf(key);
  if (bytes === undefined) throw new RangeError(`merkle-map: key must be well-formed UTF-8 of 1..${limits.mapKeyBytesMax} bytes`);
  return bytes;
}

/** A private copy of an entry the map would store; throws RangeError as `with` does for one it would not. */
export function checkedMapEntry(entry: MapEntry): MapEntry {
  return requireEntry(entry);
}

function requireEntry(entry: MapEntry): MapEntry {
  if (!isValue(entry.value)) throw new RangeError(`merkle-map: value must be a Uint8Array of at most ${limits.mapValueBytesMax} bytes`);
  if (!isRevision(entry.revision)) throw new RangeError('merkle-map: revision must be a bigint in 1..2^63-1');
  // A private copy: a caller mutating its array later must not desync value and hash.
  return { value: new Uint8Array(entry.value), revision: entry.revision };
}

// ---- Immutable nodes ----

// Never mutated after construction, so versions can share them freely.
type EmptyNode = { readonly kind: 'empty'; readonly hash: Uint8Array };
type LeafNode = {
  readonly kind: 'leaf'; readonly hash: Uint8Array; readonly path: Uint8Array; readonly entryHash: Uint8Array; readonly key: string; readonly entry: MapEntry;
};
type InternalNode = { readonly kind: 'internal'; readonly hash: Uint8Array; readonly left: TreeNode; readonly right: TreeNode };
type TreeNode = EmptyNode | LeafNode | InternalNode;

const EMPTY_NODE: EmptyNode = { kind: 'empty', hash: EMPTY_HASH };

function makeLeaf(backend: CryptoBackend, key: string, path: Uint8Array, entry: MapEntry): LeafNode {
  const entryHash = mapEntryHash(backend, key, entry);
  return { kind: 'leaf', hash: mapLeafHash(backend, path, entryHash), path, entryHash, key, entry };
}

function makeInternal(backend: CryptoBackend, left: TreeNode, right: TreeNode): InternalNode {
  return { kind: 'internal', hash: mapInternalHash(backend, left.hash, right.hash), left, right };
}

/**
 * The canonical parent of two canonical children. A subtree holds exactly one
 * key iff its node is a leaf, so "one side empty, other side a leaf" means the
 * parent holds one key and must be that leaf (the shape rule).
 */
function joinChildren(backend: CryptoBackend, left: TreeNode, right: TreeNode): TreeNode {
  if (left.kind === 'empty' && right.kind !== 'internal') return right;
  if (right.kind === 'empty' && left.kind === 'leaf') return left;
  return makeInternal(backend, left, right);
}

/** Two distinct leaves meeting at `depth`: internal nodes down to the first bit where their paths differ. */
function splitLeaves(backend: CryptoBackend, a: LeafNode, b: LeafNode, depth: number): InternalNode {
  assert(depth < limits.mapDepthMax, 'merkle-map: two distinct paths agree on all 256 bits');
  const bitA = pathBit(a.path, depth);
  if (bitA !== pathBit(b.path, depth)) return bitA === 0 ? makeInternal(backend, a, b) : makeInternal(backend, b, a);
  const below = splitLeaves(backend, a, b, depth + 1);
  return bitA === 0 ? makeInternal(backend, below, EMPTY_NODE) : makeInternal(backend, EMPTY_NODE, below);
}

function insertLeaf(backend: CryptoBackend, node: TreeNode, leaf: LeafNode, depth: number): TreeNode {
  if (node.kind === 'empty') return leaf;
  if (node.kind === 'leaf') {
    if (!equalBytes(node.path, leaf.path)) return splitLeaves(backend, node, leaf, depth);
    assert(node.key === leaf.key, 'merkle-map: SHA-256 collision between two keys');
    return leaf;
  }
  return pathBit(leaf.path, depth) === 0
    ? makeInternal(backend, insertLeaf(backend, node.left, leaf, depth + 1), node.right)
    : makeInternal(backend, node.left, insertLeaf(backend, node.right, leaf, depth + 1));
}

/** Returns `node` itself when the key is absent, so a no-op delete hashes nothing. */
function removePath(backend: CryptoBackend, node: TreeNode, path: Uint8Array, depth: number): TreeNode {
  if (node.kind === 'empty') return node;
  if (node.kind === 'leaf') return equalBytes(node.path, path) ? EMPTY_NODE : node;
  const goLeft = pathBit(path, depth) === 0;
  const child = goLeft ? node.left : node.right;
  const newChild = removePath(backend, child, path, depth + 1);
  if (newChild === child) return node;
  return goLeft ? joinChildren(backend, newChild, node.right) : joinChildren(backend, node.left, newChild);
}

/** Bulk build from leaves sorted by path: the keys under a prefix are contiguous, so split at the first 1 bit. */
function buildSorted(backend: CryptoBackend, leaves: readonly LeafNode[], lo: number, hi: number, depth: number): TreeNode {
  if (hi - lo === 0) return EMPTY_NODE;
  if (hi - lo === 1) return leaves[lo] as LeafNode;
  assert(depth < limits.mapDepthMax, 'merkle-map: duplicate path in bulk build');
  let mid = lo;
  while (mid < hi && pathBit((leaves[mid] as LeafNode).path, depth) === 0) mid++;
  return makeInternal(backend, buildSorted(backend, leaves, lo, mid, depth + 1), buildSorted(backend, leaves, mid, hi, depth + 1));
}

/** One change of a batched update: a new leaf, or the removal of a path. Sorted by path, paths distinct. */
type PathChange = { path: Uint8Array; leaf: LeafNode | undefined };

/**
 * Applies sorted, distinct changes to the subtree `node` at `depth` in one pass: every inner node
 * on the changed paths is hashed once, however many changes pass through it. Gives the same
 * tree as applying the changes one by one (the shape depends only on the set of entries).
 */
function updateSorted(backend: CryptoBackend, node: TreeNode, changes: readonly PathChange[], lo: number, hi: number, depth: number): TreeNode {
  if (lo === hi) return node;
  if (node.kind !== 'internal') {
    // Below here the subtree is rebuilt from its leaves: the one it had (unless changed) and the new ones.
    const leaves: LeafNode[] = [];
    let kept = node.kind === 'leaf';
    for (let i = lo; i < hi; i++) {
      const change = changes[i] as PathChange;
      if (kept && equalBytes(change.path, (node as LeafNode).path)) {
        assert(change.leaf === undefined || change.leaf.key === (node as LeafNode).key, 'merkle-map: SHA-256 collision between two keys');
        kept = false;
      }
      if (change.leaf !== undefined) leaves.push(change.leaf);
    }
    if (kept) {
      const old = node as LeafNode;
      let at = 0;
      while (at < leaves.length && compareBytes((leaves[at] as LeafNode).path, old.path) < 0) at++;
      leaves.splice(at, 0, old);
    }
    return buildSorted(backend, leaves, 0, leaves.length, depth);
  }
  let mid = lo;
  while (mid < hi && pathBit((changes[mid] as PathChange).path, depth) === 0) mid++;
  const left = updateSorted(backend, node.left, changes, lo, mid, depth + 1);
  const right = updateSorted(backend, node.right, changes, mid, hi, depth + 1);
  if (left === node.left && right === node.right) return node;
  return joinChildren(backend, left, right);
}

function findLeaf(root: TreeNode, path: Uint8Array): LeafNode | undefined {
  let node = root;
  for (let depth = 0; node.kind === 'internal'; depth++) node = pathBit(path, depth) === 0 ? node.left : node.right;
  return node.kind === 'leaf' && equalBytes(node.path, path) ? node : undefined;
}

/** The walk from the root toward a path: the siblings passed and the node where it stopped (a leaf, possibly another key's, or empty). */
function descend(root: TreeNode, path: Uint8Array): { siblings: Uint8Array[]; stop: LeafNode | EmptyNode } {
  const siblings: Uint8Array[] = [];
  let node = root;
  for (let depth = 0; node.kind === 'internal'; depth++) {
    const goLeft = pathBit(path, depth) === 0;
    siblings.push((goLeft ? node.right : node.left).hash.slice());
    node = goLeft ? node.left : node.right;
  }
  return { siblings, stop: node };
}

function proofOf(siblings: Uint8Array[], stop: LeafNode | EmptyNode): MapProof {
  const terminal: MapProofTerminal = stop.kind === 'leaf' ? { kind: 'leaf', path: stop.path.slice(), entryHash: stop.entryHash.slice() } : { kind: 'empty' };
  return { siblings, terminal };
}

function proveIn(root: TreeNode, path: Uint8Array): MapProof {
  const { siblings, stop } = descend(root, path);
  return proofOf(siblings, stop);
}

/** The key's entry (undefined when absent) and its proof, from one walk: what a read answer carries. */
function readIn(root: TreeNode, path: Uint8Array): { entry: MapEntry | undefined; proof: MapProof } {
  const { siblings, stop } = descend(root, path);
  const entry = stop.kind === 'leaf' && equalBytes(stop.path, path) ? copyEntry(stop.entry) : undefined;
  return { entry, proof: proofOf(siblings, stop) };
}

function* walkLeaves(node: TreeNode): Generator<LeafNode> {
  if (node.kind === 'leaf') yield node;
  if (node.kind !== 'internal') return;
  yield* walkLeaves(node.left);
  yield* walkLeaves(node.right);
}

function copyEntry(entry: MapEntry): MapEntry {
  return { value: entry.value.slice(), revision: entry.revision };
}

// ---- The map ----

/**
 * One immutable version of the map: a persistent map whose `with`/`without`
 * return new versions sharing all untouched nodes. It never changes.
 */
export class MerkleMapSnapshot {
  private constructor(
    private readonly backend: CryptoBackend,
    private readonly rootNode: TreeNode,
    readonly size: number,
  ) {}

  static empty(backend: CryptoBackend): MerkleMapSnapshot {
    return new MerkleMapSnapshot(backend, EMPTY_NODE, 0);
  }

  /** Bulk build with ~4.4n hashes; gives the same root as inserting the entries one by one. Duplicate keys throw. */
  static fromEntries(backend: CryptoBackend, entries: Iterable<readonly [string, MapEntry]>): MerkleMapSnapshot {
    const leaves: LeafNode[] = [];
    for (const [key, entry] of entries) {
      const path = backend.sha256(requireKey(key));
      leaves.push(makeLeaf(backend, key, path, requireEntry(entry)));
    }
    leaves.sort((a, b) => compareBytes(a.path, b.path));
    for (let i = 1; i < leaves.length; i++) {
      if (equalBytes((leaves[i - 1] as LeafNode).path, (leaves[i] as LeafNode).path)) throw new RangeError('merkle-map: duplicate key in fromEntries');
    }
    return new MerkleMapSnapshot(backend, buildSorted(backend, leaves, 0, leaves.length, 0), leaves.length);
  }

  /** The root hash (a copy: callers may keep or mutate it). */
  get root(): Uint8Array {
    return this.rootNode.hash.slice();
  }

  get(key: string): MapEntry | undefined {
    const leaf = findLeaf(this.rootNode, checkedPath(this.backend, key));
    return leaf === undefined ? undefined : copyEntry(leaf.entry);
  }

  has(key: string): boolean {
    return findLeaf(this.rootNode, checkedPath(this.backend, key)) !== undefined;
  }

  /** A membership proof if the key is present, else a non-membership proof. */
  prove(key: string): MapProof {
    return proveIn(this.rootNode, checkedPath(this.backend, key));
  }

  /** The entry (undefined when absent) and its membership or non-membership proof, from one walk of the tree. */
  read(key: string): { entry: MapEntry | undefined; proof: MapProof } {
    return readIn(this.rootNode, checkedPath(this.backend, key));
  }

  /** Entries in path order (the order of leaves in the tree), not key order. */
  *entries(): Generator<[string, MapEntry]> {
    for (const leaf of walkLeaves(this.rootNode)) yield [leaf.key, copyEntry(leaf.entry)];
  }

  /** This version plus `key -> entry` (inserted or replaced), hashing O(depth) nodes. */
  with(key: string, entry: MapEntry): MerkleMapSnapshot {
    const path = checkedPath(this.backend, key);
    const leaf = makeLeaf(this.backend, key, path, requireEntry(entry));
    const added = findLeaf(this.rootNode, path) === undefined ? 1 : 0;
    return new MerkleMapSnapshot(this.backend, insertLeaf(this.backend, this.rootNode, leaf, 0), this.size + added);
  }

  /** Throws the RangeError `with` throws for a key the map refuses; otherwise remembers its path, which `with` and `withChanges` then reuse. */
  checkKey(key: string): void {
    checkedPath(this.backend, key);
  }

  /** This version without `key`; `this` itself when the key is absent. */
  without(key: string): MerkleMapSnapshot {
    const newRoot = removePath(this.backend, this.rootNode, checkedPath(this.backend, key), 0);
    return newRoot === this.rootNode ? this : new MerkleMapSnapshot(this.backend, newRoot, this.size - 1);
  }

  /**
   * This version with every change applied at once (an entry sets the key, null removes it; removing
   * an absent key changes nothing): each inner node on the changed paths is hashed once, so a
   * block's writes cost far fewer hashes than one `with` each. Same root as applying them one by one.
   */
  withChanges(changes: ReadonlyMap<string, MapEntry | null>): MerkleMapSnapshot {
    const sorted: PathChange[] = [];
    let size = this.size;
    for (const [key, entry] of changes) {
      const path = checkedPath(this.backend, key);
      const present = findLeaf(this.rootNode, path) !== undefined;
      if (entry === null) {
        if (!present) continue;
        size--;
        sorted.push({ path, leaf: undefined });
      } else {
        if (!present) size++;
        sorted.push({ path, leaf: makeLeaf(this.backend, key, path, requireEntry(entry)) });
      }
    }
    if (sorted.length === 0) return this;
    sorted.sort((a, b) => compareBytes(a.path, b.path));
    return new MerkleMapSnapshot(this.backend, updateSorted(this.backend, this.rootNode, sorted, 0, sorted.length, 0), size);
  }
}

/**
 * The mutable handle over immutable versions. Each `set`/`delete` hashes
 * O(depth) nodes and swaps in a new version; `snapshot()` is free.
 */
export class MerkleMap {
  private current: MerkleMapSnapshot;

  constructor(backend: CryptoBackend) {
    this.current = MerkleMapSnapshot.empty(backend);
  }

  /** Bulk build with ~4.4n hashes; same root as inserting one by one. Duplicate keys throw. */
  static fromEntries(backend: CryptoBackend, entries: Iterable<readonly [string, MapEntry]>): MerkleMap {
    const map = new MerkleMap(backend);
    map.current = MerkleMapSnapshot.fromEntries(backend, entries);
    return map;
  }

  // Reads go to the current version (see MerkleMapSnapshot).
  get root(): Uint8Array { return this.current.root; }
  get size(): number { return this.current.size; }
  get(key: string): MapEntry | undefined { return this.current.get(key); }
  has(key: string): boolean { return this.current.has(key); }
  prove(key: string): MapProof { return this.current.prove(key); }
  read(key: string): { entry: MapEntry | undefined; proof: MapProof } { return this.current.read(key); }
  entries(): Generator<[string, MapEntry]> { return this.current.entries(); }

  /** The current version; it never changes, however the map changes later. */
  snapshot(): MerkleMapSnapshot {
    return this.current;
  }

  /** Inserts or replaces. Revisions are the caller's business (any value in 1..2^63-1 is accepted). */
  set(key: string, entry: MapEntry): void {
    this.current = this.current.with(key, entry);
  }

  /** Removes the key; returns whether it was present. Restores exactly the root the map had without it. */
  delete(key: string): boolean {
    const before = this.current;
    this.current = before.without(key);
    return this.current !== before;
  }
}

// ---- Verification of untrusted proofs (docs/merkle-map.md sections 5 and 6) ----

/** Rules every proof must pass before any hashing. */
export type MapProofFormRejection = 'malformed' | 'bad-root' | 'bad-key' | 'bad-proof' | 'proof-too-deep' | 'non-canonical-proof';
export type MapMembershipRejection = MapProofFormRejection | 'bad-value' | 'bad-revision' | 'key-absent' | 'other-key' | 'entry-mismatch' | 'root-mismatch';
export type MapNonMembershipRejection = MapProofFormRejection | 'key-present' | 'leaf-off-path' | 'root-mismatch';
export type MapVerifyResult<R extends string> = { ok: true } | { ok: false; reason: R };

export type MembershipClaim = { root: Uint8Array; key: string; entry: MapEntry; proof: MapProof };
export type NonMembershipClaim = { root: Uint8Array; key: string; proof: MapProof };
type CheckedClaim = { root: Uint8Array; key: string; keyBytes: Uint8Array; proof: MapProof };

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === limits.hashBytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function readTerminal(terminal: unknown): MapProofTerminal | undefined {
  if (!isRecord(terminal)) return undefined;
  if (terminal.kind === 'empty') return { kind: 'empty' };
  const { kind, path, entryHash } = terminal;
  if (kind !== 'leaf' || !isHash(path) || !isHash(entryHash)) return undefined;
  return { kind: 'leaf', path: new Uint8Array(path), entryHash: new Uint8Array(entryHash) };
}

/**
 * Shape rules a proof from a canonical tree always meets. If the last sibling
 * is EMPTY, the terminal's parent held at most one key and would have
 * collapsed into it; a node at depth 256 can only be a leaf, since two
 * distinct 256-bit paths always split above it.
 */
function isCanonicalShape(siblings: readonly Uint8Array[], terminal: MapProofTerminal): boolean {
  const last = siblings[siblings.length - 1];
  if (last !== undefined && equalBytes(last, EMPTY_HASH)) return false;
  return !(terminal.kind === 'empty' && siblings.length === limits.mapDepthMax);
}

function readProof(untrustedProof: unknown): MapProof | MapProofFormRejection {
  if (!isRecord(untrustedProof) || !Array.isArray(untrustedProof.siblings)) return 'bad-proof';
  const untrustedSiblings: unknown[] = untrustedProof.siblings;
  if (untrustedSiblings.length > limits.mapDepthMax) return 'proof-too-deep';
  const siblings: Uint8Array[] = [];
  for (let i = 0; i < untrustedSiblings.length; i++) {
    const sibling = untrustedSiblings[i];
    if (!isHash(sibling)) return 'bad-proof';
    siblings.push(new Uint8Array(sibling));
  }
  const terminal = readTerminal(untrustedProof.terminal);
  if (terminal === undefined) return 'bad-proof';
  return isCanonicalShape(siblings, terminal) ? { siblings, terminal } : 'non-canonical-proof';
}

/**
 * Reads and copies the untrusted fields into plain values, so hostile getters
 * or later mutation cannot reach the hashing. Anything that throws here is malformed.
 */
function readClaim(untrusted: unknown): CheckedClaim | MapProofFormRejection {
  try {
    if (!isRecord(untrusted)) return 'malformed';
    const { root, key, proof } = untrusted;
    if (!isHash(root)) return 'bad-root';
    const keyBytes = keyBytesOf(key);
    if (keyBytes === undefined) return 'bad-key';
    const checkedProof = readProof(proof);
    if (typeof checkedProof === 'string') return checkedProof;
    return { root: new Uint8Array(root), key: key as string, keyBytes, proof: checkedProof };
  } catch {
    return 'malformed';
  }
}

function readEntry(untrusted: unknown): MapEntry | 'malformed' | 'bad-value' | 'bad-revision' {
  try {
    if (!isRecord(untrusted) || !isRecord(untrusted.entry)) return 'malformed';
    const { value, revision } = untrusted.entry;
    if (!isValue(value)) return 'bad-value';
    if (!isRevision(revision)) return 'bad-revision';
    return { value: new Uint8Array(value), revision };
  } catch {
    return 'malformed';
  }
}

/** Hashes from the terminal up to the root, taking the side each level from the key's path. */
function foldToRoot(backend: CryptoBackend, keyPath: Uint8Array, siblings: readonly Uint8Array[], terminalHash: Uint8Array): Uint8Array {
  let hash = terminalHash;
  for (let depth = siblings.length - 1; depth >= 0; depth--) {
    const sibling = siblings[depth] as Uint8Array;
    hash = pathBit(keyPath, depth) === 0 ? mapInternalHash(backend, hash, sibling) : mapInternalHash(backend, sibling, hash);
  }
  return hash;
}

function terminalHash(backend: CryptoBackend, terminal: MapProofTerminal): Uint8Array {
  return terminal.kind === 'leaf' ? mapLeafHash(backend, terminal.path, terminal.entryHash) : EMPTY_HASH;
}

/** Checks that `entry` is stored under `key` in the map with root `root`. Never throws on any input. */
export function verifyMembership(backend: CryptoBackend, untrustedClaim: MembershipClaim): MapVerifyResult<MapMembershipRejection> {
  const claim = readClaim(untrustedClaim);
  if (typeof claim === 'string') return { ok: false, reason: claim };
  const entry = readEntry(untrustedClaim);
  if (typeof entry === 'string') return { ok: false, reason: entry };
  const { terminal, siblings } = claim.proof;
  if (terminal.kind === 'empty') return { ok: false, reason: 'key-absent' };
  const keyPath = backend.sha256(claim.keyBytes);
  if (!equalBytes(terminal.path, keyPath)) return { ok: false, reason: 'other-key' };
  if (!equalBytes(terminal.entryHash, mapEntryHash(backend, claim.key, entry))) return { ok: false, reason: 'entry-mismatch' };
  const root = foldToRoot(backend, keyPath, siblings, terminalHash(backend, terminal));
  return equalBytes(root, claim.root) ? { ok: true } : { ok: false, reason: 'root-mismatch' };
}

/**
 * Checks that `key` is absent from the map with root `root`: the search for
 * its path ends at an EMPTY node, or at the leaf of another key that sits
 * alone under the first `siblings.length` bits the two paths share. Never throws.
 */
export function verifyNonMembership(backend: CryptoBackend, untrustedClaim: NonMembershipClaim): MapVerifyResult<MapNonMembershipRejection> {
  const claim = readClaim(untrustedClaim);
  if (typeof claim === 'string') return { ok: false, reason: claim };
  const { terminal, siblings } = claim.proof;
  const keyPath = backend.sha256(claim.keyBytes);
  if (terminal.kind === 'leaf') {
    if (equalBytes(terminal.path, keyPath)) return { ok: false, reason: 'key-present' };
    if (!sharesPrefix(terminal.path, keyPath, siblings.length)) return { ok: false, reason: 'leaf-off-path' };
  }
  const root = foldToRoot(backend, keyPath, siblings, terminalHash(backend, terminal));
  return equalBytes(root, claim.root) ? { ok: true } : { ok: false, reason: 'root-mismatch' };
}
