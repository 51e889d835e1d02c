import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit';

/** A GroupCommit whose syncs complete only when the test says so. */
function harness() {
  const pendingSyncs: ((error: Error | null) => void)[] = [];
  const errors: Error[] = [];
  const group = new GroupCommit(
    (done) => pendingSyncs.push(done),
    (error) => errors.push(error),
  );
  const released: string[] = [];
  const completeSync = (error: Error | null = null) => {
    const done = pendingSyncs.shift();
    if (done === undefined) throw new Error('no sync in flight');
    done(error);
  };
  return { group, pendingSyncs, errors, released, completeSync };
}

describe('group commit', () => {
  it('releases at once, without a sync, when nothing was written (an idle turn)', () => {
    const h = harness();
    h.group.whenDurable(() => h.released.push('a'));
    expect(h.released).toEqual(['a']);
    expect(h.pendingSyncs).toHaveLength(0);
    expect(h.group.stats).toEqual({ writes: 0, syncs: 0 });
  });

  it('holds a release until a sync that began after its write completes', () => {
    const h = harness();
    h.group.noteWrite();
    h.group.whenDurable(() => h.released.push('a'));
    expect(h.released).toEqual([]);
    expect(h.pendingSyncs).toHaveLength(1);
    h.completeSync();
    expect(h.released).toEqual(['a']);
  });

  it('writes made while a sync is in flight join the next sync, and the sync in flight does not release them', () => {
    const h = harness();
    h.group.noteWrite();
    h.group.whenDurable(() => h.released.push('first'));
    h.group.noteWrite();
    h.group.whenDurable(() => h.released.push('second'));
    h.group.noteWrite();
    h.group.whenDurable(() => h.released.push('third'));
    // One sync in flight at a time.
    expect(h.pendingSyncs).toHaveLength(1);
    h.completeSync();
    expect(h.released).toEqual(['first']);
    // The second and third share one sync.
    expect(h.pendingSyncs).toHaveLength(1);
    h.completeSync();
    expect(h.released).toEqual(['first', 'second', 'third']);
    expect(h.group.stats).toEqual({ writes: 3, syncs: 2 });
  });

  it('keeps release order: a release with nothing new to sync still waits behind earlier ones', () => {
    const h = harness();
    h.group.noteWrite();
    h.group.whenDurable(() => h.released.push('a'));
    h.group.whenDurable(() => h.released.push('b'));
    expect(h.released).toEqual([]);
    h.completeSync();
    expect(h.released).toEqual(['a', 'b']);
  });

  it('never releases after a failed sync, and reports the failure once', () => {
    const h = harness();
    h.group.noteWrite();
    h.group.whenDurable(() => h.released.push('a'));
    h.completeSync(new Error('EIO'));
    h.group.noteWrite();
    h.group.whenDurable(() => h.released.push('b'));
    h.group.whenDurable(() => h.released.push('c'));
    expect(h.released).toEqual([]);
    expect(h.errors.map((e) => e.message)).toEqual(['EIO']);
    expect(h.pendingSyncs).toHaveLength(0);
  });
});
