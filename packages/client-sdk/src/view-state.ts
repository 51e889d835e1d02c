// The checks that make a local view complete and current (docs/merkle-map.md
// section 8), synchronous and I/O-free: a load page's keys against its
// certified state root, the prefix index entry against it, and a set of
// verified changes applied up to a head whose index counts must come out
// exactly. Applying is all or nothing: a failed check undoes every change it
// made, before any reader can run (nothing here awaits).

import { type BlockHeader, compareBytes, type CryptoBackend, type MapProof, utf8 } from '@vcr/proofs';
import { type CompiledFlag, compileFlag, decodePrefixCounts, type ParsedValue, parseTypedValue, type PrefixCounts, prefixIndexKey } from '@vcr/registry';
import { type Check, type VerifiedChange, verifyEntry } from './verify';
import type { UntrustedPrefixIndex } from './wire';

/** One key of a view: its verified bytes, revision, the bytes classified once (typed values), and a flag compiled once. */
export interface ViewEntry {
  value: Uint8Array;
  revision: bigint;
  parsed: ParsedValue;
  /** The flag ready to evaluate (compileFlag), when the value is a valid flag: made when the entry arrives, not per evaluation. */
  flag: CompiledFlag | undefined;
}

export function viewEntryOf(key: string, value: Uint8Array, revision: bigint): ViewEntry {
  const parsed = parseTypedValue(value);
  const flag = parsed.kind === 'typed' && parsed.value.type === 'flag' ? compileFlag(key, parsed.value) : undefined;
  return { value, revision, parsed, flag };
}

/** The prefix's counts at `header`, proven by the index entry's membership (or absence: no key was ever under it). */
export function verifyPrefixIndex(backend: CryptoBackend, header: BlockHeader, prefix: string, index: UntrustedPrefixIndex): Check<PrefixCounts> {
  const proven = verifyEntry(backend, header, prefixIndexKey(prefix), index.entry, index.proof);
  if (!proven.ok) return { ok: false, detail: `prefix index: ${proven.detail}` };
  if (proven.value === undefined) return { ok: true, value: { keys: 0n, changes: 0n } };
  const counts = decodePrefixCounts(proven.value.value);
  return counts === undefined ? { ok: false, detail: 'prefix index entry is malformed' } : { ok: true, value: counts };
}

export interface UntrustedViewKey {
  key: string;
  value: Uint8Array;
  revision: bigint;
  proof: MapProof;
}

/** A load page's keys: under the prefix, strictly increasing after the cursor, each proven present at `header`. */
export function verifyKeysPage(backend: CryptoBackend, header: BlockHeader, prefix: string, after: string | undefined, keys: readonly UntrustedViewKey[]): Check<{ key: string; entry: ViewEntry }[]> {
  const out: { key: string; entry: ViewEntry }[] = [];
  let previous = after;
  for (const item of keys) {
    const name = JSON.stringify(item.key.slice(0, 64));
    if (!item.key.startsWith(prefix)) return { ok: false, detail: `key ${name} is outside the prefix` };
    if (previous !== undefined && compareBytes(utf8(previous), utf8(item.key)) >= 0) return { ok: false, detail: 'keys are not in strictly increasing order after the cursor' };
    const proven = verifyEntry(backend, header, item.key, { value: item.value, revision: item.revision }, item.proof);
    if (!proven.ok || proven.value === undefined) return { ok: false, detail: `${name}: ${proven.ok ? 'absent' : proven.detail}` };
    out.push({ key: item.key, entry: viewEntryOf(item.key, item.value, item.revision) });
    previous = item.key;
  }
  return { ok: true, value: out };
}

/** What the entries already reflect: for a key, the log size below which its changes are in (its load page's). */
export type FloorOf = (key: string) => bigint;

export interface AdvanceInput {
  prefix: string;
  /** Changes from this log index on are in the window (the head the view was at, or the first load page's log size). */
  windowStart: bigint;
  /** The index's change count at windowStart. */
  baseChanges: bigint;
  /** Verified changes (verifyChange), in log order, distinct (log index, key). */
  changes: readonly VerifiedChange[];
  /** The head the window ends at, and its index counts (verifyPrefixIndex). */
  head: BlockHeader;
  counts: PrefixCounts;
  floorOf: FloorOf;
}

/**
 * Applies the changes to `entries` (in place) and checks the result against
 * the head's index: every change inside [windowStart, head.logSize), as many
 * as the change count grew by, and as many keys as the index counts. On any
 * failure `entries` is exactly as it was. Returns the keys whose entry changed.
 */
export function advanceEntries(entries: Map<string, ViewEntry>, input: AdvanceInput): Check<string[]> {
  const { prefix, windowStart, head, counts } = input;
  if (head.logSize < windowStart) return { ok: false, detail: `head log size ${head.logSize} is below the view's ${windowStart}: it moves backwards` };
  if (counts.changes < input.baseChanges) return { ok: false, detail: 'the prefix index counts fewer changes than before' };
  const due = counts.changes - input.baseChanges;
  if (BigInt(input.changes.length) !== due) {
    return { ok: false, detail: `${input.changes.length} changes under ${JSON.stringify(prefix)} between log sizes ${windowStart} and ${head.logSize}, the certified index counts ${due}: changes were left out or added` };
  }
  const undo = new Map<string, ViewEntry | undefined>();
  const changed: string[] = [];
  let last: VerifiedChange | undefined;
  const rollBack = (detail: string): Check<string[]> => {
    for (const [key, old] of undo) {
      if (old === undefined) entries.delete(key);
      else entries.set(key, old);
    }
    return { ok: false, detail };
  };
  for (const change of input.changes) {
    if (!change.key.startsWith(prefix)) return rollBack('a change is outside the prefix');
    if (change.logIndex < windowStart || change.logIndex >= head.logSize) return rollBack(`change at log index ${change.logIndex} is outside the window [${windowStart}, ${head.logSize})`);
    if (last !== undefined && (change.logIndex < last.logIndex || (change.logIndex === last.logIndex && change.key <= last.key))) return rollBack('changes are not in strictly increasing log order');
    last = change;
    // The load page of this key was read after this change: it already holds its effect.
    if (change.logIndex < input.floorOf(change.key)) continue;
    if (!undo.has(change.key)) undo.set(change.key, entries.get(change.key));
    if (change.op === 'delete' || change.value === undefined) entries.delete(change.key);
    else entries.set(change.key, viewEntryOf(change.key, change.value, change.revision));
    changed.push(change.key);
  }
  if (BigInt(entries.size) !== counts.keys) {
    return rollBack(`the view would hold ${entries.size} keys under ${JSON.stringify(prefix)}, the certified index counts ${counts.keys}: keys were left out`);
  }
  return { ok: true, value: [...new Set(changed)] };
}
