// `audit verify`: checks an archive offline against a pinned genesis. Nothing
// is fetched. In order (docs/audit.md section 3):
//   1. the archive's genesis.json is byte for byte the pinned genesis;
//   2. the signer journal (verifyJournal, in anchored runs);
//   3. every block: height sequence, prevHash link, certificate for exactly
//      this header by a quorum of the pinned membership, batch hash, and the
//      state and log roots by re-execution (ChainVerifier); the certificate's
//      COMMIT signatures join the equivocation check;
//   4. the archive's log heads and their consistency proofs, against the rebuilt log;
//   5. every audit-record message and every message nested in it: signature,
//      and the archive replica's own signatures must be in its journal;
//   6. the replica's recorded evidence: both messages signed, one slot, two digests;
//   7. the heads seen before (--heads): the rebuilt log extends each of them;
//   8. equivocation (one slot, two validly signed digests) written as evidence files.
// Every failure names the file, the line, the record and the replica.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommittedBlockJson, parsePeerMessageJson, type PeerMessage, peerMessageToJson } from '@vcr/consensus';
import { bytesToHex, headerHash, type Membership } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { parseGenesis, parseGenesisRegistry } from '../../apps/replica/src/genesis';
import { ARCHIVE_FILES, archivePath, GENESIS_FILE, loadManifest, type Manifest, readNdjson } from './archive';
import { ChainVerifier } from './chain';
import { type Equivocation, EquivocationFinder, voteDigest, writeEvidenceFiles } from './equivocation';
import { type ArchiveHead, checkArchiveHead, checkExtends, loadHeadsFile, parseArchiveHead, saveHeadsFile, type TrustedHead } from './heads';
import { JournalChecker, parseJournalEntryJson } from './journal';
import { describeMessage, isVote, SignatureChecker, signedParts } from './messages';
import { ProgressBar } from './progress';

export interface AuditFailure {
  file: string;
  line?: number;
  /** The record: "height 17", "audit id 40", "journal index 5". */
  record?: string;
  replica?: string;
  reason: string;
}

export function formatFailure(f: AuditFailure): string {
  const where = `${f.file}${f.line !== undefined ? ` line ${f.line}` : ''}${f.record ? ` (${f.record})` : ''}${f.replica ? ` replica ${f.replica}` : ''}`;
  return `${where}: ${f.reason}`;
}

export interface VerifyOptions {
  archiveDir: string;
  genesisFile: string;
  /** Heads verified before; the archive's final head is added when everything verifies. */
  headsFile?: string | undefined;
  evidenceDir: string;
  progress?: NodeJS.WritableStream | undefined;
}

export interface VerifyReport {
  ok: boolean;
  failures: AuditFailure[];
  replica: string;
  blocks: number;
  height: bigint;
  requests: number;
  logSize: bigint;
  logRoot: string;
  stateRoot: string;
  messages: number;
  messagesByType: Record<string, number>;
  signaturesVerified: number;
  journalEntries: number;
  replicaEvidence: number;
  /** NEW-VIEW messages seen: the views the cluster moved to, with their primary. */
  viewChanges: { view: bigint; primary: string }[];
  equivocations: Equivocation[];
  evidenceFiles: string[];
  headsChecked: number;
  timings: { totalMs: number; certificateMs: number; executionMs: number; messageSignatureMs: number };
}

/** Failures kept per file; past it the file is still checked, but only counted. */
const failuresPerFileMax = 20;

export async function verifyArchive(opts: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const failures: AuditFailure[] = [];
  const perFile = new Map<string, number>();
  const fail = (f: AuditFailure) => {
    const n = (perFile.get(f.file) ?? 0) + 1;
    perFile.set(f.file, n);
    if (n <= failuresPerFileMax) failures.push(f);
    else if (n === failuresPerFileMax + 1) failures.push({ file: f.file, reason: 'more failures in this file not listed' });
  };
  const dir = opts.archiveDir;
  const pinnedBytes = readFileSync(opts.genesisFile);
  const pinned = JSON.parse(pinnedBytes.toString('utf8')) as unknown;
  const membership = parseGenesis(pinned);
  const policy = parseGenesisRegistry(pinned);
  const manifest: Manifest | undefined = loadManifest(dir);
  const replicaId = manifest?.replica.id ?? '?';

  // 1. The archive is of the pinned chain.
  if (manifest === undefined) fail({ file: 'manifest.json', reason: 'missing: not an audit archive' });
  const archivedGenesis = (() => {
    try {
      return readFileSync(join(dir, GENESIS_FILE));
    } catch {
      return undefined;
    }
  })();
  const pinnedSha = createHash('sha256').update(pinnedBytes).digest('hex');
  if (archivedGenesis === undefined) fail({ file: GENESIS_FILE, reason: 'missing' });
  else if (createHash('sha256').update(archivedGenesis).digest('hex') !== pinnedSha) fail({ file: GENESIS_FILE, reason: `differs from the pinned genesis ${opts.genesisFile}` });
  if (manifest !== undefined && manifest.genesisSha256 !== pinnedSha) fail({ file: 'manifest.json', reason: `genesisSha256 ${manifest.genesisSha256} is not the pinned genesis's ${pinnedSha}` });
  if (manifest !== undefined && !manifest.complete) fail({ file: 'manifest.json', reason: 'the download did not finish (complete: false); run download again to resume' });

  // 2. The signer journal.
  const journal = new JournalChecker();
  {
    const file = ARCHIVE_FILES.signatures;
    for await (const row of readNdjson(archivePath(dir, 'signatures'))) {
      if ('error' in row) {
        fail({ file, line: row.line, reason: row.error });
        continue;
      }
      const parsed = parseJournalEntryJson(row.value);
      if (!parsed.ok) {
        fail({ file, line: row.line, replica: replicaId, reason: `malformed journal entry: ${parsed.issues}` });
        continue;
      }
      const bad = journal.add(parsed.entry, row.line);
      if (bad !== undefined) fail({ file, replica: replicaId, reason: bad });
    }
    const bad = journal.flush();
    if (bad !== undefined) fail({ file, replica: replicaId, reason: bad });
  }

  // 3. The chain.
  const chain = new ChainVerifier({ membership, policy, keepLog: true });
  // Every epoch's membership, as the verified chain's approved changes made them: what votes of that epoch are checked against.
  const memberships = new Map<bigint, Membership>([[membership.epoch, membership]]);
  const finder = new EquivocationFinder();
  const blocksBar = new ProgressBar('verify blk', manifest?.files.blocks.lines, opts.progress);
  let blockLines = 0;
  let certificateSignaturesMissingFromJournal = 0;
  {
    const file = ARCHIVE_FILES.blocks;
    for await (const row of readNdjson(archivePath(dir, 'blocks'))) {
      blockLines++;
      const at = chain.height + 1n;
      if ('error' in row) {
        fail({ file, line: row.line, record: `height ${at}`, reason: row.error });
        break;
      }
      const parsed = parseCommittedBlockJson(row.value);
      if (!parsed.ok) {
        fail({ file, line: row.line, record: `height ${at}`, reason: `block malformed: ${parsed.issues.join('; ')}` });
        break;
      }
      const verdict = chain.push(parsed.value);
      if (!verdict.ok) {
        fail({ file, line: row.line, record: `height ${at}`, reason: verdict.reason });
        break;
      }
      if (!memberships.has(chain.membership.epoch)) memberships.set(chain.membership.epoch, chain.membership);
      // A certificate is a quorum of COMMIT votes (signed over { headerHash, height, view }): each joins the equivocation check.
      const { header, commitView, signatures } = parsed.value.certificate;
      const hash = headerHash(nodeBackend, header);
      for (const s of signatures) {
        const commit = { type: 'commit' as const, epoch: header.epoch, from: s.replicaId, signature: s.signature, view: commitView, seq: header.height, headerHash: hash };
        finder.observe({ message: commit, where: `${file} line ${row.line} certificate of height ${header.height}` });
        if (s.replicaId === replicaId && journal.count > 0 && !journal.has(s.signature)) certificateSignaturesMissingFromJournal++;
      }
      blocksBar.advance(1);
    }
    blocksBar.finish();
    if (manifest !== undefined && failures.every((f) => f.file !== file) && blockLines !== manifest.files.blocks.lines) {
      fail({ file, reason: `has ${blockLines} blocks, the manifest recorded ${manifest.files.blocks.lines} (blocks dropped or added after download)` });
    }
    if (chain.height === 0n && failures.every((f) => f.file !== file)) fail({ file, reason: 'no committed block' });
    if (certificateSignaturesMissingFromJournal > 0) {
      fail({ file, replica: replicaId, reason: `${certificateSignaturesMissingFromJournal} certificate signatures by ${replicaId} are not in its signer journal` });
    }
  }
  const chainOk = failures.every((f) => f.file !== ARCHIVE_FILES.blocks);
  const log = chain.log;
  if (log === undefined) throw new Error('chain verifier built without its log');

  // 4. The archive's own log heads (one per download run).
  let headsChecked = 0;
  {
    const file = ARCHIVE_FILES.heads;
    let previous: ArchiveHead | undefined;
    for await (const row of readNdjson(archivePath(dir, 'heads'))) {
      if ('error' in row) {
        fail({ file, line: row.line, reason: row.error });
        continue;
      }
      const parsed = parseArchiveHead(row.value);
      if (!parsed.ok) {
        fail({ file, line: row.line, reason: `malformed head: ${parsed.issues}` });
        continue;
      }
      const head = parsed.head;
      if (!chainOk) {
        // Heads are checked against the rebuilt log, which stops where the chain failed.
        fail({ file, reason: `not checked: the chain failed at height ${chain.height + 1n}` });
        break;
      }
      if (head.height > chain.height) fail({ file, line: row.line, record: `height ${head.height}`, reason: `a head was seen at height ${head.height}, but the archive's verified blocks end at height ${chain.height}` });
      else {
        const bad = checkArchiveHead(log, head, previous);
        if (bad !== undefined) fail({ file, line: row.line, record: `height ${head.height}`, replica: replicaId, reason: bad });
      }
      headsChecked++;
      previous = head;
    }
    if (chainOk && manifest?.complete && previous === undefined) fail({ file, reason: 'no log head recorded' });
  }

  // 5. The audit record.
  const messagesByType: Record<string, number> = {};
  const viewChanges: { view: bigint; primary: string }[] = [];
  const checker = new SignatureChecker(memberships);
  let messages = 0;
  {
    const file = ARCHIVE_FILES.messages;
    const bar = new ProgressBar('verify msg', manifest?.files.messages.lines, opts.progress);
    let lastId = 0n;
    for await (const row of readNdjson(archivePath(dir, 'messages'))) {
      bar.advance(1);
      if ('error' in row) {
        fail({ file, line: row.line, reason: row.error });
        continue;
      }
      const r = row.value as { id?: unknown; message?: unknown };
      const id = typeof r.id === 'string' && /^[0-9]{1,19}$/.test(r.id) ? BigInt(r.id) : undefined;
      if (id === undefined || id <= lastId) {
        fail({ file, line: row.line, reason: `audit id ${String(r.id)} is not a decimal above the previous ${lastId} (rows dropped, duplicated or reordered)` });
        continue;
      }
      lastId = id;
      const parsed = parsePeerMessageJson(r.message);
      if (!parsed.ok) {
        fail({ file, line: row.line, record: `audit id ${id}`, reason: `message malformed: ${parsed.issues.join('; ')}` });
        continue;
      }
      messages++;
      const top = parsed.value;
      messagesByType[top.type] = (messagesByType[top.type] ?? 0) + 1;
      const bad = checkSignedParts(top, `${file} line ${row.line} (audit id ${id})`);
      if (bad !== undefined) {
        fail({ file, line: row.line, record: `audit id ${id}`, replica: bad.replica, reason: bad.reason });
        continue;
      }
      if (top.type === 'new-view') viewChanges.push({ view: top.view, primary: top.from });
    }
    bar.finish();
  }

  // 6. The replica's recorded evidence.
  let replicaEvidence = 0;
  {
    const file = ARCHIVE_FILES.evidence;
    for await (const row of readNdjson(archivePath(dir, 'evidence'))) {
      if ('error' in row) {
        fail({ file, line: row.line, reason: row.error });
        continue;
      }
      const r = row.value as { id?: unknown; replica?: unknown; first?: unknown; second?: unknown };
      const record = `evidence id ${String(r.id)}`;
      const first = parsePeerMessageJson(r.first);
      const second = parsePeerMessageJson(r.second);
      if (!first.ok || !second.ok) {
        fail({ file, line: row.line, record, reason: 'evidence messages malformed' });
        continue;
      }
      const a = first.value;
      const b = second.value;
      const where = `${file} line ${row.line} (${record})`;
      const bad = checkSignedParts(a, `${where} first`, false) ?? checkSignedParts(b, `${where} second`, false);
      if (bad !== undefined) {
        fail({ file, line: row.line, record, replica: bad.replica, reason: `the replica's evidence does not hold: ${bad.reason}` });
        continue;
      }
      if (!isVote(a) || !isVote(b) || a.from !== b.from || a.from !== r.replica || a.type !== b.type || a.epoch !== b.epoch || a.seq !== b.seq || (a.type !== 'checkpoint' && b.type !== 'checkpoint' && a.view !== b.view) || bytesToHex(voteDigest(a)) === bytesToHex(voteDigest(b))) {
        fail({ file, line: row.line, record, replica: String(r.replica), reason: "the replica's evidence does not hold: not two votes of one sender for one slot with different digests" });
        continue;
      }
      replicaEvidence++;
    }
  }

  // 7. Heads verified before.
  const trusted: TrustedHead[] = opts.headsFile !== undefined ? loadHeadsFile(opts.headsFile) : [];
  if (chainOk) {
    for (const [i, head] of trusted.entries()) {
      const bad = checkExtends(log, head);
      if (bad !== undefined) fail({ file: opts.headsFile ?? 'heads', record: `head ${i + 1} (size ${head.size})`, reason: bad });
      headsChecked++;
    }
  }

  // 8. Equivocation.
  const evidenceFiles = writeEvidenceFiles(opts.evidenceDir, finder.found, dir);
  const ok = failures.length === 0;
  if (ok && opts.headsFile !== undefined && chain.logSize > 0n) {
    const final = { size: chain.logSize, root: chain.logRoot, height: chain.height, seenAtMs: Date.now() };
    if (!trusted.some((h) => h.size === final.size)) saveHeadsFile(opts.headsFile, [...trusted, final]);
  }
  return {
    ok,
    failures,
    replica: replicaId,
    blocks: Number(chain.height),
    height: chain.height,
    requests: chain.requests,
    logSize: chain.logSize,
    logRoot: bytesToHex(chain.logRoot),
    stateRoot: bytesToHex(chain.stateRoot),
    messages,
    messagesByType,
    signaturesVerified: checker.verified,
    journalEntries: journal.count,
    replicaEvidence,
    viewChanges,
    equivocations: finder.found,
    evidenceFiles,
    headsChecked,
    timings: { totalMs: performance.now() - started, ...chain.timings, messageSignatureMs: checker.elapsedMs },
  };

  /** Checks every signed part of a message; records valid votes for equivocation. Returns the first failure. */
  function checkSignedParts(top: PeerMessage, where: string, ownMustBeJournaled = true): { replica: string; reason: string } | undefined {
    for (const part of signedParts(top)) {
      const m = part.message;
      const label = `${part.path === '' ? '' : `${part.path}: `}${describeMessage(m)}`;
      const bad = checker.check(m, part.path === '' ? undefined : `${bytesToHex(m.signature)}|${JSON.stringify(peerMessageToJson(m))}`);
      if (bad !== undefined) return { replica: m.from, reason: `${label}: ${bad}` };
      if (ownMustBeJournaled && m.from === replicaId && journal.count > 0 && !journal.has(m.signature)) return { replica: m.from, reason: `${label}: signed by ${replicaId} but not in its signer journal` };
      if (isVote(m)) finder.observe({ message: m, where: `${where}${part.path === '' ? '' : ` ${part.path}`}` });
    }
    return undefined;
  }
}
