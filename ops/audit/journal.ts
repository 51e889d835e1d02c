// The signer journal of the archive's replica (docs/replica.md section 4):
// parsed at the edge with zod, then re-checked with the replica's own
// verifyJournal (consecutive indices, every hash link, every entry hash, no
// slot with two digests, no vote backwards). Long journals are checked in
// runs, each anchored on the last verified entry of the run before.

import { hash32, SIGNATURE_KINDS, signature64, u63String } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import * as z from 'zod';
import { type JournalEntry, verifyJournal } from '../../apps/replica/src/keystore';

const nullableU63 = u63String.nullable();

const journalEntrySchema = z.strictObject({
  index: u63String,
  kind: z.enum(SIGNATURE_KINDS),
  epoch: u63String,
  view: nullableU63,
  seq: nullableU63,
  digest: hash32,
  signedBytesHash: hash32,
  signature: signature64,
  prevEntryHash: hash32,
  entryHash: hash32,
});

export function parseJournalEntryJson(untrusted: unknown): { ok: true; entry: JournalEntry } | { ok: false; issues: string } {
  const parsed = journalEntrySchema.safeParse(untrusted);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ') };
  return { ok: true, entry: parsed.data };
}

/** Entries per verifyJournal run: bounds memory on long journals. */
const runEntriesMax = 50_000;

export class JournalChecker {
  private run: { entry: JournalEntry; line: number }[] = [];
  private anchor: { index: bigint; entryHash: Uint8Array } | undefined;
  count = 0;
  /** Hex prefixes (96 bits) of every journaled signature, to match signed messages to entries. */
  readonly signatures = new Set<string>();

  /** Adds one entry; returns a failure when a run ends badly. */
  add(entry: JournalEntry, line: number): string | undefined {
    this.run.push({ entry, line });
    this.signatures.add(Buffer.from(entry.signature.subarray(0, 12)).toString('hex'));
    this.count++;
    return this.run.length >= runEntriesMax ? this.flush() : undefined;
  }

  /** Verifies the buffered run; call once more at the end. */
  flush(): string | undefined {
    if (this.run.length === 0) return undefined;
    const run = this.run;
    this.run = [];
    const verdict = verifyJournal(
      run.map((r) => r.entry),
      nodeBackend,
      this.anchor === undefined ? {} : { after: this.anchor },
    );
    if (!verdict.ok) {
      const bad = run.find((r) => r.entry.index === verdict.index);
      return `line ${bad?.line ?? '?'} (journal index ${verdict.index}): ${verdict.reason}`;
    }
    this.anchor = verdict.head;
    return undefined;
  }

  has(signature: Uint8Array): boolean {
    return this.signatures.has(Buffer.from(signature.subarray(0, 12)).toString('hex'));
  }
}
