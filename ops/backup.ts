// Backup, restore and verification of a replica's SQLite store
// (<dataDir>/replica.sqlite, docs/replica.md section 2):
//   npx tsx ops/backup.ts backup  --data <replica data dir> --out <file>
//   npx tsx ops/backup.ts verify  <file> --genesis <genesis.json>
//   npx tsx ops/backup.ts restore --from <file> --data <dir> [--force] [--genesis <genesis.json>]
// `backup` uses SQLite's online backup API (better-sqlite3 db.backup), so it
// is safe while the replica runs: it copies a consistent snapshot of the WAL
// database, then turns the copy into a self-contained rollback-journal file.
// `verify` trusts nothing in the file: it re-verifies every block from the
// pinned genesis (certificate, hash link, batch hash, re-executed state and
// log roots), the stored log leaves against the last certified log root, and
// the signer journal's hash chain and slot rules (verifyJournal). It is the
// same rule set as ops/verify-chain.ts, reading a file instead of a replica.
// `restore` copies a backup into a data directory; it refuses a non-empty
// store unless --force, and even then a store whose signer journal is ahead
// of the backup's unless --forget-signatures (see docs/runbook.md: restoring
// an older journal lets the replica sign a second digest for a slot it signed
// after the backup).

import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { bytesToHex, headerHash, membershipHash, MerkleLog, verifyCertificate } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { batchHash } from '@vcr/consensus';
import { loadGenesis, loadGenesisRegistry } from '../apps/replica/src/genesis';
import { type JournalEntry, verifyJournal } from '../apps/replica/src/keystore';
import { genesisRegistryState, registryExecutor } from '../apps/replica/src/registry/state';
import { parseCommittedBlockJson } from '@vcr/proofs';
import { JOURNAL_COLUMNS, journalEntryFromRow, type JournalRow } from '../apps/replica/src/storage/replica-store';

const STORE_FILE = 'replica.sqlite';
/** The store schema this tool understands (apps/replica/src/storage/replica-store.ts SCHEMA_VERSION). */
const SCHEMA_VERSION = '3';

export class BackupError extends Error {
  override name = 'BackupError';
}

export interface BackupSummary {
  file: string;
  bytes: number;
  height: bigint;
  journalEntries: bigint;
}

/** Copies the live store of `dataDir` to `outFile` (written beside it, then renamed, so a crash leaves no half file under that name). */
export async function backupStore(dataDir: string, outFile: string): Promise<BackupSummary> {
  const source = join(resolve(dataDir), STORE_FILE);
  if (!existsSync(source)) throw new BackupError(`no replica store at ${source}`);
  const out = resolve(outFile);
  if (existsSync(out)) throw new BackupError(`${out} exists; choose a new file`);
  const partial = `${out}.partial`;
  rmSync(partial, { force: true });
  // Read-write (not readonly) so SQLite can use the WAL index of a running replica; nothing is written to the source.
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(partial);
  } finally {
    db.close();
  }
  const copy = new Database(partial);
  try {
    // One self-contained file: no -wal/-shm beside it, and it opens read-only anywhere.
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new BackupError(`the copy failed SQLite's integrity check: ${String(check)}`);
  } finally {
    copy.close();
  }
  renameSync(partial, out);
  const counts = storeCounts(out);
  return { file: out, bytes: statSync(out).size, ...counts };
}

function storeCounts(file: string): { height: bigint; journalEntries: bigint } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    const height = (db.prepare('SELECT COALESCE(MAX(height), 0) AS h FROM blocks').get() as { h: bigint }).h;
    const journalEntries = (db.prepare('SELECT COUNT(*) AS n FROM signer_journal').get() as { n: bigint }).n;
    return { height, journalEntries };
  } finally {
    db.close();
  }
}

export type BackupVerdict =
  | { ok: true; height: bigint; stateRoot: string; logSize: bigint; journalEntries: number }
  | { ok: false; where: string; reason: string };

/** Re-verifies a backup file from the pinned genesis; never trusts what the file says about itself. */
export function verifyBackup(file: string, genesisFile: string): BackupVerdict {
  const membership = loadGenesis(genesisFile);
  const executor = registryExecutor(nodeBackend, loadGenesisRegistry(genesisFile));
  let db: Database.Database;
  try {
    db = new Database(resolve(file), { readonly: true, fileMustExist: true });
  } catch (error) {
    return { ok: false, where: 'file', reason: `cannot open: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    db.defaultSafeIntegers(true);
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') return { ok: false, where: 'file', reason: `SQLite integrity check: ${String(integrity)}` };
    const schema = (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value;
    if (schema !== SCHEMA_VERSION) return { ok: false, where: 'meta', reason: `store schema ${schema ?? 'missing'}, this tool reads ${SCHEMA_VERSION}` };

    // Blocks: in order from 1, each certified by its epoch's membership (from genesis, as re-executed membership changes make it) and re-executed.
    let state = genesisRegistryState(nodeBackend, membership);
    let prevHash: Uint8Array = new Uint8Array(32);
    let height = 0n;
    let logRoot: Uint8Array = new MerkleLog(nodeBackend).root();
    let logSize = 0n;
    for (const row of db.prepare('SELECT height, block FROM blocks ORDER BY height').iterate() as IterableIterator<{ height: bigint; block: string }>) {
      const at = height + 1n;
      const where = `block ${at}`;
      if (row.height !== at) return { ok: false, where, reason: `missing: the next stored block is ${row.height}` };
      let json: unknown;
      try {
        json = JSON.parse(row.block);
      } catch {
        return { ok: false, where, reason: 'not JSON' };
      }
      const parsed = parseCommittedBlockJson(json);
      if (!parsed.ok) return { ok: false, where, reason: `malformed: ${parsed.issues.join('; ')}` };
      const block = parsed.value;
      const h = block.header;
      if (h.height !== at) return { ok: false, where, reason: `header says height ${h.height}` };
      if (h.epoch !== state.membership.epoch) return { ok: false, where, reason: `header of epoch ${h.epoch}, but the chain is in epoch ${state.membership.epoch} here` };
      const certified = verifyCertificate(nodeBackend, state.membership, block.certificate);
      if (!certified.ok) return { ok: false, where, reason: `certificate: ${certified.reason}` };
      if (bytesToHex(headerHash(nodeBackend, block.certificate.header)) !== bytesToHex(headerHash(nodeBackend, h))) return { ok: false, where, reason: 'the certificate is for another header' };
      if (bytesToHex(h.prevHash) !== bytesToHex(prevHash)) return { ok: false, where, reason: 'prevHash does not link to the previous header' };
      if (bytesToHex(h.batchHash) !== bytesToHex(batchHash(nodeBackend, block.batch))) return { ok: false, where, reason: 'batchHash does not match the batch' };
      const exec = executor.apply(state, { seq: at, batch: block.batch, timestampMs: h.timestampMs });
      if (bytesToHex(exec.stateRoot) !== bytesToHex(h.stateRoot)) return { ok: false, where, reason: 're-executed state root differs from the certified one' };
      if (bytesToHex(exec.logRoot) !== bytesToHex(h.logRoot) || exec.logSize !== h.logSize) return { ok: false, where, reason: 're-executed log root differs from the certified one' };
      const nextHash = exec.nextMembership === undefined ? null : bytesToHex(membershipHash(nodeBackend, exec.nextMembership));
      if (nextHash !== (h.nextMembershipHash === null ? null : bytesToHex(h.nextMembershipHash))) return { ok: false, where, reason: 'the epoch boundary differs from re-execution (nextMembershipHash)' };
      state = exec.state;
      prevHash = headerHash(nodeBackend, h);
      logRoot = h.logRoot;
      logSize = h.logSize;
      height = at;
    }
    if (height === 0n) return { ok: false, where: 'blocks', reason: 'no committed block' };

    // Log leaves: the replica serves inclusion proofs from them, so they must be exactly the certified log.
    const leaves = new MerkleLog(nodeBackend);
    let expectedIndex = 0n;
    for (const row of db.prepare('SELECT idx, data FROM log_leaves ORDER BY idx').iterate() as IterableIterator<{ idx: bigint; data: Buffer }>) {
      if (row.idx !== expectedIndex) return { ok: false, where: `log leaf ${expectedIndex}`, reason: `missing: the next stored leaf is ${row.idx}` };
      leaves.append(new Uint8Array(row.data));
      expectedIndex++;
    }
    if (leaves.size !== logSize) return { ok: false, where: 'log leaves', reason: `${leaves.size} stored, the last certified header has ${logSize}` };
    if (bytesToHex(leaves.root()) !== bytesToHex(logRoot)) return { ok: false, where: 'log leaves', reason: 'the stored leaves do not hash to the certified log root' };

    // Signer journal: every link, entry hash and slot rule (docs/replica.md section 4).
    const entries: JournalEntry[] = [];
    for (const row of db.prepare(`SELECT ${JOURNAL_COLUMNS} FROM signer_journal ORDER BY idx`).iterate() as IterableIterator<JournalRow>) {
      try {
        entries.push(journalEntryFromRow(row));
      } catch (error) {
        return { ok: false, where: `signer journal entry ${row.idx}`, reason: error instanceof Error ? error.message : String(error) };
      }
    }
    const journal = verifyJournal(entries, nodeBackend);
    if (!journal.ok) return { ok: false, where: `signer journal entry ${journal.index}`, reason: journal.reason };
    return { ok: true, height, stateRoot: bytesToHex(state.map.root), logSize, journalEntries: entries.length };
  } finally {
    db.close();
  }
}

export interface RestoreOptions {
  force?: boolean;
  /** Accept a backup whose signer journal is behind the store it replaces (see the header comment). */
  forgetSignatures?: boolean;
}

/** Copies a backup into `dataDir` as its store; the replica must be stopped. */
export function restoreStore(fromFile: string, dataDir: string, opts: RestoreOptions = {}): { file: string; height: bigint; journalEntries: bigint } {
  const from = resolve(fromFile);
  if (!existsSync(from)) throw new BackupError(`no backup at ${from}`);
  const backup = storeCounts(from);
  const dir = resolve(dataDir);
  const target = join(dir, STORE_FILE);
  if (existsSync(target)) {
    if (!opts.force) throw new BackupError(`${target} exists: refusing to overwrite a replica store without --force (stop the replica first)`);
    let existing: { height: bigint; journalEntries: bigint } | undefined;
    try {
      existing = storeCounts(target);
    } catch {
      existing = undefined; // unreadable: that is what a restore is for
    }
    if (existing !== undefined && existing.journalEntries > backup.journalEntries && !opts.forgetSignatures) {
      throw new BackupError(
        `${target} has ${existing.journalEntries} signer journal entries, the backup ${backup.journalEntries}: the restored replica would forget signatures it made and could sign a conflicting vote. Keep the existing store, or pass --forget-signatures as well (docs/runbook.md)`,
      );
    }
  }
  mkdirSync(dir, { recursive: true });
  const partial = `${target}.restoring`;
  copyFileSync(from, partial);
  // A WAL or index left from the old store would be replayed onto the restored file: remove them first.
  // So is the old store's state snapshot: it belongs to that store (a restored replica re-executes its blocks once, then writes its own).
  for (const suffix of ['-wal', '-shm', '-journal', '.snapshot', '.snapshot.tmp']) rmSync(`${target}${suffix}`, { force: true });
  renameSync(partial, target);
  return { file: target, ...backup };
}

function usage(): number {
  process.stderr.write(
    'usage:\n' +
      '  backup.ts backup  --data <replica data dir> --out <file>\n' +
      '  backup.ts verify  <file> --genesis <genesis.json>\n' +
      '  backup.ts restore --from <file> --data <dir> [--force] [--forget-signatures] [--genesis <genesis.json>]\n',
  );
  return 2;
}

const print = (value: Record<string, unknown>) => process.stdout.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { data: { type: 'string' }, out: { type: 'string' }, from: { type: 'string' }, genesis: { type: 'string' }, force: { type: 'boolean' }, 'forget-signatures': { type: 'boolean' } },
  });
  switch (command) {
    case 'backup': {
      if (!values.data || !values.out) return usage();
      print({ event: 'backup-written', ...(await backupStore(values.data, values.out)) });
      return 0;
    }
    case 'verify': {
      const file = positionals[0];
      if (!file || !values.genesis) return usage();
      const verdict = verifyBackup(file, values.genesis);
      print({ event: verdict.ok ? 'backup-verified' : 'backup-verification-failed', file, ...verdict });
      return verdict.ok ? 0 : 1;
    }
    case 'restore': {
      if (!values.from || !values.data) return usage();
      // With a genesis, nothing unverified is restored.
      if (values.genesis) {
        const verdict = verifyBackup(values.from, values.genesis);
        if (!verdict.ok) {
          print({ event: 'restore-refused', reason: `the backup does not verify: ${verdict.where}: ${verdict.reason}` });
          return 1;
        }
      }
      print({ event: 'restored', ...restoreStore(values.from, values.data, { force: values.force === true, forgetSignatures: values['forget-signatures'] === true }) });
      return 0;
    }
    default:
      return usage();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
      process.exit(1);
    },
  );
}
