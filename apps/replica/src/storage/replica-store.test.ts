import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaStore, StorageError } from './replica-store';
import { Statements } from './statements';

const dirs: string[] = [];
function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-store-'));
  dirs.push(dir);
  return join(dir, 'replica.sqlite');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('replica store (real SQLite file)', () => {
  it('keeps blocks and leaves in order across a reopen', () => {
    const path = freshPath();
    const a = new ReplicaStore(path);
    a.saveBlock(1n, '{"b":1}', [Uint8Array.of(1), Uint8Array.of(2)]);
    a.saveBlock(2n, '{"b":2}', [Uint8Array.of(3)]);
    a.close();
    const b = new ReplicaStore(path);
    expect(b.lastHeight()).toBe(2n);
    expect(b.logSize()).toBe(3n);
    expect(b.loadBlocks(2n, 10)).toEqual(['{"b":2}']);
    expect([...b.iterateLeaves()].map((l) => [l.index, l.height, l.data[0]])).toEqual([[0n, 1n, 1], [1n, 1n, 2], [2n, 2n, 3]]);
    b.close();
  });

  it('saving a block runs no statement that scans a whole table (its cost does not grow with the log)', () => {
    const path = freshPath();
    const s = new ReplicaStore(path);
    for (let h = 1n; h <= 3n; h++) s.saveBlock(h, '{}', [Uint8Array.of(Number(h))]);
    const seen: string[] = [];
    // Every statement the store runs goes through Statements.get: record the SQL of this one save.
    const realGet = Statements.prototype.get;
    Statements.prototype.get = function (this: Statements, sql: string) {
      seen.push(sql);
      return realGet.call(this, sql);
    };
    try {
      s.saveBlock(4n, '{}', [Uint8Array.of(4), Uint8Array.of(5)]);
    } finally {
      Statements.prototype.get = realGet;
    }
    s.close();
    const db = new Database(path, { readonly: true });
    const scans = [...new Set(seen)].flatMap((sql) => {
      const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null);
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      return plan.filter((row) => row.detail.startsWith('SCAN')).map((row) => `${sql} -> ${row.detail}`);
    });
    db.close();
    expect(seen.length).toBeGreaterThan(0);
    expect(scans).toEqual([]);
  });

  it('refuses a block out of order and leaves nothing half-written', () => {
    const s = new ReplicaStore(freshPath());
    s.saveBlock(1n, '{}', [Uint8Array.of(1)]);
    expect(() => s.saveBlock(3n, '{}', [Uint8Array.of(9)])).toThrow(StorageError);
    expect(s.lastHeight()).toBe(1n);
    expect(s.logSize()).toBe(1n);
    s.close();
  });

  it('votes and prepared certificates survive a reopen and are pruned at a stable checkpoint', () => {
    const path = freshPath();
    const s = new ReplicaStore(path);
    s.saveVote({ phase: 'prepare', view: 0n, seq: 3n, hash: new Uint8Array(32).fill(7) });
    s.saveVote({ phase: 'commit', view: 1n, seq: 9n, hash: new Uint8Array(32).fill(8) });
    s.savePrepared(9n, 1n, '{"c":9}');
    s.setMeta('view', '1');
    s.close();
    const t = new ReplicaStore(path);
    expect(t.loadVotes(0n).length).toBe(2);
    expect(t.getMeta('view')).toBe('1');
    t.pruneAtOrBelow(8n);
    expect(t.loadVotes(0n).map((v) => v.seq)).toEqual([9n]);
    expect(t.loadPrepared(0n)).toEqual(['{"c":9}']);
    t.close();
  });

  it('heights past 2^53 keep their precision', () => {
    const s = new ReplicaStore(freshPath());
    const big = (1n << 60n) + 1n;
    s.saveVote({ phase: 'prepare', view: big, seq: big, hash: new Uint8Array(32) });
    expect(s.loadVotes(0n)[0]?.seq).toBe(big);
    s.close();
  });

  it('a group that writes nothing commits nothing and syncs nothing', async () => {
    const s = new ReplicaStore(freshPath());
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    const before = s.durabilityStats;
    for (let turn = 0; turn < 5; turn++) {
      s.beginGroup();
      s.getMeta('view');
      s.commitGroup();
      await new Promise<void>((resolve) => s.whenDurable(resolve));
    }
    expect(s.durabilityStats).toEqual(before);
    s.close();
  });

  it('one group is one commit, and whenDurable waits for an fdatasync of the WAL', async () => {
    const path = freshPath();
    const s = new ReplicaStore(path);
    await new Promise<void>((resolve) => s.whenDurable(resolve));
    const before = s.durabilityStats;
    s.beginGroup();
    s.setMeta('view', '3');
    s.saveVote({ phase: 'prepare', view: 3n, seq: 1n, hash: new Uint8Array(32) });
    s.saveBlock(1n, '{}', [Uint8Array.of(1)]);
    let released = false;
    const durable = new Promise<void>((resolve) =>
      s.whenDurable(() => {
        released = true;
        resolve();
      }),
    );
    // The sync runs on the thread pool: the release cannot happen in the same turn.
    expect(released).toBe(false);
    await durable;
    expect(s.durabilityStats).toEqual({ writes: before.writes + 1, syncs: before.syncs + 1 });
    s.close();
    const again = new ReplicaStore(path);
    expect(again.getMeta('view')).toBe('3');
    expect(again.lastHeight()).toBe(1n);
    again.close();
  });
});
