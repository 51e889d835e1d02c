// A version of the map being built by a run of reads and writes (a block's
// execution), whose root is computed once at the end: every write goes to an
// overlay, reads see the overlay first, and `toSnapshot()` applies the net
// changes in one batched update (MerkleMapSnapshot.withChanges). Execution
// needs no intermediate roots, only the one after the block.
//
// The API is that of an immutable version, like MerkleMapSnapshot: `with` and
// `without` return a new draft and leave the old one as it was, so code can
// keep an earlier draft and go on from it (a refused request continues from
// the draft before it). Underneath, the drafts of one run share one mutable
// overlay with an undo log. Reading an earlier draft is always fine; writing
// to one (or taking its snapshot) undoes the writes made after it, and the
// drafts made after it may not be used again (an assertion, never a silent
// wrong answer). That is the one way execution uses them: a failed step is
// abandoned, never resumed.

import { assert } from './assert';
import { type MapEntry, MerkleMapSnapshot, checkedMapEntry } from './merkle-map';

type Overlay = {
  readonly base: MerkleMapSnapshot;
  /** Net writes so far: an entry, or null for a removal. */
  readonly writes: Map<string, MapEntry | null>;
  /** What each write replaced in `writes` (undefined: the key had no write yet). */
  readonly undo: { key: string; before: MapEntry | null | undefined }[];
  /** The draft that stands at each undo length; a draft is usable while it is listed. */
  readonly drafts: MerkleMapDraft[];
};

export class MerkleMapDraft {
  private constructor(
    private readonly overlay: Overlay,
    private readonly at: number,
  ) {}

  /** A draft over `base` with no writes yet. */
  static over(base: MerkleMapSnapshot): MerkleMapDraft {
    const overlay: Overlay = { base, writes: new Map(), undo: [], drafts: [] };
    const draft = new MerkleMapDraft(overlay, 0);
    overlay.drafts.push(draft);
    return draft;
  }

  /** Makes this draft's writes the overlay's, to write on top: undoes any made after it. */
  private current(): Overlay {
    const o = this.overlay;
    assert(o.drafts[this.at] === this, 'merkle-map-draft: a draft abandoned for an earlier one was used again');
    while (o.undo.length > this.at) {
      const { key, before } = o.undo.pop() as { key: string; before: MapEntry | null | undefined };
      if (before === undefined) o.writes.delete(key);
      else o.writes.set(key, before);
    }
    o.drafts.length = this.at + 1;
    return o;
  }

  get(key: string): MapEntry | undefined {
    const written = this.writtenAt(key);
    if (written === undefined) return this.overlay.base.get(key);
    return written === null ? undefined : { value: written.value.slice(), revision: written.revision };
  }

  has(key: string): boolean {
    const written = this.writtenAt(key);
    return written === undefined ? this.overlay.base.has(key) : written !== null;
  }

  /**
   * This draft plus `key -> entry`. The key and entry are checked now, as MerkleMapSnapshot.with
   * checks them (RangeError), and the entry is copied.
   */
  with(key: string, entry: MapEntry): MerkleMapDraft {
    const checked = checkedMapEntry(entry);
    this.overlay.base.checkKey(key);
    return this.write(key, checked);
  }

  /** This draft without `key`; `this` itself when the key is absent. */
  without(key: string): MerkleMapDraft {
    return this.has(key) ? this.write(key, null) : this;
  }

  /** The snapshot with this draft's writes, its root computed in one batched update. */
  toSnapshot(): MerkleMapSnapshot {
    const o = this.current();
    return o.base.withChanges(o.writes);
  }

  /**
   * This draft's write of `key` (undefined: none, read the base), without undoing later writes: an
   * earlier draft may be read after later ones were made (what a step changed is its drafts' difference).
   */
  private writtenAt(key: string): MapEntry | null | undefined {
    const o = this.overlay;
    assert(o.drafts[this.at] === this, 'merkle-map-draft: a draft abandoned for an earlier one was used again');
    for (let i = this.at; i < o.undo.length; i++) {
      const step = o.undo[i] as { key: string; before: MapEntry | null | undefined };
      if (step.key === key) return step.before;
    }
    return o.writes.get(key);
  }

  private write(key: string, entry: MapEntry | null): MerkleMapDraft {
    const o = this.current();
    o.undo.push({ key, before: o.writes.get(key) });
    o.writes.set(key, entry);
    const draft = new MerkleMapDraft(o, this.at + 1);
    o.drafts.push(draft);
    return draft;
  }
}
