// Log heads: the archive's own (one per download run, with the replica's
// RFC 9162 consistency proof from the previous run's head) and the heads an
// auditor verified before (a heads file, like `cli verify`'s
// cli-trusted-head.json). After the chain is re-executed, the auditor holds
// the whole rebuilt log, so each head is checked twice over: its root must be
// the rebuilt log's root at its size, and a consistency proof from it to the
// archive's final head must verify (verifyConsistency). A replica that
// rewrote or cut history since a head was seen fails here.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { bytesToHex, equalBytes, hash32, type MerkleLog, parseLogProofJson, u63String, verifyConsistency } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import * as z from 'zod';

export interface TrustedHead {
  size: bigint;
  root: Uint8Array;
  height?: bigint | undefined;
  seenAtMs?: number | undefined;
}

const trustedHeadSchema = z.object({ size: u63String, root: hash32, height: u63String.optional(), seenAtMs: z.number().optional() });
const headsFileSchema = z.union([z.object({ heads: z.array(trustedHeadSchema).max(100_000) }), trustedHeadSchema.transform((h) => ({ heads: [h] }))]);

/** Reads a heads file: `{ heads: [{ size, root, height?, seenAtMs? }] }`, or one `{ size, root }` as cli verify keeps it. */
export function loadHeadsFile(path: string): TrustedHead[] {
  if (!existsSync(path)) return [];
  const parsed = headsFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is not a heads file: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  return parsed.data.heads;
}

export function saveHeadsFile(path: string, heads: readonly TrustedHead[]): void {
  const body = { heads: heads.map((h) => ({ size: h.size.toString(), root: bytesToHex(h.root), ...(h.height !== undefined ? { height: h.height.toString() } : {}), ...(h.seenAtMs !== undefined ? { seenAtMs: h.seenAtMs } : {}) })) };
  writeFileSync(`${path}.tmp`, JSON.stringify(body, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** Checks that the rebuilt log extends `head`: same root at its size, and a verified consistency proof to the final head. */
export function checkExtends(log: MerkleLog, head: TrustedHead): string | undefined {
  const final = log.size;
  if (head.size === 0n) return undefined;
  if (head.size > final) return `a head of size ${head.size} was seen before, but this archive's log has only ${final} entries (history cut, or the archive is older)`;
  const rebuilt = log.rootAt(head.size);
  if (!equalBytes(rebuilt, head.root)) return `log root at size ${head.size} is ${bytesToHex(rebuilt)}, but the head seen before has ${bytesToHex(head.root)} (history rewritten)`;
  const proof = log.consistencyProof(head.size, final);
  const verdict = verifyConsistency(nodeBackend, { size1: head.size, size2: final, root1: head.root, root2: log.root(), proof });
  return verdict.ok ? undefined : `consistency from size ${head.size} to ${final}: ${verdict.reason}`;
}

const archiveHeadSchema = z.strictObject({
  seenAtMs: z.number(),
  height: u63String,
  logSize: u63String,
  logRoot: hash32,
  consistency: z.strictObject({ fromSize: u63String, fromRoot: hash32, proof: z.unknown() }).optional(),
});

export type ArchiveHead = z.output<typeof archiveHeadSchema>;

export function parseArchiveHead(untrusted: unknown): { ok: true; head: ArchiveHead } | { ok: false; issues: string } {
  const parsed = archiveHeadSchema.safeParse(untrusted);
  return parsed.success ? { ok: true, head: parsed.data } : { ok: false, issues: parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ') };
}

/** Checks one archive head after the previous one: its replica-given consistency proof, then that the rebuilt log extends it. */
export function checkArchiveHead(log: MerkleLog, head: ArchiveHead, previous: ArchiveHead | undefined): string | undefined {
  if (head.consistency !== undefined) {
    const c = head.consistency;
    if (previous === undefined || c.fromSize !== previous.logSize || !equalBytes(c.fromRoot, previous.logRoot)) return 'consistency proof does not start at the previous head';
    const proof = parseLogProofJson(c.proof);
    if (!proof.ok) return `consistency proof malformed: ${proof.issues.join('; ')}`;
    const verdict = verifyConsistency(nodeBackend, { size1: c.fromSize, size2: head.logSize, root1: c.fromRoot, root2: head.logRoot, proof: proof.value });
    if (!verdict.ok) return `the replica's consistency proof from size ${c.fromSize} does not verify: ${verdict.reason}`;
  } else if (previous !== undefined && previous.logSize !== 0n && previous.logSize < head.logSize) {
    return `no consistency proof from the previous head (size ${previous.logSize})`;
  }
  return checkExtends(log, { size: head.logSize, root: head.logRoot, height: head.height });
}
