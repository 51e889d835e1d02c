// Group commit with the sync off the event loop (DESIGN section 5, "Durability
// off the event loop"). The store's transactions commit into the operating
// system's page cache (SQLite WAL, synchronous = NORMAL), which survives
// kill -9 but not a power cut; one fdatasync of the WAL file, run on libuv's
// thread pool, makes everything committed before it started durable. What
// waits on durability (peer messages, client replies) is released only after
// a sync that began after its writes; everything committed while one sync is
// in flight joins the next one.

export type SyncFunction = (done: (error: Error | null) => void) => void;

export interface GroupCommitStats {
  /** Writes noted (commits of the group transaction or of a transaction of its own). */
  writes: number;
  /** fdatasync calls started. */
  syncs: number;
}

export class GroupCommit {
  /** Writes noted so far; `durable` of them are known to be on disk. */
  private written = 0;
  private durable = 0;
  private syncInFlight = false;
  private syncCount = 0;
  private failed: Error | undefined;
  /** Releases in the order they were queued, each with the write count it waits for (non-decreasing). */
  private readonly waiting: { upTo: number; release: () => void }[] = [];

  constructor(
    private readonly sync: SyncFunction,
    private readonly onSyncError: (error: Error) => void,
  ) {}

  /** A write reached the page cache (its transaction committed). */
  noteWrite(): void {
    this.written++;
  }

  /**
   * Runs `release` once every write noted so far is durable: at once when nothing is pending,
   * else after the sync that covers them. Releases run in the order they were queued.
   */
  whenDurable(release: () => void): void {
    if (this.failed !== undefined) return;
    if (this.durable === this.written && this.waiting.length === 0) {
      release();
      return;
    }
    this.waiting.push({ upTo: this.written, release });
    this.kick();
  }

  get stats(): GroupCommitStats {
    return { writes: this.written, syncs: this.syncCount };
  }

  /** True while an fdatasync runs on the thread pool. */
  get syncing(): boolean {
    return this.syncInFlight;
  }

  /** True while writes are noted that no completed sync covers. */
  get pending(): boolean {
    return this.durable < this.written;
  }

  private kick(): void {
    if (this.syncInFlight || this.failed !== undefined) return;
    if (this.durable === this.written) {
      this.releaseUpTo(this.durable);
      return;
    }
    const target = this.written;
    this.syncInFlight = true;
    this.syncCount++;
    this.sync((error) => {
      this.syncInFlight = false;
      if (error !== null) {
        // After a failed fsync the page cache may have dropped the pages (Linux marks them clean):
        // nothing that waited on them may ever be released, and the process must stop.
        this.failed = error;
        this.waiting.length = 0;
        this.onSyncError(error);
        return;
      }
      this.durable = target;
      this.releaseUpTo(target);
      if (this.waiting.length > 0) this.kick();
    });
  }

  private releaseUpTo(durable: number): void {
    let n = 0;
    while (n < this.waiting.length && (this.waiting[n] as { upTo: number }).upTo <= durable) n++;
    for (const item of this.waiting.splice(0, n)) item.release();
  }
}
