// Equivocation detection (DESIGN section 4): two validly signed messages from
// one replica for one (epoch, view, seq, phase) with different digests. Only
// messages whose signatures were already checked are recorded. Checkpoints
// are view-independent, so their slot has no view.

import { bytesToHex, equalBytes, headerHash, type CryptoBackend } from '@vcr/proofs';
import type { EquivocationEvidence, PeerMessage } from './types';

type VoteMessage = Extract<PeerMessage, { type: 'pre-prepare' | 'prepare' | 'commit' | 'checkpoint' }>;

interface Seen {
  seq: bigint;
  digest: Uint8Array;
  message: VoteMessage;
}

export class EquivocationTracker {
  private readonly seen = new Map<string, Seen>();
  private readonly reported = new Set<string>();

  constructor(private readonly backend: CryptoBackend) {}

  /** Records a verified vote; returns evidence the first time a conflicting one appears. */
  observe(message: VoteMessage): EquivocationEvidence | undefined {
    const view = message.type === 'checkpoint' ? 0n : message.view;
    const key = `${message.from}|${message.epoch}|${view}|${message.seq}|${message.type}`;
    const digest = message.type === 'pre-prepare' ? headerHash(this.backend, message.header) : message.headerHash;
    const first = this.seen.get(key);
    if (first === undefined) {
      this.seen.set(key, { seq: message.seq, digest, message });
      return undefined;
    }
    if (equalBytes(first.digest, digest) || this.reported.has(key)) return undefined;
    this.reported.add(key);
    return { replicaId: message.from, epoch: message.epoch, view, seq: message.seq, phase: message.type, first: first.message, second: message };
  }

  /** Forgets slots at or below a stable checkpoint, so memory stays bounded. */
  collectGarbage(stableSeq: bigint): void {
    for (const [key, entry] of this.seen) {
      if (entry.seq <= stableSeq) {
        this.seen.delete(key);
        this.reported.delete(key);
      }
    }
  }

  get size(): number {
    return this.seen.size;
  }
}

export function digestHex(d: Uint8Array): string {
  return bytesToHex(d);
}
