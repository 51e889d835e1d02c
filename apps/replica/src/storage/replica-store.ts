// The replica's durable state in one SQLite file (better-sqlite3, WAL,
// synchronous = NORMAL): committed blocks with their certificates, the log
// leaves, and what the consensus core asks to persist before it speaks
// (view, votes, prepared certificates, stable checkpoint). Every write method
// is synchronous and returns once its transaction is in the WAL (the page
// cache: it survives kill -9); `whenDurable` runs a callback once everything
// written so far is on disk, after one fdatasync of the WAL on the thread
// pool (group-commit.ts). What the consensus core's effect ordering requires
// ("persist, then send") is met by sending only from such a callback.
// Layout and recovery rules: docs/storage.md.

import Database from 'better-sqlite3';
import { closeSync, existsSync, fdatasync, openSync, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { equalBytes, SIGNATURE_KINDS, type SignatureKind } from '@vcr/proofs';
import type { JournalEntry, SignerJournal } from '../keystore/guarded-signer';
import type { KeyChange } from '../registry/key-index';
import { AUDIT_SCHEMA, AuditTables } from './audit-tables';
import { KEY_INDEX_SCHEMA, KeyIndexTables } from './key-index-tables';
import { Statements } from './statements';
import { GroupCommit, type GroupCommitStats } from './group-commit';

function fileBytes(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly code: 'open-failed' | 'schema-mismatch' | 'out-of-order' | 'io' | 'corrupt',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * 2 added the audit and key-index tables; a version 1 store is upgraded in place (recovery rebuilds the key index).
 * 3 added the epochs table; a version 2 store is upgraded in place (it has no epochs yet).
 */
const SCHEMA_VERSION = '3';
const UPGRADABLE_VERSIONS = ['1', '2'];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, block TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_leaves (idx INTEGER PRIMARY KEY, height INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS log_leaves_height ON log_leaves (height);
CREATE TABLE IF NOT EXISTS votes (phase TEXT NOT NULL, view INTEGER NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (phase, view, seq));
CREATE TABLE IF NOT EXISTS prepared (seq INTEGER NOT NULL, view INTEGER NOT NULL, certificate TEXT NOT NULL, PRIMARY KEY (seq, view));
CREATE TABLE IF NOT EXISTS signer_journal (
  idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, epoch INTEGER NOT NULL, view INTEGER, seq INTEGER,
  digest BLOB NOT NULL, signed_hash BLOB NOT NULL, signature BLOB NOT NULL, prev_hash BLOB NOT NULL, entry_hash BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS signer_journal_slot ON signer_journal (kind, epoch, view, seq);
CREATE TABLE IF NOT EXISTS epochs (epoch INTEGER PRIMARY KEY, start_seq INTEGER NOT NULL, membership TEXT NOT NULL, link TEXT);
`;

/** A signer_journal row as better-sqlite3 returns it (safe integers). */
export interface JournalRow {
  idx: bigint;
  kind: string;
  epoch: bigint;
  view: bigint | null;
  seq: bigint | null;
  digest: Buffer;
  signed_hash: Buffer;
  signature: Buffer;
  prev_hash: Buffer;
  entry_hash: Buffer;
}

export const JOURNAL_COLUMNS = 'idx, kind, epoch, view, seq, digest, signed_hash, signature, prev_hash, entry_hash';
const JOURNAL_VOTE_KINDS = ['pre-prepare', 'prepare', 'commit'] as const;

/** Throws StorageError 'corrupt' for a row of an unknown kind. */
export function journalEntryFromRow(row: JournalRow): JournalEntry {
  const kind = SIGNATURE_KINDS.find((k) => k === row.kind);
  if (kind === undefined) throw new StorageError('corrupt', `signer journal entry ${row.idx} has unknown kind ${JSON.stringify(row.kind)}`);
  return Object.freeze({
    index: row.idx,
    kind,
    epoch: row.epoch,
    view: row.view,
    seq: row.seq,
    digest: new Uint8Array(row.digest),
    signedBytesHash: new Uint8Array(row.signed_hash),
    signature: new Uint8Array(row.signature),
    prevEntryHash: new Uint8Array(row.prev_hash),
    entryHash: new Uint8Array(row.entry_hash),
  });
}

export interface StoredVote {
  phase: string;
  view: bigint;
  seq: bigint;
  hash: Uint8Array;
}

export class ReplicaStore implements SignerJournal {
  private readonly db: Database.Database;
  private readonly sql: Statements;
  /** Every verified consensus message and every piece of evidence (buffered; written with blocks). */
  readonly audit: AuditTables;
  /** Live keys and per-key history, written with the block that changed them. */
  readonly keys: KeyIndexTables;
  private readonly groupCommit: GroupCommit;
  /** A group was asked for (beginGroup): the transaction opens at its first write, so a turn that writes nothing commits nothing. */
  private groupWanted = false;
  /** Our own descriptor of the WAL file, for fdatasync off the event loop; opened at the first sync. */
  private walFd: number | undefined;
  private closed = false;

  /** `onSyncError`: an fdatasync failed; the process must stop (what waited on it is never released). */
  constructor(
    private readonly path: string,
    onSyncError: (error: Error) => void = (error) => {
      throw error;
    },
  ) {
    this.groupCommit = new GroupCommit((done) => this.syncWal(done), onSyncError);
    try {
      this.db = new Database(path);
      this.sql = new Statements(this.db);
      // Integers come back as bigint: heights and sizes never lose precision past 2^53.
      this.db.defaultSafeIntegers(true);
      this.db.pragma('journal_mode = WAL');
      // NORMAL: a commit is in the page cache when the call returns (it survives kill -9); the
      // fdatasync that makes it survive a power cut runs off the event loop (whenDurable).
      // SQLite still syncs the WAL before each checkpoint and the database file after it.
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA + AUDIT_SCHEMA + KEY_INDEX_SCHEMA);
    } catch (cause) {
      throw new StorageError('open-failed', `cannot open replica store at ${path}`, { cause });
    }
    const version = this.getMeta('schema');
    if (version === undefined || UPGRADABLE_VERSIONS.includes(version)) this.setMeta('schema', SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) throw new StorageError('schema-mismatch', `store schema ${version}, expected ${SCHEMA_VERSION}`);
    this.audit = new AuditTables(this.sql, (write) => {
      this.db.transaction(write)();
      this.noteWrite();
    });
    this.keys = new KeyIndexTables(this.sql);
  }

  /**
   * Starts the group the replica uses for one turn of its event loop: every write until
   * `commitGroup` shares one transaction (nested writes become savepoints). The transaction opens
   * at the first write, so a turn that writes nothing touches neither SQLite nor the disk.
   */
  beginGroup(): void {
    this.groupWanted = true;
  }

  /** Commits the group's transaction, if one opened, into the WAL; `whenDurable` waits for its sync. */
  commitGroup(): void {
    this.groupWanted = false;
    if (!this.db.inTransaction) return;
    this.db.exec('COMMIT');
    this.groupCommit.noteWrite();
  }

  /**
   * Runs `release` once everything written so far is durable (at once if nothing is pending). An
   * open group is committed first. Releases run in the order they were asked for.
   */
  whenDurable(release: () => void): void {
    this.commitGroup();
    this.groupCommit.whenDurable(release);
  }

  /** Where the state snapshot lives (state-snapshot.ts), beside the database; undefined in memory. */
  get snapshotPath(): string | undefined {
    return this.path === ':memory:' ? undefined : `${this.path}.snapshot`;
  }

  /** The database file and its write-ahead log, in bytes (for /metrics); read from the file system at scrape time. */
  get databaseBytes(): number {
    return this.path === ':memory:' ? 0 : fileBytes(this.path) + fileBytes(`${this.path}-wal`);
  }

  /**
   * The write-ahead log alone (for /metrics): it is checkpointed back into the database file as it
   * grows, so a WAL that keeps growing means checkpoints are held back (a long reader) and the disk fills.
   */
  get walBytes(): number {
    return this.path === ':memory:' ? 0 : fileBytes(`${this.path}-wal`);
  }

  /** The state snapshot file (state-snapshot.ts), 0 when there is none. */
  get snapshotBytes(): number {
    return this.snapshotPath === undefined ? 0 : fileBytes(this.snapshotPath);
  }

  /** The file system holding the database (for /metrics and the disk alerts); undefined in memory. */
  get volumeBytes(): { availableBytes: number; sizeBytes: number } | undefined {
    if (this.path === ':memory:') return undefined;
    const fs = statfsSync(dirname(this.path));
    return { availableBytes: fs.bavail * fs.bsize, sizeBytes: fs.blocks * fs.bsize };
  }

  /** Transactions committed and fdatasync calls made since the store opened (for /metrics). */
  get durabilityStats(): GroupCommitStats {
    return this.groupCommit.stats;
  }

  /** Every write method starts here: inside a group it opens the group's transaction. */
  private write(): void {
    if (this.groupWanted && !this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
  }

  /** A write outside the group committed on its own: it needs a sync too. */
  private noteWrite(): void {
    if (!this.db.inTransaction) this.groupCommit.noteWrite();
  }

  private syncWal(done: (error: Error | null) => void): void {
    if (this.path === ':memory:') return done(null);
    try {
      this.walFd ??= openSync(`${this.path}-wal`, 'r');
    } catch (error) {
      return done(new StorageError('io', `cannot open the WAL of ${this.path} to sync it`, { cause: error }));
    }
    const fd = this.walFd;
    fdatasync(fd, (error) => {
      if (this.closed && this.walFd === fd) {
        closeSync(fd);
        this.walFd = undefined;
      }
      done(error === null ? null : new StorageError('io', `fdatasync of the WAL of ${this.path} failed`, { cause: error }));
    });
  }

  close(): void {
    this.commitGroup();
    this.audit.flush();
    // Closing the last connection checkpoints the WAL into the database file and syncs it.
    this.db.close();
    this.closed = true;
    if (this.walFd !== undefined && !this.groupCommit.syncing) {
      closeSync(this.walFd);
      this.walFd = undefined;
    }
  }

  private removedAt: { epoch: bigint | undefined } | undefined;

  /** The epoch that removed this replica (SignerJournal: the guard refuses every signature once it is set). */
  removedAtEpoch(): bigint | undefined {
    if (this.removedAt === undefined) {
      const text = this.getMeta('removedAtEpoch');
      this.removedAt = { epoch: text === undefined ? undefined : BigInt(text) };
    }
    return this.removedAt.epoch;
  }

  /** Records, in the current group, that this replica verified its removal at `epoch`; the first epoch recorded stays. */
  markRemoved(epoch: bigint): void {
    if (this.removedAtEpoch() !== undefined) return;
    this.setMeta('removedAtEpoch', epoch.toString());
    this.removedAt = { epoch };
  }

  getMeta(key: string): string | undefined {
    const row = this.sql.get('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.write();
    this.sql.get('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
    this.noteWrite();
  }

  deleteMeta(key: string): void {
    this.write();
    this.sql.get('DELETE FROM meta WHERE key = ?').run(key);
    this.noteWrite();
  }

  /** The highest committed height, 0 when empty. */
  lastHeight(): bigint {
    const row = this.sql.get('SELECT MAX(height) AS h FROM blocks').get() as { h: bigint | null };
    return row.h ?? 0n;
  }

  /** Leaves are numbered 0, 1, ... without gaps, so the size is the highest index plus one: one probe of the primary key, not a count of every row. */
  logSize(): bigint {
    const row = this.sql.get('SELECT MAX(idx) AS last FROM log_leaves').get() as { last: bigint | null };
    return row.last === null ? 0n : row.last + 1n;
  }

  /**
   * One transaction per block: the block, its certificate, its log leaves and the key changes it made
   * land together or not at all; buffered audit rows ride along in the same fsync.
   */
  saveBlock(height: bigint, blockJson: string, leaves: readonly Uint8Array[], changes: readonly KeyChange[] = []): void {
    this.write();
    const save = this.db.transaction(() => {
      const last = this.lastHeight();
      if (height !== last + 1n) throw new StorageError('out-of-order', `block ${height} after ${last}`);
      this.sql.get('INSERT INTO blocks (height, block) VALUES (?, ?)').run(height, blockJson);
      const first = this.logSize();
      const insert = this.sql.get('INSERT INTO log_leaves (idx, height, data) VALUES (?, ?, ?)');
      leaves.forEach((leaf, i) => insert.run(first + BigInt(i), height, Buffer.from(leaf)));
      this.keys.insert(changes);
      this.setMeta('keyIndexHeight', height.toString());
      this.audit.writeBuffered();
    });
    save();
    this.noteWrite();
  }

  /** The height the key index covers; below lastHeight() only in a store written before the index existed. */
  keyIndexHeight(): bigint {
    return BigInt(this.getMeta('keyIndexHeight') ?? '0');
  }

  /** Indexes an already stored block (recovery of an older store). */
  indexStoredBlock(height: bigint, changes: readonly KeyChange[]): void {
    this.write();
    const index = this.db.transaction(() => {
      if (height !== this.keyIndexHeight() + 1n) throw new StorageError('out-of-order', `key index at ${this.keyIndexHeight()}, asked to index ${height}`);
      this.keys.insert(changes);
      this.setMeta('keyIndexHeight', height.toString());
    });
    index();
    this.noteWrite();
  }

  /** A block's log leaves with their indices, in log order. */
  leavesOfBlock(height: bigint): { index: bigint; data: Uint8Array }[] {
    const rows = this.sql.get('SELECT idx, data FROM log_leaves WHERE height = ? ORDER BY idx').all(height) as { idx: bigint; data: Buffer }[];
    return rows.map((r) => ({ index: r.idx, data: new Uint8Array(r.data) }));
  }

  loadBlocks(fromHeight: bigint, limit: number): string[] {
    const rows = this.sql.get('SELECT block FROM blocks WHERE height >= ? ORDER BY height LIMIT ?').all(fromHeight, BigInt(limit)) as { block: string }[];
    return rows.map((r) => r.block);
  }

  loadBlock(height: bigint): string | undefined {
    const row = this.sql.get('SELECT block FROM blocks WHERE height = ?').get(height) as { block: string } | undefined;
    return row?.block;
  }

  loadLeaf(index: bigint): Uint8Array | undefined {
    const row = this.sql.get('SELECT data FROM log_leaves WHERE idx = ?').get(index) as { data: Buffer } | undefined;
    return row ? new Uint8Array(row.data) : undefined;
  }

  /** Every log leaf in order, for rebuilding the in-memory Merkle log at startup. */
  *iterateLeaves(): Generator<{ index: bigint; height: bigint; data: Uint8Array }> {
    const rows = this.sql.get('SELECT idx, height, data FROM log_leaves ORDER BY idx').iterate() as Iterable<{ idx: bigint; height: bigint; data: Buffer }>;
    for (const r of rows) yield { index: r.idx, height: r.height, data: new Uint8Array(r.data) };
  }

  saveVote(v: StoredVote): void {
    this.write();
    this.sql.get('INSERT OR IGNORE INTO votes (phase, view, seq, hash) VALUES (?, ?, ?, ?)').run(v.phase, v.view, v.seq, Buffer.from(v.hash));
    this.noteWrite();
  }

  loadVotes(aboveSeq: bigint): StoredVote[] {
    const rows = this.sql.get('SELECT phase, view, seq, hash FROM votes WHERE seq > ?').all(aboveSeq) as { phase: string; view: bigint; seq: bigint; hash: Buffer }[];
    return rows.map((r) => ({ phase: r.phase, view: r.view, seq: r.seq, hash: new Uint8Array(r.hash) }));
  }

  /** Votes the double-sign guard journaled above a height: restored with the core's own records after a crash. */
  journalVotes(aboveSeq: bigint): StoredVote[] {
    const rows = this.sql
      .get("SELECT kind, view, seq, digest FROM signer_journal WHERE kind IN ('pre-prepare', 'prepare', 'commit') AND seq > ?")
      .all(aboveSeq) as { kind: string; view: bigint; seq: bigint; digest: Buffer }[];
    return rows.map((r) => ({ phase: r.kind, view: r.view, seq: r.seq, hash: new Uint8Array(r.digest) }));
  }

  savePrepared(seq: bigint, view: bigint, certificateJson: string): void {
    this.write();
    this.sql.get('INSERT OR REPLACE INTO prepared (seq, view, certificate) VALUES (?, ?, ?)').run(seq, view, certificateJson);
    this.noteWrite();
  }

  loadPrepared(aboveSeq: bigint): string[] {
    const rows = this.sql.get('SELECT certificate FROM prepared WHERE seq > ? ORDER BY seq, view').all(aboveSeq) as { certificate: string }[];
    return rows.map((r) => r.certificate);
  }

  /** A stable checkpoint settles everything at or below it: votes and prepared certificates there are no longer needed. */
  pruneAtOrBelow(seq: bigint): void {
    this.write();
    const prune = this.db.transaction(() => {
      this.sql.get('DELETE FROM votes WHERE seq <= ?').run(seq);
      this.sql.get('DELETE FROM prepared WHERE seq <= ?').run(seq);
    });
    prune();
    this.noteWrite();
  }

  // ---- signer journal (the double-sign guard's record; keystore/guarded-signer.ts) ----------
  // The slot index is UNIQUE: SQLite treats NULLs as distinct, so it allows many
  // entries of kinds without a view or seq and at most one per vote slot.

  // The journal's head and highest vote are kept in memory after the first read: this store is the
  // journal's only writer, and `append` updates both once its row is in, so each signature costs
  // one slot probe and one insert rather than six statements.
  private journalHead: { entry: JournalEntry | undefined } | undefined;
  private highestVoteKnown: { vote: { epoch: bigint; view: bigint } | undefined } | undefined;

  lastEntry(): JournalEntry | undefined {
    this.journalHead ??= { entry: this.loadLastEntry() };
    return this.journalHead.entry;
  }

  private loadLastEntry(): JournalEntry | undefined {
    const row = this.sql.get(`SELECT ${JOURNAL_COLUMNS} FROM signer_journal ORDER BY idx DESC LIMIT 1`).get() as JournalRow | undefined;
    return row ? journalEntryFromRow(row) : undefined;
  }

  findSlot(kind: SignatureKind, epoch: bigint, view: bigint | null, seq: bigint | null): JournalEntry | undefined {
    const row = this.sql
      .get(`SELECT ${JOURNAL_COLUMNS} FROM signer_journal WHERE kind = ? AND epoch = ? AND view IS ? AND seq IS ? ORDER BY idx LIMIT 1`)
      .get(kind, epoch, view, seq) as JournalRow | undefined;
    return row ? journalEntryFromRow(row) : undefined;
  }

  /** An epoch this replica entered: the membership (JSON) voting after block `startSeq`. */
  saveEpoch(epoch: bigint, startSeq: bigint, membershipJson: string): void {
    this.write();
    this.sql.get('INSERT OR IGNORE INTO epochs (epoch, start_seq, membership) VALUES (?, ?, ?)').run(epoch, startSeq, membershipJson);
    this.noteWrite();
  }

  /** The complete link into `epoch` (JSON, docs/certificates.md), once both quorums are in. */
  saveEpochLink(epoch: bigint, linkJson: string): void {
    this.write();
    this.sql.get('UPDATE epochs SET link = ? WHERE epoch = ?').run(linkJson, epoch);
    this.noteWrite();
  }

  /** How many entered epochs have no complete link yet (cheap: the table has one row per epoch). */
  epochsWithoutLink(): number {
    return Number((this.sql.get('SELECT COUNT(*) AS n FROM epochs WHERE link IS NULL').get() as { n: bigint }).n);
  }

  /** Epochs in order, with their links (null while incomplete). */
  listEpochs(afterEpoch: bigint, limit: number): { epoch: bigint; startSeq: bigint; membership: string; link: string | null }[] {
    const rows = this.sql.get('SELECT epoch, start_seq, membership, link FROM epochs WHERE epoch > ? ORDER BY epoch LIMIT ?').all(afterEpoch, limit) as { epoch: bigint; start_seq: bigint; membership: string; link: string | null }[];
    return rows.map((r) => ({ epoch: r.epoch, startSeq: r.start_seq, membership: r.membership, link: r.link }));
  }

  highestVote(): { epoch: bigint; view: bigint } | undefined {
    this.highestVoteKnown ??= { vote: this.loadHighestVote() };
    return this.highestVoteKnown.vote;
  }

  /** One index probe per vote kind, newest (epoch, view) first. */
  private loadHighestVote(): { epoch: bigint; view: bigint } | undefined {
    const statement = this.sql.get('SELECT epoch, view FROM signer_journal WHERE kind = ? ORDER BY epoch DESC, view DESC LIMIT 1');
    let highest: { epoch: bigint; view: bigint } | undefined;
    for (const kind of JOURNAL_VOTE_KINDS) {
      const row = statement.get(kind) as { epoch: bigint; view: bigint | null } | undefined;
      if (row === undefined || row.view === null) continue;
      if (highest === undefined || row.epoch > highest.epoch || (row.epoch === highest.epoch && row.view > highest.view)) highest = { epoch: row.epoch, view: row.view };
    }
    return highest;
  }

  /** In the WAL when it returns, durable at the next sync (whenDurable); refuses an entry that does not extend the chain. */
  append(entry: JournalEntry): void {
    this.write();
    const last = this.lastEntry();
    const save = this.db.transaction(() => {
      const index = last === undefined ? 0n : last.index + 1n;
      const prev = last === undefined ? new Uint8Array(32) : last.entryHash;
      if (entry.index !== index || !equalBytes(prev, entry.prevEntryHash)) throw new StorageError('out-of-order', `signer journal entry ${entry.index} does not follow entry ${last?.index ?? 'none'}`);
      this.sql
        .get(`INSERT INTO signer_journal (${JOURNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          entry.index,
          entry.kind,
          entry.epoch,
          entry.view,
          entry.seq,
          Buffer.from(entry.digest),
          Buffer.from(entry.signedBytesHash),
          Buffer.from(entry.signature),
          Buffer.from(entry.prevEntryHash),
          Buffer.from(entry.entryHash),
        );
    });
    save();
    this.noteWrite();
    this.journalHead = { entry };
    const highest = this.highestVote();
    if ((JOURNAL_VOTE_KINDS as readonly string[]).includes(entry.kind) && entry.view !== null) {
      if (highest === undefined || entry.epoch > highest.epoch || (entry.epoch === highest.epoch && entry.view > highest.view)) this.highestVoteKnown = { vote: { epoch: entry.epoch, view: entry.view } };
    }
  }

  list(fromIndex: bigint, limit: number): JournalEntry[] {
    const rows = this.sql.get(`SELECT ${JOURNAL_COLUMNS} FROM signer_journal WHERE idx >= ? ORDER BY idx LIMIT ?`).all(fromIndex, BigInt(limit)) as JournalRow[];
    return rows.map(journalEntryFromRow);
  }
}
