// Equivocation found offline (DESIGN section 4): two validly signed messages
// from one replica for one slot (epoch, view, seq, phase; checkpoints have no
// view) with different digests. The same rule as the consensus core's
// EquivocationTracker (packages/consensus/src/evidence.ts), but it also keeps
// where each message was found, so the evidence file and the report can cite
// the archive's file and line. Each conflict is written as one JSON file with
// both signed messages in their wire form: anyone can re-verify it alone.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, headerHash } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { peerMessageToJson } from '@vcr/consensus';
import type { VoteMessage } from './messages';

export interface Sighting {
  message: VoteMessage;
  /** "messages.ndjson line 12 (audit id 40)", "blocks.ndjson line 7 certificate" */
  where: string;
}

export interface Equivocation {
  replica: string;
  epoch: bigint;
  view: bigint | null;
  seq: bigint;
  phase: VoteMessage['type'];
  first: Sighting;
  second: Sighting;
}

export function voteDigest(m: VoteMessage): Uint8Array {
  return m.type === 'pre-prepare' ? headerHash(nodeBackend, m.header) : m.headerHash;
}

export class EquivocationFinder {
  private readonly seen = new Map<string, { digest: string; sighting: Sighting }>();
  private readonly reported = new Set<string>();
  readonly found: Equivocation[] = [];

  /** Records a vote whose signature already verified; returns the conflict the first time one appears for its slot. */
  observe(sighting: Sighting): Equivocation | undefined {
    const m = sighting.message;
    const view = m.type === 'checkpoint' ? null : m.view;
    const key = `${m.from}|${m.epoch}|${view ?? '-'}|${m.seq}|${m.type}`;
    const digest = bytesToHex(voteDigest(m));
    const first = this.seen.get(key);
    if (first === undefined) {
      this.seen.set(key, { digest, sighting });
      return undefined;
    }
    if (first.digest === digest || this.reported.has(key)) return undefined;
    this.reported.add(key);
    const found: Equivocation = { replica: m.from, epoch: m.epoch, view, seq: m.seq, phase: m.type, first: first.sighting, second: sighting };
    this.found.push(found);
    return found;
  }
}

export function evidenceFileName(e: Equivocation): string {
  return `equivocation-${e.replica}-e${e.epoch}-${e.view === null ? '' : `v${e.view}-`}s${e.seq}-${e.phase}.json`;
}

/** Writes one evidence file per equivocation; returns the paths written. */
export function writeEvidenceFiles(dir: string, found: readonly Equivocation[], source: string): string[] {
  if (found.length === 0) return [];
  mkdirSync(dir, { recursive: true });
  return found.map((e) => {
    const path = join(dir, evidenceFileName(e));
    const body = {
      kind: 'equivocation',
      replica: e.replica,
      epoch: e.epoch.toString(),
      view: e.view === null ? null : e.view.toString(),
      seq: e.seq.toString(),
      phase: e.phase,
      firstDigest: bytesToHex(voteDigest(e.first.message)),
      secondDigest: bytesToHex(voteDigest(e.second.message)),
      first: { foundIn: `${source}: ${e.first.where}`, message: peerMessageToJson(e.first.message) },
      second: { foundIn: `${source}: ${e.second.where}`, message: peerMessageToJson(e.second.message) },
      howToCheck: 'both messages verify under the replica key of the pinned genesis (verifyMessageSignature) and name one slot with two digests',
    };
    writeFileSync(path, JSON.stringify(body, null, 2) + '\n');
    return path;
  });
}
