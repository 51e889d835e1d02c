// The audit archive (docs/audit.md section 2): a directory of NDJSON files,
// one JSON value per line in the replica's own wire form, plus a manifest.
// Lines are never rewritten, only appended, so a download can resume: the
// manifest records each file's length in bytes after the last complete page,
// and a resumed download first cuts every file back to that length.

import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ARCHIVE_FORMAT = 'vcr-audit-archive/1';

/** The NDJSON files of an archive, in the order a download fills them. */
export const ARCHIVE_FILES = {
  /** One committed block per line (`{ header, batch, certificate }`), heights 1, 2, 3, ... */
  blocks: 'blocks.ndjson',
  /** One audit record row per line (`{ id, receivedAtMs, message }`), ids increasing. */
  messages: 'messages.ndjson',
  /** One evidence row per line (`{ id, detectedAtMs, replica, epoch, view, seq, phase, first, second }`). */
  evidence: 'evidence.ndjson',
  /** The replica's signer journal, one entry per line, indices 0, 1, 2, ... */
  signatures: 'signatures.ndjson',
  /** One log head per download run: the last downloaded block's certified head, with the replica's consistency proof from the previous head. */
  heads: 'heads.ndjson',
} as const;

export type ArchiveFile = keyof typeof ARCHIVE_FILES;

export const GENESIS_FILE = 'genesis.json';
export const MANIFEST_FILE = 'manifest.json';

export interface Manifest {
  format: typeof ARCHIVE_FORMAT;
  /** The replica the archive was downloaded from (its URL and its id from /healthz). */
  replica: { url: string; id: string };
  chainId: string;
  /** SHA-256 of genesis.json, the pinned genesis file copied byte for byte. */
  genesisSha256: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** Lines and bytes of each file after the last complete page. */
  files: Record<ArchiveFile, { lines: number; bytes: number }>;
  /** Where the next download run resumes (decimal strings). */
  cursors: { nextHeight: string; messagesAfter: string; evidenceAfter: string; journalFrom: string };
  /** True once a download run reached the end of every stream. */
  complete: boolean;
}

export function emptyFiles(): Manifest['files'] {
  const files = {} as Manifest['files'];
  for (const name of Object.keys(ARCHIVE_FILES) as ArchiveFile[]) files[name] = { lines: 0, bytes: 0 };
  return files;
}

export function loadManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<Manifest>;
  if (raw.format !== ARCHIVE_FORMAT) throw new Error(`${path}: not a ${ARCHIVE_FORMAT} manifest (format ${String(raw.format)})`);
  return raw as Manifest;
}

/** Writes the manifest atomically (write, then rename), so a crash leaves the old or the new one. */
export function saveManifest(dir: string, manifest: Manifest): void {
  const path = join(dir, MANIFEST_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

export interface NdjsonLine {
  /** 1-based line number in the file, for reports. */
  line: number;
  value: unknown;
}

/**
 * Reads an NDJSON file line by line without loading it whole. A line that is
 * not JSON is yielded as an Error value so the caller reports it with its line.
 */
export async function* readNdjson(path: string): AsyncGenerator<NdjsonLine | { line: number; error: string }> {
  if (!existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    try {
      yield { line, value: JSON.parse(text) as unknown };
    } catch (cause) {
      yield { line, error: `not JSON (${cause instanceof Error ? cause.message : String(cause)})` };
    }
  }
}

export function archivePath(dir: string, file: ArchiveFile): string {
  return join(dir, ARCHIVE_FILES[file]);
}
