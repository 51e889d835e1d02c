// SQLite tables behind "list keys by prefix", "history of a key" and
// "changes since" (watch). Rows are written in the same transaction as the
// block they come from (ReplicaStore.saveBlock), so the index is never ahead
// of or behind the committed blocks. Keys are stored as UTF-8 BLOBs so a
// prefix is an exact byte range: [prefix, prefix with its last byte + 1).

import type { Statements } from './statements';
import type { KeyChange } from '../registry/key-index';

export const KEY_INDEX_SCHEMA = `
CREATE TABLE IF NOT EXISTS key_history (
  key BLOB NOT NULL, log_idx INTEGER NOT NULL, height INTEGER NOT NULL, revision INTEGER NOT NULL, op TEXT NOT NULL,
  PRIMARY KEY (key, log_idx)
);
CREATE INDEX IF NOT EXISTS key_history_log ON key_history (log_idx);
CREATE TABLE IF NOT EXISTS live_keys (key BLOB PRIMARY KEY, revision INTEGER NOT NULL, height INTEGER NOT NULL);
`;

export interface LiveKey {
  key: string;
  revision: bigint;
  height: bigint;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The smallest byte string above every string that starts with `prefix`; undefined when there is none (all 0xff). */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  const upper = Uint8Array.from(prefix);
  for (let i = upper.length - 1; i >= 0; i--) {
    if ((upper[i] as number) < 0xff) {
      upper[i] = (upper[i] as number) + 1;
      return upper.subarray(0, i + 1);
    }
  }
  return undefined;
}

function range(prefix: string): { clause: string; params: Buffer[] } {
  const lower = encoder.encode(prefix);
  const upper = prefixUpperBound(lower);
  if (upper === undefined) return { clause: 'key >= ?', params: [Buffer.from(lower)] };
  return { clause: 'key >= ? AND key < ?', params: [Buffer.from(lower), Buffer.from(upper)] };
}

interface HistoryRow {
  key: Buffer;
  log_idx: bigint;
  height: bigint;
  revision: bigint;
  op: string;
}

function changeFromRow(r: HistoryRow): KeyChange {
  return { key: decoder.decode(r.key), logIndex: r.log_idx, height: r.height, revision: r.revision, op: r.op === 'delete' ? 'delete' : 'put' };
}

export class KeyIndexTables {
  constructor(private readonly sql: Statements) {}

  /** Call inside the block's transaction. */
  insert(changes: readonly KeyChange[]): void {
    const history = this.sql.get('INSERT OR REPLACE INTO key_history (key, log_idx, height, revision, op) VALUES (?, ?, ?, ?, ?)');
    const upsert = this.sql.get('INSERT INTO live_keys (key, revision, height) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET revision = excluded.revision, height = excluded.height');
    const remove = this.sql.get('DELETE FROM live_keys WHERE key = ?');
    for (const c of changes) {
      const key = Buffer.from(encoder.encode(c.key));
      history.run(key, c.logIndex, c.height, c.revision, c.op);
      if (c.op === 'delete') remove.run(key);
      else upsert.run(key, c.revision, c.height);
    }
  }

  /** Live keys starting with `prefix`, in byte order, strictly after `after` when given. */
  list(prefix: string, after: string | undefined, limit: number): LiveKey[] {
    const r = range(prefix);
    const afterClause = after === undefined ? '' : ' AND key > ?';
    const params = after === undefined ? r.params : [...r.params, Buffer.from(encoder.encode(after))];
    const rows = this.sql.get(`SELECT key, revision, height FROM live_keys WHERE ${r.clause}${afterClause} ORDER BY key LIMIT ?`).all(...params, BigInt(limit)) as { key: Buffer; revision: bigint; height: bigint }[];
    return rows.map((row) => ({ key: decoder.decode(row.key), revision: row.revision, height: row.height }));
  }

  /** One key's changes in log order, from log index `fromLogIndex` on. */
  history(key: string, fromLogIndex: bigint, limit: number): KeyChange[] {
    const rows = this.sql
      .get('SELECT key, log_idx, height, revision, op FROM key_history WHERE key = ? AND log_idx >= ? ORDER BY log_idx LIMIT ?')
      .all(Buffer.from(encoder.encode(key)), fromLogIndex, BigInt(limit)) as HistoryRow[];
    return rows.map(changeFromRow);
  }

  /** Changes to keys under `prefix`, in log order, from log index `fromLogIndex` on. */
  changes(prefix: string, fromLogIndex: bigint, limit: number): KeyChange[] {
    const r = range(prefix);
    const rows = this.sql
      .get(`SELECT key, log_idx, height, revision, op FROM key_history WHERE ${r.clause} AND log_idx >= ? ORDER BY log_idx, key LIMIT ?`)
      .all(...r.params, fromLogIndex, BigInt(limit)) as HistoryRow[];
    return rows.map(changeFromRow);
  }
}
