// Backup and restore of a replica's SQLite store (ops/backup.ts) against a
// one-replica node (n = 1, f = 0) with a real SQLite file: a backup taken
// while the replica commits verifies from the pinned genesis, restores into
// a new directory, and a replica started from it serves the same state root;
// a tampered backup (a forged certificate, a changed batch, a dropped log
// leaf, an edited signer journal entry) fails verification and says where.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type Membership, membershipToJson } from '@vcr/proofs';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { createServer } from '../apps/replica/src/http/server';
import { type KeyHandle, MemoryKeyStore } from '../apps/replica/src/keystore';
import { ReplicaNode } from '../apps/replica/src/replica-node';
import { ReplicaStore } from '../apps/replica/src/storage/replica-store';
import { BackupError, backupStore, restoreStore, verifyBackup } from '../ops/backup';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-backup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const key = new MemoryKeyStore().generate('replica');
  const membership: Membership = {
    chainId: 'vcr-backup',
    epoch: 0n,
    f: 0,
    replicas: [{ id: 'r1', organization: 'org1', publicKey: key.publicKey, address: 'http://127.0.0.1:1' }],
    governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key.publicKey }] },
  };
  const genesisFile = join(dir, 'genesis.json');
  writeFileSync(genesisFile, JSON.stringify({ membership: membershipToJson(membership) }));
  return { dir, key, membership, genesisFile };
}

/** A replica node over `dataDir`/replica.sqlite, serving HTTP on a free port. */
async function boot(membership: Membership, key: KeyHandle, dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const node = new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(join(dataDir, 'replica.sqlite')), tickMs: 5 });
  const server: Server = createServer(node).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  node.start();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    node.stop();
    server.close();
    node.store.close();
  };
  cleanups.push(stop);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await RegistryClient.create({ membership, replicas: [url], signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  return { node, url, client, stop };
}

async function latestStateRoot(url: string): Promise<string> {
  return ((await (await fetch(`${url}/v1/headers/latest`)).json()) as { header: { stateRoot: string } }).header.stateRoot;
}

/** A copy of `file` changed by one SQL statement. */
function tampered(file: string, name: string, sql: string, ...params: unknown[]): string {
  const copy = `${file}.${name}`;
  copyFileSync(file, copy);
  const db = new Database(copy);
  db.prepare(sql).run(...params);
  db.close();
  return copy;
}

/** A backup of a node that committed `writes` keys. */
async function backedUp(writes: number) {
  const w = workspace();
  const dataDir = join(w.dir, 'data');
  const replica = await boot(w.membership, w.key, dataDir);
  for (let i = 0; i < writes; i++) expect((await replica.client.put(`backup/${i}`, `v${i}`)).result.ok).toBe(true);
  const file = join(w.dir, 'replica.backup');
  await backupStore(dataDir, file);
  return { ...w, dataDir, replica, file };
}

describe('replica backup and restore', () => {
  it('a backup taken while the replica commits verifies from genesis, restores into a new directory, and the restored replica serves the same state root', async () => {
    const w = workspace();
    const dataDir = join(w.dir, 'data');
    const replica = await boot(w.membership, w.key, dataDir);
    for (let i = 0; i < 10; i++) expect((await replica.client.put(`backup/${i}`, `v${i}`)).result.ok).toBe(true);
    // Writes keep committing while the online backup copies the WAL database.
    let writing = true;
    const load = (async () => {
      for (let i = 10; writing || i < 20; i++) expect((await replica.client.put(`backup/${i}`, `v${i}`)).result.ok).toBe(true);
    })();
    await new Promise((r) => setTimeout(r, 50));
    const file = join(w.dir, 'replica.backup');
    const summary = await backupStore(dataDir, file);
    writing = false;
    await load;
    expect(summary.height).toBeGreaterThan(0n);
    expect(summary.journalEntries).toBeGreaterThan(0n);

    const verdict = verifyBackup(file, w.genesisFile);
    if (!verdict.ok) throw new Error(`${verdict.where}: ${verdict.reason}`);
    expect(verdict.height).toBe(summary.height);
    expect(verdict.journalEntries).toBe(Number(summary.journalEntries));

    replica.stop();
    const restoredDir = join(w.dir, 'restored');
    restoreStore(file, restoredDir);
    const restored = await boot(w.membership, w.key, restoredDir);
    // Heartbeat blocks after the restore carry no requests: the state root stays the backup's.
    expect(await latestStateRoot(restored.url)).toBe(verdict.stateRoot);
    const read = await restored.client.get('backup/9');
    expect(new TextDecoder().decode(read.entry?.value)).toBe('v9');
  }, 30_000);

  it('restore refuses a non-empty store without --force, and a store whose signer journal is ahead of the backup without --forget-signatures', async () => {
    const b = await backedUp(3);
    expect(() => restoreStore(b.file, b.dataDir)).toThrow(/exists: refusing to overwrite a replica store without --force/);
    // The live replica kept signing (heartbeats) after the backup: its journal is ahead.
    await b.replica.client.put('backup/after', 'x');
    b.replica.stop();
    expect(() => restoreStore(b.file, b.dataDir, { force: true })).toThrow(BackupError);
    expect(() => restoreStore(b.file, b.dataDir, { force: true })).toThrow(/signer journal entries.*could sign a conflicting vote/);
    const restored = restoreStore(b.file, b.dataDir, { force: true, forgetSignatures: true });
    expect(restored.file).toBe(join(b.dataDir, 'replica.sqlite'));
  }, 30_000);

  it('a tampered backup fails verification and says what failed where', async () => {
    const b = await backedUp(5);
    b.replica.stop();
    expect(verifyBackup(b.file, b.genesisFile).ok).toBe(true);
    const blockOf = (height: number) => {
      const db = new Database(b.file, { readonly: true });
      const row = db.prepare('SELECT block FROM blocks WHERE height = ?').get(height) as { block: string };
      db.close();
      return JSON.parse(row.block) as { certificate: { signatures: { signature: string }[] }; batch: { requestId: string }[] };
    };
    const forged = blockOf(3);
    const sig = forged.certificate.signatures[0] as { signature: string };
    sig.signature = (sig.signature[0] === '0' ? '1' : '0') + sig.signature.slice(1);
    expect(verifyBackup(tampered(b.file, 'forged', 'UPDATE blocks SET block = ? WHERE height = 3', JSON.stringify(forged)), b.genesisFile)).toMatchObject({ ok: false, where: 'block 3', reason: expect.stringMatching(/^certificate: /) });

    const reader = new Database(b.file, { readonly: true });
    const heights = reader.prepare('SELECT height, block FROM blocks').all() as { height: number; block: string }[];
    reader.close();
    const withRequest = heights.find((r) => (JSON.parse(r.block) as { batch: unknown[] }).batch.length > 0) as { height: number; block: string };
    const changed = JSON.parse(withRequest.block) as { batch: unknown[] };
    changed.batch = [];
    expect(verifyBackup(tampered(b.file, 'batch', 'UPDATE blocks SET block = ? WHERE height = ?', JSON.stringify(changed), withRequest.height), b.genesisFile)).toMatchObject({ ok: false, where: `block ${withRequest.height}`, reason: 'batchHash does not match the batch' });

    expect(verifyBackup(tampered(b.file, 'dropped-block', 'DELETE FROM blocks WHERE height = 2'), b.genesisFile)).toMatchObject({ ok: false, where: 'block 2', reason: 'missing: the next stored block is 3' });
    expect(verifyBackup(tampered(b.file, 'leaf', 'UPDATE log_leaves SET data = ? WHERE idx = 1', Buffer.from('forged')), b.genesisFile)).toMatchObject({ ok: false, where: 'log leaves', reason: 'the stored leaves do not hash to the certified log root' });
    expect(verifyBackup(tampered(b.file, 'journal', 'UPDATE signer_journal SET digest = ? WHERE idx = 2', Buffer.alloc(32, 7)), b.genesisFile)).toMatchObject({ ok: false, where: 'signer journal entry 2', reason: 'entry-hash-mismatch' });
    expect(verifyBackup(tampered(b.file, 'journal-gap', 'DELETE FROM signer_journal WHERE idx = 1'), b.genesisFile)).toMatchObject({ ok: false, where: 'signer journal entry 2', reason: 'index-gap' });

    // Against another chain's genesis, nothing verifies.
    const other = workspace();
    expect(verifyBackup(b.file, other.genesisFile)).toMatchObject({ ok: false, where: 'block 1', reason: expect.stringMatching(/^certificate: /) });
  }, 30_000);

  it('the command line verifies a backup (exit 0) and refuses a tampered one (exit 1) with the reason', async () => {
    const b = await backedUp(2);
    b.replica.stop();
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', resolve('ops/backup.ts'), ...args], { encoding: 'utf8' });
    const good = run('verify', b.file, '--genesis', b.genesisFile);
    expect(good.status, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ event: 'backup-verified', ok: true });
    const bad = run('verify', tampered(b.file, 'cli', 'DELETE FROM blocks WHERE height = 1'), '--genesis', b.genesisFile);
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ event: 'backup-verification-failed', where: 'block 1' });
    const refused = run('restore', '--from', b.file, '--data', b.dataDir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refusing to overwrite/);
  }, 30_000);
});
