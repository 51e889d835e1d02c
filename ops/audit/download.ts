// `audit download`: copies a replica's whole history into an archive, page by
// page, with a progress bar per stream. Nothing is trusted here: the archive
// holds what the replica said, and `audit verify` judges it offline. A second
// run on the same directory resumes where the last complete page ended, and
// records a new log head with the replica's consistency proof from the last one.

import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PEER_BODY_BYTES } from '@vcr/consensus';
import { errorSummary, requestJson } from '@vcr/client-sdk';
import { parseGenesis } from '../../apps/replica/src/genesis';
import { ARCHIVE_FORMAT, type ArchiveFile, archivePath, emptyFiles, GENESIS_FILE, loadManifest, type Manifest, saveManifest } from './archive';
import { ProgressBar } from './progress';

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    readonly code: 'http' | 'too-large' | 'malformed-answer' | 'genesis-mismatch' | 'other-replica',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DownloadOptions {
  replicaUrl: string;
  outDir: string;
  genesisFile: string;
  /** Where progress bars go; undefined for none. */
  progress?: NodeJS.WritableStream | undefined;
}

export interface DownloadSummary {
  added: Record<ArchiveFile, number>;
  manifest: Manifest;
  resumed: boolean;
}

const blocksPageMax = 256;
const auditPageMax = 500;
const requestTimeoutMs = 30_000;

/**
 * The most bytes read of one answer, by kind; an answer over its bound is refused before it is
 * all in memory. A peer message is at most MAX_PEER_BODY_BYTES of JSON.
 */
export const downloadAnswerBytesMax = {
  health: 64 * 1024,
  /** The replica sends blocks past the first only up to half a peer body, and one block fits a peer body (its own block fetcher reads this endpoint with the same bound). */
  blocks: MAX_PEER_BODY_BYTES,
  /** A page of audit messages or evidence rows (an evidence row holds two messages); a page over it is asked again with half as many rows. */
  auditPage: 4 * MAX_PEER_BODY_BYTES,
  /** A page of at most 500 signer-journal entries of under 1 KiB each. */
  journalPage: 4 * 1024 * 1024,
  /** An RFC 9162 consistency proof: at most about 2 * 63 hashes in hex, under 9 KiB. */
  consistency: 64 * 1024,
} as const;

type AnswerKind = keyof typeof downloadAnswerBytesMax;

/** GET a JSON answer of at most `downloadAnswerBytesMax[kind]` bytes (the SDK's requestJson); `acceptStatus` also takes that non-2xx status's body. */
async function getJson(url: string, kind: AnswerKind, acceptStatus?: number): Promise<unknown> {
  const bytesMax = downloadAnswerBytesMax[kind];
  const answer = await requestJson(fetch, { url, timeoutMs: requestTimeoutMs, maxBytes: bytesMax });
  if (!answer.ok) {
    if (answer.code === 'too-large') throw new DownloadError('too-large', `GET ${url}: the answer is larger than ${bytesMax} bytes (the bound for a ${kind} answer)`);
    if (answer.code === 'malformed') throw new DownloadError('malformed-answer', `GET ${url}: the answer is not JSON (${answer.detail})`);
    throw new DownloadError('http', `GET ${url} failed: ${answer.detail}`);
  }
  if ((answer.status < 200 || answer.status > 299) && answer.status !== acceptStatus) throw new DownloadError('http', `GET ${url}: ${errorSummary(answer.status, answer.body)}`);
  return answer.body;
}

function field<T>(untrusted: unknown, name: string, check: (v: unknown) => v is T, url: string): T {
  const value = typeof untrusted === 'object' && untrusted !== null ? (untrusted as Record<string, unknown>)[name] : undefined;
  if (!check(value)) throw new DownloadError('malformed-answer', `${url}: answer has no valid "${name}"`);
  return value;
}

const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';

export async function downloadArchive(opts: DownloadOptions): Promise<DownloadSummary> {
  const base = opts.replicaUrl.replace(/\/+$/, '');
  const dir = opts.outDir;
  mkdirSync(dir, { recursive: true });
  const genesisBytes = readFileSync(opts.genesisFile);
  const membership = parseGenesis(JSON.parse(genesisBytes.toString('utf8')));
  const genesisSha256 = createHash('sha256').update(genesisBytes).digest('hex');
  // /healthz answers 503 during a view change; its body still names the replica.
  const health = await getJson(`${base}/healthz`, 'health', 503);
  const replicaId = field(health, 'replicaId', isString, `${base}/healthz`);
  const committed = field(health, 'committed', isNumber, `${base}/healthz`);

  const previous = loadManifest(dir);
  const now = Date.now();
  let manifest: Manifest;
  if (previous !== undefined) {
    if (previous.genesisSha256 !== genesisSha256) throw new DownloadError('genesis-mismatch', `${dir} was downloaded with another genesis (sha256 ${previous.genesisSha256})`);
    if (previous.replica.id !== replicaId) throw new DownloadError('other-replica', `${dir} holds replica ${previous.replica.id}'s history; ${base} is ${replicaId}`);
    // Cut every file back to its last complete page: a run that died mid-page left a partial one.
    for (const name of Object.keys(previous.files) as ArchiveFile[]) {
      const path = archivePath(dir, name);
      if (existsSync(path) && statSync(path).size > previous.files[name].bytes) truncateSync(path, previous.files[name].bytes);
    }
    manifest = { ...previous, replica: { url: base, id: replicaId }, complete: false };
  } else {
    writeFileSync(join(dir, GENESIS_FILE), genesisBytes);
    manifest = {
      format: ARCHIVE_FORMAT,
      replica: { url: base, id: replicaId },
      chainId: membership.chainId,
      genesisSha256,
      createdAtMs: now,
      updatedAtMs: now,
      files: emptyFiles(),
      cursors: { nextHeight: '1', messagesAfter: '0', evidenceAfter: '0', journalFrom: '0' },
      complete: false,
    };
    for (const name of Object.keys(manifest.files) as ArchiveFile[]) writeFileSync(archivePath(dir, name), '');
  }
  saveManifest(dir, manifest);

  const added = { blocks: 0, messages: 0, evidence: 0, signatures: 0, heads: 0 } satisfies Record<ArchiveFile, number>;
  const append = (file: ArchiveFile, values: readonly unknown[]) => {
    if (values.length === 0) return;
    const text = values.map((v) => JSON.stringify(v) + '\n').join('');
    appendFileSync(archivePath(dir, file), text);
    manifest.files[file].lines += values.length;
    manifest.files[file].bytes += Buffer.byteLength(text);
    added[file] += values.length;
  };
  const commit = () => {
    manifest.updatedAtMs = Date.now();
    saveManifest(dir, manifest);
  };

  // Blocks, in height order; the last one's certified header becomes this run's log head.
  let lastBlock: unknown;
  {
    let next = BigInt(manifest.cursors.nextHeight);
    const bar = new ProgressBar('blocks', Math.max(committed - Number(next) + 1, 0), opts.progress);
    for (;;) {
      const url = `${base}/v1/peer/blocks?from=${next}&limit=${blocksPageMax}`;
      const blocks = field(await getJson(url, 'blocks'), 'blocks', isArray, url);
      if (blocks.length === 0) break;
      append('blocks', blocks);
      next += BigInt(blocks.length);
      lastBlock = blocks.at(-1);
      manifest.cursors.nextHeight = next.toString();
      commit();
      bar.advance(blocks.length);
    }
    bar.finish();
  }

  // The audit record, oldest first by id; the newest id sizes the progress bar.
  {
    const newestUrl = `${base}/v1/audit/messages?order=desc&limit=1`;
    const newest = field(await getJson(newestUrl, 'auditPage'), 'messages', isArray, newestUrl)[0] as { id?: unknown } | undefined;
    const after = BigInt(manifest.cursors.messagesAfter);
    const total = typeof newest?.id === 'string' ? Math.max(Number(newest.id) - Number(after), 0) : undefined;
    await pageById('messages', `${base}/v1/audit/messages`, 'messagesAfter', new ProgressBar('messages', total, opts.progress));
  }
  await pageById('evidence', `${base}/v1/audit/evidence`, 'evidenceAfter', new ProgressBar('evidence', undefined, opts.progress));

  // The signer journal, by entry index.
  {
    const bar = new ProgressBar('signatures', undefined, opts.progress);
    let from = BigInt(manifest.cursors.journalFrom);
    for (;;) {
      const url = `${base}/v1/audit/signatures?from=${from}&limit=${auditPageMax}`;
      const entries = field(await getJson(url, 'journalPage'), 'entries', isArray, url);
      if (entries.length === 0) break;
      append('signatures', entries);
      from += BigInt(entries.length);
      manifest.cursors.journalFrom = from.toString();
      commit();
      bar.advance(entries.length);
    }
    bar.finish();
  }

  await recordHead(base, dir, lastBlock, append);
  manifest.complete = true;
  commit();
  return { added, manifest, resumed: previous !== undefined };

  async function pageById(file: 'messages' | 'evidence', endpoint: string, cursor: 'messagesAfter' | 'evidenceAfter', bar: ProgressBar): Promise<void> {
    let limit = auditPageMax;
    for (;;) {
      const url = `${endpoint}?after=${manifest.cursors[cursor]}&limit=${limit}`;
      let answer: unknown;
      try {
        answer = await getJson(url, 'auditPage');
      } catch (error) {
        // Rows of large batches: ask for fewer. One row always fits, so a single one too large is refused.
        if (!(error instanceof DownloadError && error.code === 'too-large' && limit > 1)) throw error;
        limit = Math.ceil(limit / 2);
        continue;
      }
      const rows = field(answer, file, isArray, url);
      if (rows.length === 0) break;
      const lastId = (rows.at(-1) as { id?: unknown }).id;
      if (typeof lastId !== 'string' || !/^[0-9]{1,19}$/.test(lastId)) throw new DownloadError('malformed-answer', `${url}: row without a decimal id`);
      append(file, rows);
      manifest.cursors[cursor] = lastId;
      commit();
      bar.advance(rows.length);
      if (rows.length < limit) break;
    }
    bar.finish();
  }
}

/**
 * Appends this run's log head (the certified header of the last block
 * downloaded) and, when an earlier run recorded a smaller head, the replica's
 * RFC 9162 consistency proof between the two. `audit verify` checks both.
 */
async function recordHead(base: string, dir: string, lastBlock: unknown, append: (file: ArchiveFile, values: readonly unknown[]) => void): Promise<void> {
  const header = (lastBlock as { certificate?: { header?: { height?: unknown; logSize?: unknown; logRoot?: unknown } } } | undefined)?.certificate?.header;
  if (header === undefined) return; // no new block since the last run: the last head stands
  const { height, logSize, logRoot } = header;
  if (typeof height !== 'string' || typeof logSize !== 'string' || typeof logRoot !== 'string') throw new DownloadError('malformed-answer', 'last block has no certified header');
  const previous = lastHead(archivePath(dir, 'heads'));
  let consistency: { fromSize: string; fromRoot: string; proof: unknown } | undefined;
  if (previous !== undefined && previous.logSize !== '0' && BigInt(previous.logSize) < BigInt(logSize)) {
    const url = `${base}/v1/log/consistency?from=${previous.logSize}&to=${logSize}`;
    consistency = { fromSize: previous.logSize, fromRoot: previous.logRoot, proof: field(await getJson(url, 'consistency'), 'proof', isArray, url) };
  }
  append('heads', [{ seenAtMs: Date.now(), height, logSize, logRoot, ...(consistency ? { consistency } : {}) }]);
}

function lastHead(path: string): { logSize: string; logRoot: string } | undefined {
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  return last === undefined ? undefined : (JSON.parse(last) as { logSize: string; logRoot: string });
}
