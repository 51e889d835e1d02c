// The prefix index (docs/merkle-map.md section 8): for each '/'-terminated
// prefix P of a user key, up to the genesis policy's prefixIndexDepth
// segments, the state map holds at the reserved key `\0dir/P` the number of
// live keys under P and the number of key changes ever made under P. A
// local view (client-sdk view.ts) proves with them that it holds every key
// under P (it holds that many keys, each proven present) and that it saw
// every change (it applied that many distinct changes, each proven in the
// certified log). The executor adds one batch's deltas per prefix at the end
// of the batch, so a write costs one map update per indexed prefix per block,
// not per request, and never anything proportional to the namespace.

import { type CanonicalValue, decodeCanonical, encodeCanonical } from '@vcr/proofs';
import { RESERVED_KEY_PREFIX } from './keys';


const INDEX_KEY_PREFIX = `${RESERVED_KEY_PREFIX}dir/`;

/** One prefix's counts: live keys under it, and changes made under it since genesis. */
export interface PrefixCounts {
  keys: bigint;
  changes: bigint;
}

/** The reserved state-map key of a prefix's counts. */
export function prefixIndexKey(prefix: string): string {
  return INDEX_KEY_PREFIX + prefix;
}

/**
 * The indexed prefixes of a user key, shortest first: each '/'-terminated
 * prefix with at most `depth` segments ('a/b/c' at depth 4: 'a/', 'a/b/').
 */
export function indexedPrefixesOf(key: string, depth: number): string[] {
  const out: string[] = [];
  for (let i = key.indexOf('/'); i >= 0 && out.length < depth; i = key.indexOf('/', i + 1)) out.push(key.slice(0, i + 1));
  return out;
}

/** How many segments a view prefix has ('a/b/' has 2); 0 for a prefix that does not end in '/'. */
export function prefixDepth(prefix: string): number {
  if (!prefix.endsWith('/')) return 0;
  let segments = 0;
  for (const ch of prefix) if (ch === '/') segments++;
  return segments;
}

export function encodePrefixCounts(counts: PrefixCounts): Uint8Array {
  return encodeCanonical({ keys: counts.keys, changes: counts.changes });
}

function readCount(value: CanonicalValue | undefined): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n ? value : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  return undefined;
}

/** The counts in an index leaf's value, or undefined for bytes of another shape. Never throws. */
export function decodePrefixCounts(bytes: Uint8Array): PrefixCounts | undefined {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) return undefined;
  const value = decoded.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return undefined;
  const fields = value as Record<string, CanonicalValue>;
  if (Object.keys(fields).length !== 2) return undefined;
  const keys = readCount(fields.keys);
  const changes = readCount(fields.changes);
  if (keys === undefined || changes === undefined) return undefined;
  // An honest executor never has more live keys than changes: each key was created by a change.
  return keys <= changes ? { keys, changes } : undefined;
}

/**
 * A batch's deltas per prefix, added to as requests execute and written once
 * at the end of the batch (`entries`, in first-touched order; the map's root
 * does not depend on the order of writes anyway).
 */
export class PrefixIndexDelta {
  private readonly deltas = new Map<string, { keys: bigint; changes: bigint }>();

  constructor(private readonly depth: number) {}

  /** One key change (the last op of one request on `key`); `wasPresent`/`isPresent` around the request. */
  add(key: string, wasPresent: boolean, isPresent: boolean): void {
    const keys = (isPresent ? 1n : 0n) - (wasPresent ? 1n : 0n);
    for (const prefix of indexedPrefixesOf(key, this.depth)) {
      const d = this.deltas.get(prefix) ?? { keys: 0n, changes: 0n };
      d.keys += keys;
      d.changes += 1n;
      this.deltas.set(prefix, d);
    }
  }

  get size(): number {
    return this.deltas.size;
  }

  entries(): IterableIterator<[string, { keys: bigint; changes: bigint }]> {
    return this.deltas.entries();
  }
}
