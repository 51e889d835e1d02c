// Restart in O(state) (issue 17, docs/replica.md section 3 "Snapshots"): the
// authenticated state after a committed block is written to one file, off the
// event loop's critical path, and a restart rebuilds the map from it in one
// bulk build and re-executes only the blocks after it. A snapshot is trusted
// only once it reproduces the state root, log root and log size of the
// certified header it names, which this replica stored after verifying it;
// a snapshot that does not refuses the start, with the reason.

import { existsSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  bytesToHex,
  type CryptoBackend,
  equalBytes,
  headerHash,
  LogFrontier,
  type Membership,
  membershipHash,
  membershipToJson,
  MerkleMapSnapshot,
  parseMembershipJson,
  verifyCertificate,
} from '@vcr/proofs';
import type { CommittedBlock } from '@vcr/consensus';
import type { RegistryState } from './registry';
import { decodeSnapshot, encodeEntries, encodeSnapshotHead, snapshotHasher, type SnapshotHeader } from './storage/snapshot-file';

export const snapshotLimits = {
  /** A new snapshot once the log grew by this many entries since the last one (what a restart would otherwise re-execute). */
  entriesBetweenSnapshots: 10_000,
  /** Or once this many blocks committed since the last one, entries or not (heartbeat blocks are re-executed at a restart too; about 68 minutes of them). */
  blocksBetweenSnapshots: 2_048,
  /** Entries encoded per write while a snapshot is written: each write yields the event loop. */
  entriesPerWrite: 4_096,
} as const;

export type SnapshotRefusalCode =
  | 'snapshot-unreadable'
  | 'snapshot-other-chain'
  | 'snapshot-header-mismatch'
  | 'snapshot-state-root-mismatch'
  | 'snapshot-log-root-mismatch'
  | 'snapshot-membership-mismatch';

/** How often snapshots are written: after this many new log entries, or this many new blocks (empty ones cost a restart too). */
export interface SnapshotSchedule {
  entries: number;
  blocks: number;
}

/** The replica refuses to start from this snapshot (the message says why and what to do). */
export class SnapshotRefused extends Error {
  override name = 'SnapshotRefused';
  constructor(
    readonly code: SnapshotRefusalCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Where the epoch of a state began: the block that ended the one before, and that epoch's membership. */
export interface EpochStart {
  block: CommittedBlock;
  previous: Membership;
}

export interface LoadedSnapshot {
  state: RegistryState;
  block: CommittedBlock;
  epochStart: EpochStart | undefined;
  entries: number;
}

export interface SnapshotSource {
  path: string;
  backend: CryptoBackend;
  genesis: Membership;
  /** The highest height this replica's store holds. */
  lastHeight: bigint;
  /** A block this replica stored (verified before it was stored), or undefined. */
  loadBlock(height: bigint): CommittedBlock | undefined;
  log(line: Record<string, unknown>): void;
}

/**
 * The newest snapshot, verified against the certified header of its block; undefined when there
 * is none, or when it is of a block this store does not hold (a store wiped or restored from an
 * older backup: no certified header to check it against, so it is set aside and every block is
 * re-executed). Throws SnapshotRefused when it is unreadable or disagrees with its header.
 */
export function loadVerifiedSnapshot(src: SnapshotSource): LoadedSnapshot | undefined {
  if (!existsSync(src.path)) return undefined;
  const decoded = decodeSnapshot(readFileSync(src.path));
  const refuse = (code: SnapshotRefusalCode, why: string) =>
    new SnapshotRefused(code, `${why} (snapshot ${src.path}); the replica will not start from a state it cannot prove. Move the file away to restart by re-executing every stored block`);
  if (!decoded.ok) throw refuse('snapshot-unreadable', `${decoded.reason}: ${decoded.detail}`);
  const h = decoded.header;
  if (h.chainId !== src.genesis.chainId) throw refuse('snapshot-other-chain', `the snapshot is of chain ${JSON.stringify(h.chainId)}, this replica's is ${JSON.stringify(src.genesis.chainId)}`);
  if (h.height > src.lastHeight) {
    src.log({ event: 'snapshot-set-aside', height: h.height.toString(), storeHeight: src.lastHeight.toString(), note: 'the snapshot is of a block this store does not hold: re-executing every stored block' });
    return undefined;
  }
  const block = src.loadBlock(h.height);
  if (block === undefined || !equalBytes(headerHash(src.backend, block.header), h.headerHash)) {
    throw refuse('snapshot-header-mismatch', `the snapshot names header ${bytesToHex(h.headerHash)} at height ${h.height}, which is not the certified header this replica stored there`);
  }
  let map: MerkleMapSnapshot;
  let frontier: LogFrontier;
  try {
    map = MerkleMapSnapshot.fromEntries(src.backend, decoded.entries);
    frontier = LogFrontier.fromHashes(src.backend, h.logSize, h.frontier);
  } catch (error) {
    throw refuse('snapshot-unreadable', `its entries or log frontier are not well formed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!equalBytes(map.root, block.header.stateRoot)) {
    throw refuse('snapshot-state-root-mismatch', `its ${decoded.entries.length} entries give state root ${bytesToHex(map.root)}, but the certified header of block ${h.height} has ${bytesToHex(block.header.stateRoot)}`);
  }
  if (frontier.size !== block.header.logSize || !equalBytes(frontier.root(), block.header.logRoot)) {
    throw refuse('snapshot-log-root-mismatch', `its log frontier gives size ${frontier.size} and root ${bytesToHex(frontier.root())}, but the certified header of block ${h.height} has size ${block.header.logSize} and root ${bytesToHex(block.header.logRoot)}`);
  }
  const epoch = verifiedEpoch(src, h, refuse);
  return { state: { map, log: frontier, membership: epoch.membership }, block, epochStart: epoch.start, entries: decoded.entries.length };
}

/**
 * The state's membership is not under the state root: it is checked against the certified chain
 * instead. In the genesis epoch it must be the genesis membership; later, the block that ended the
 * previous epoch must commit to its hash, and that block's certificate must verify under the
 * previous membership the snapshot names.
 */
function verifiedEpoch(src: SnapshotSource, h: SnapshotHeader, refuse: (code: SnapshotRefusalCode, why: string) => SnapshotRefused): { membership: Membership; start: EpochStart | undefined } {
  const membership = parseMembershipText(h.membership);
  if (membership === undefined) throw refuse('snapshot-unreadable', 'its membership does not parse');
  const hashOf = (m: Membership) => membershipHash(src.backend, m);
  if (h.epochStartHeight === 0n) {
    if (!equalBytes(hashOf(membership), hashOf(src.genesis))) throw refuse('snapshot-membership-mismatch', 'it claims the genesis epoch with another membership than the genesis file');
    return { membership, start: undefined };
  }
  const previous = parseMembershipText(h.previousMembership);
  const block = h.epochStartHeight <= h.height ? src.loadBlock(h.epochStartHeight) : undefined;
  if (previous === undefined || block === undefined || block.header.nextMembershipHash === null || !equalBytes(block.header.nextMembershipHash, hashOf(membership))) {
    throw refuse('snapshot-membership-mismatch', `block ${h.epochStartHeight} does not end an epoch into the membership the snapshot names`);
  }
  if (!verifyCertificate(src.backend, previous, block.certificate).ok) throw refuse('snapshot-membership-mismatch', `the certificate of block ${h.epochStartHeight} does not verify under the previous membership the snapshot names`);
  return { membership, start: { block, previous } };
}

function parseMembershipText(text: string): Membership | undefined {
  try {
    const parsed = parseMembershipJson(JSON.parse(text));
    return parsed.ok ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes snapshots, one at a time. The state handed over is immutable (the executor never
 * changes a state), so it is encoded a few thousand entries per write while the replica goes on;
 * the file is synced and renamed into place whole, so a crash leaves the previous snapshot.
 */
export class SnapshotWriter {
  private writing = false;
  private last: { height: bigint; logSize: bigint };

  constructor(
    private readonly path: string,
    private readonly backend: CryptoBackend,
    private readonly log: (line: Record<string, unknown>) => void,
    private readonly schedule: SnapshotSchedule = { entries: snapshotLimits.entriesBetweenSnapshots, blocks: snapshotLimits.blocksBetweenSnapshots },
    loaded: { height: bigint; logSize: bigint } | undefined,
  ) {
    this.last = loaded ?? { height: 0n, logSize: 0n };
  }

  /** Is a snapshot of this block due (enough entries or blocks since the last one) and none being written? */
  due(height: bigint, logSize: bigint): boolean {
    if (this.writing) return false;
    return logSize - this.last.logSize >= BigInt(this.schedule.entries) || height - this.last.height >= BigInt(this.schedule.blocks);
  }

  /** Starts writing the state after `block`; call only once that block is durable in the store. */
  write(state: RegistryState, block: CommittedBlock, epochStart: EpochStart | undefined): void {
    if (this.writing) return;
    this.writing = true;
    const started = performance.now();
    const header: SnapshotHeader = {
      chainId: state.membership.chainId,
      height: block.header.height,
      headerHash: headerHash(this.backend, block.header),
      logSize: state.log.size,
      frontier: state.log.hashes(),
      epochStartHeight: epochStart?.block.header.height ?? 0n,
      membership: JSON.stringify(membershipToJson(state.membership)),
      previousMembership: epochStart === undefined ? '' : JSON.stringify(membershipToJson(epochStart.previous)),
      entryCount: state.map.size,
    };
    writeFile(this.path, header, state.map)
      .then(() => {
        this.last = { height: header.height, logSize: header.logSize };
        this.log({ event: 'snapshot-written', height: header.height.toString(), entries: header.entryCount, logSize: header.logSize.toString(), ms: Math.round(performance.now() - started) });
      })
      .catch((error: unknown) => {
        // The previous snapshot stays; a restart replays a little more. Worth a log line, not a stop.
        this.log({ event: 'snapshot-failed', height: header.height.toString(), error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => {
        this.writing = false;
      });
  }
}

async function writeFile(path: string, header: SnapshotHeader, map: MerkleMapSnapshot): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  const trailer = snapshotHasher();
  try {
    const put = async (bytes: Uint8Array) => {
      trailer.update(bytes);
      await file.write(bytes);
    };
    await put(encodeSnapshotHead(header));
    let chunk: [string, { value: Uint8Array; revision: bigint }][] = [];
    let written = 0;
    for (const entry of map.entries()) {
      chunk.push(entry);
      if (chunk.length === snapshotLimits.entriesPerWrite) {
        await put(encodeEntries(chunk));
        written += chunk.length;
        chunk = [];
      }
    }
    await put(encodeEntries(chunk));
    written += chunk.length;
    if (written !== header.entryCount) throw new Error(`the map yielded ${written} entries, its size is ${header.entryCount}`);
    await file.write(trailer.digest());
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  // The rename is durable once the directory is synced.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
