// SQLite tables for the audit record: every signed consensus message this
// replica sent or received whose signature verified, kept forever (beyond the
// consensus garbage collection), and every piece of equivocation evidence.
//
// Rows are buffered in memory and written with the next block (one
// transaction and one fsync per block) or by `flush` on a timer. A crash can
// lose the buffered rows: the audit record is evidence for people, not state
// the replica's safety depends on (that is the signer journal and the vote
// tables, written before anything is sent).

import type { Statements } from './statements';

export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_messages (
  id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, type TEXT NOT NULL, sender TEXT NOT NULL,
  epoch INTEGER NOT NULL, view INTEGER, seq INTEGER, signature BLOB NOT NULL UNIQUE, message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_messages_seq ON audit_messages (seq, id);
CREATE INDEX IF NOT EXISTS audit_messages_type ON audit_messages (type, id);
CREATE TABLE IF NOT EXISTS evidence (
  id INTEGER PRIMARY KEY, detected_ms INTEGER NOT NULL, replica TEXT NOT NULL, epoch INTEGER NOT NULL,
  view INTEGER NOT NULL, seq INTEGER NOT NULL, phase TEXT NOT NULL, first TEXT NOT NULL, second TEXT NOT NULL
);
`;

export interface AuditMessageRow {
  receivedMs: bigint;
  type: string;
  sender: string;
  epoch: bigint;
  /** The view the message speaks for (a VIEW-CHANGE's new view); null for checkpoints. */
  view: bigint | null;
  seq: bigint | null;
  signature: Uint8Array;
  /** The message's wire JSON (a PRE-PREPARE's batch omitted: its header's batchHash binds it). */
  message: string;
}

export interface StoredAuditMessage extends AuditMessageRow {
  id: bigint;
}

export interface EvidenceRow {
  detectedMs: bigint;
  replica: string;
  epoch: bigint;
  view: bigint;
  seq: bigint;
  phase: string;
  first: string;
  second: string;
}

export interface StoredEvidence extends EvidenceRow {
  id: bigint;
}

export interface AuditQuery {
  /** Only rows with id above this cursor (ascending order). */
  after: bigint;
  /** Newest first: only rows with id below this cursor (undefined: from the newest). */
  newestFirst?: { before: bigint | undefined } | undefined;
  limit: number;
  type?: string | undefined;
  seq?: bigint | undefined;
}

/** Buffered rows past this many are flushed at once, so the buffer stays bounded between blocks. */
const BUFFER_MAX = 4_096;

interface MessageRow {
  id: bigint;
  received_ms: bigint;
  type: string;
  sender: string;
  epoch: bigint;
  view: bigint | null;
  seq: bigint | null;
  signature: Buffer;
  message: string;
}

export class AuditTables {
  private messages: AuditMessageRow[] = [];
  private evidenceRows: EvidenceRow[] = [];

  constructor(
    private readonly sql: Statements,
    /** Runs `write` in a transaction of its own (the store's). */
    private readonly inTransaction: (write: () => void) => void,
  ) {}

  recordMessage(row: AuditMessageRow): void {
    this.messages.push(row);
    if (this.messages.length >= BUFFER_MAX) this.flush();
  }

  /** Evidence is rare and matters: written at once. */
  recordEvidence(row: EvidenceRow): void {
    this.evidenceRows.push(row);
    this.flush();
  }

  get pending(): number {
    return this.messages.length + this.evidenceRows.length;
  }

  /** Writes the buffered rows in their own transaction. */
  flush(): void {
    if (this.pending === 0) return;
    this.inTransaction(() => this.writeBuffered());
  }

  /** Call inside an open transaction (the block's). */
  writeBuffered(): void {
    const messages = this.messages;
    const evidence = this.evidenceRows;
    this.messages = [];
    this.evidenceRows = [];
    // A message seen twice (a retransmission) has the same signature: Ed25519 is deterministic.
    const insert = this.sql.get(
      'INSERT OR IGNORE INTO audit_messages (received_ms, type, sender, epoch, view, seq, signature, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const m of messages) insert.run(m.receivedMs, m.type, m.sender, m.epoch, m.view, m.seq, Buffer.from(m.signature), m.message);
    const insertEvidence = this.sql.get('INSERT INTO evidence (detected_ms, replica, epoch, view, seq, phase, first, second) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const e of evidence) insertEvidence.run(e.detectedMs, e.replica, e.epoch, e.view, e.seq, e.phase, e.first, e.second);
  }

  listMessages(q: AuditQuery): StoredAuditMessage[] {
    const where = q.newestFirst ? (q.newestFirst.before === undefined ? ['1 = 1'] : ['id < ?']) : ['id > ?'];
    const params: (bigint | string)[] = q.newestFirst ? (q.newestFirst.before === undefined ? [] : [q.newestFirst.before]) : [q.after];
    if (q.type !== undefined) {
      where.push('type = ?');
      params.push(q.type);
    }
    if (q.seq !== undefined) {
      where.push('seq = ?');
      params.push(q.seq);
    }
    const rows = this.sql.get(`SELECT * FROM audit_messages WHERE ${where.join(' AND ')} ORDER BY id ${q.newestFirst ? 'DESC' : ''} LIMIT ?`).all(...params, BigInt(q.limit)) as MessageRow[];
    return rows.map((r) => ({
      id: r.id,
      receivedMs: r.received_ms,
      type: r.type,
      sender: r.sender,
      epoch: r.epoch,
      view: r.view,
      seq: r.seq,
      signature: new Uint8Array(r.signature),
      message: r.message,
    }));
  }

  listEvidence(after: bigint, limit: number): StoredEvidence[] {
    const rows = this.sql.get('SELECT * FROM evidence WHERE id > ? ORDER BY id LIMIT ?').all(after, BigInt(limit)) as {
      id: bigint;
      detected_ms: bigint;
      replica: string;
      epoch: bigint;
      view: bigint;
      seq: bigint;
      phase: string;
      first: string;
      second: string;
    }[];
    return rows.map((r) => ({ id: r.id, detectedMs: r.detected_ms, replica: r.replica, epoch: r.epoch, view: r.view, seq: r.seq, phase: r.phase, first: r.first, second: r.second }));
  }
}
