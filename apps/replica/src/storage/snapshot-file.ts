// The state snapshot file (docs/replica.md section 3, "Snapshots"): the
// authenticated state after one committed block, so a restart rebuilds the
// map from its leaves in one bulk build and replays only the blocks after it.
// This module knows the bytes only; whether a snapshot may be trusted is
// decided against the certified header it names (state-snapshot.ts).
//
// Layout (all integers big-endian):
//   magic   "vcr-snapshot/1\n" (15 bytes)
//   u32     length of the header, then the header: canonical CBOR of
//           { chainId, height, headerHash, logSize, frontier: [hash...],
//             epochStartHeight, membership, previousMembership, entryCount }
//           (membership and previousMembership as JSON text, previous "" in epoch 0)
//   entries entryCount times: u16 key length, key (UTF-8), u64 revision,
//           u32 value length, value; in the map's path order
//   trailer SHA-256 of everything before it (32 bytes)
// The trailer catches a torn or damaged file before anything is built from
// it; it proves nothing about the state, which the certified roots do.

import { createHash } from 'node:crypto';
import { decodeCanonical, encodeCanonical, type MapEntry } from '@vcr/proofs';

export const SNAPSHOT_MAGIC = 'vcr-snapshot/1\n';
const MAGIC_BYTES = new TextEncoder().encode(SNAPSHOT_MAGIC);
const TRAILER_BYTES = 32;

export interface SnapshotHeader {
  chainId: string;
  /** The block whose post-state this is. */
  height: bigint;
  /** That block's header hash: the snapshot belongs to exactly this certified header. */
  headerHash: Uint8Array;
  logSize: bigint;
  /** The log's compact range (LogFrontier.hashes()). */
  frontier: Uint8Array[];
  /** The block that ended the previous epoch (0 in the genesis epoch). */
  epochStartHeight: bigint;
  /** Membership of the state's epoch, and of the one before ("" in epoch 0), as wire JSON text. */
  membership: string;
  previousMembership: string;
  entryCount: number;
}

export type SnapshotDecodeError = 'truncated' | 'bad-magic' | 'bad-trailer' | 'bad-header' | 'bad-entry' | 'trailing-bytes';

export type DecodedSnapshot = { ok: true; header: SnapshotHeader; entries: [string, MapEntry][] } | { ok: false; reason: SnapshotDecodeError; detail: string };

/** The file's leading bytes (magic and header); entries follow from `encodeEntries`, the trailer from `trailerOf`. */
export function encodeSnapshotHead(header: SnapshotHeader): Uint8Array {
  const body = encodeCanonical({
    chainId: header.chainId,
    height: header.height,
    headerHash: header.headerHash,
    logSize: header.logSize,
    frontier: header.frontier,
    epochStartHeight: header.epochStartHeight,
    membership: header.membership,
    previousMembership: header.previousMembership,
    entryCount: BigInt(header.entryCount),
  });
  const out = new Uint8Array(MAGIC_BYTES.length + 4 + body.length);
  out.set(MAGIC_BYTES, 0);
  new DataView(out.buffer).setUint32(MAGIC_BYTES.length, body.length);
  out.set(body, MAGIC_BYTES.length + 4);
  return out;
}

/** A run of entries in the file's form. */
export function encodeEntries(entries: readonly (readonly [string, MapEntry])[]): Buffer {
  const keys = entries.map(([key]) => Buffer.from(key, 'utf8'));
  const size = entries.reduce((n, [, entry], i) => n + 2 + (keys[i] as Buffer).length + 8 + 4 + entry.value.length, 0);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  entries.forEach(([, entry], i) => {
    const key = keys[i] as Buffer;
    at = out.writeUInt16BE(key.length, at);
    at += key.copy(out, at);
    at = out.writeBigUInt64BE(entry.revision, at);
    at = out.writeUInt32BE(entry.value.length, at);
    out.set(entry.value, at);
    at += entry.value.length;
  });
  return out;
}

/** A running SHA-256 over what was written, for the trailer. */
export function snapshotHasher(): { update(bytes: Uint8Array): void; digest(): Uint8Array } {
  const hash = createHash('sha256');
  return { update: (bytes) => void hash.update(bytes), digest: () => new Uint8Array(hash.digest()) };
}

const fail = (reason: SnapshotDecodeError, detail: string): DecodedSnapshot => ({ ok: false, reason, detail });

/** Parses a whole snapshot file; never throws on bad bytes. */
export function decodeSnapshot(untrusted: Uint8Array): DecodedSnapshot {
  const bytes = Buffer.from(untrusted.buffer, untrusted.byteOffset, untrusted.length);
  if (bytes.length < MAGIC_BYTES.length + 4 + TRAILER_BYTES) return fail('truncated', `${bytes.length} bytes is shorter than any snapshot`);
  if (!bytes.subarray(0, MAGIC_BYTES.length).equals(MAGIC_BYTES)) return fail('bad-magic', `the file does not start with ${JSON.stringify(SNAPSHOT_MAGIC)}`);
  const end = bytes.length - TRAILER_BYTES;
  const digest = createHash('sha256').update(bytes.subarray(0, end)).digest();
  if (!digest.equals(bytes.subarray(end))) return fail('bad-trailer', 'the SHA-256 trailer does not match the contents (torn or damaged file)');
  const headerLength = bytes.readUInt32BE(MAGIC_BYTES.length);
  let at = MAGIC_BYTES.length + 4;
  if (at + headerLength > end) return fail('truncated', 'the header runs past the end of the file');
  const header = parseHeader(bytes.subarray(at, at + headerLength));
  if (header === undefined) return fail('bad-header', 'the header is not the canonical CBOR of a snapshot header');
  at += headerLength;
  const entries: [string, MapEntry][] = [];
  for (let i = 0; i < header.entryCount; i++) {
    if (at + 2 > end) return fail('truncated', `entry ${i} of ${header.entryCount} is missing`);
    const keyLength = bytes.readUInt16BE(at);
    if (at + 2 + keyLength + 12 > end) return fail('truncated', `entry ${i} runs past the end of the file`);
    const key = bytes.toString('utf8', at + 2, at + 2 + keyLength);
    at += 2 + keyLength;
    const revision = bytes.readBigUInt64BE(at);
    const valueLength = bytes.readUInt32BE(at + 8);
    at += 12;
    if (at + valueLength > end) return fail('truncated', `the value of entry ${i} runs past the end of the file`);
    entries.push([key, { value: new Uint8Array(bytes.subarray(at, at + valueLength)), revision }]);
    at += valueLength;
  }
  if (at !== end) return fail('trailing-bytes', `${end - at} bytes after the last entry`);
  return { ok: true, header, entries };
}

function parseHeader(bytes: Uint8Array): SnapshotHeader | undefined {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) return undefined;
  const v = decoded.value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return undefined;
  const big = (x: unknown) => (typeof x === 'bigint' ? x : typeof x === 'number' && Number.isSafeInteger(x) ? BigInt(x) : undefined);
  const height = big(v.height);
  const logSize = big(v.logSize);
  const epochStartHeight = big(v.epochStartHeight);
  const entryCount = big(v.entryCount);
  const { chainId, headerHash, frontier, membership, previousMembership } = v;
  if (height === undefined || logSize === undefined || epochStartHeight === undefined || entryCount === undefined || entryCount > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  if (typeof chainId !== 'string' || !(headerHash instanceof Uint8Array) || typeof membership !== 'string' || typeof previousMembership !== 'string') return undefined;
  if (!Array.isArray(frontier) || !frontier.every((h) => h instanceof Uint8Array)) return undefined;
  return { chainId, height, headerHash, logSize, frontier: frontier as Uint8Array[], epochStartHeight, membership, previousMembership, entryCount: Number(entryCount) };
}
