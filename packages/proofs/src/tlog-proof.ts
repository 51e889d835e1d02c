// C2SP tlog-proof (c2sp.org/tlog-proof@v1): an offline-verifiable bundle
//   c2sp.org/tlog-proof@v1
//   [extra <base64 opaque data>]
//   index <decimal>
//   <base64 RFC 6962 inclusion proof hash, leaf sibling first>...
//   <empty line>
//   <checkpoint note, verbatim>
// The registry puts the log leaf's data (docs/merkle-log.md) in `extra`, so a
// bundle carries its record; the data is trusted only once the inclusion
// proof from H(0x00 || data) to the cosigned checkpoint root verifies.

import { type CryptoBackend } from './crypto-backend';
import { bytesToBase64, equalBytes, tryBase64ToBytes } from './bytes';
import { limits } from './limits';
import { hashLeaf, type InclusionFailure, verifyInclusion } from './merkle-log';
import { noteLimits } from './limits';
import { noteTextOf } from './signed-note';
import { type Checkpoint, type CheckpointNoteRejection, type CheckpointPolicy, verifyCheckpointNote } from './tlog-checkpoint';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** The registry's leaves are canonical request records far below this. */
const EXTRA_BYTES_MAX = 1024 * 1024;
const BUNDLE_BYTES_MAX = noteLimits.noteBytesMax + 2 * EXTRA_BYTES_MAX;

export interface TlogProof {
  extra: Uint8Array | null;
  index: bigint;
  proof: Uint8Array[];
  /** The checkpoint note, verbatim (text, blank line, signature lines). */
  checkpointNote: string;
}

export function formatTlogProof(p: TlogProof): string {
  if (p.index < 0n || p.index >= 1n << 63n) throw new RangeError('index out of range');
  if (p.proof.length > limits.logProofNodesMax || p.proof.some((h) => h.length !== 32)) throw new TypeError('proof hashes are 32 bytes, at most 64 of them');
  const lines = [TLOG_PROOF_HEADER, ...(p.extra === null ? [] : [`extra ${bytesToBase64(p.extra)}`]), `index ${p.index}`, ...p.proof.map(bytesToBase64)];
  return `${lines.join('\n')}\n\n${p.checkpointNote}`;
}

export type TlogProofRejection = 'too-large' | 'not-utf8' | 'bad-header' | 'bad-extra' | 'bad-index' | 'bad-proof-hash' | 'proof-too-long' | 'no-checkpoint';

export function parseTlogProof(input: Uint8Array | string): { ok: true; value: TlogProof } | { ok: false; reason: TlogProofRejection; detail?: string } {
  // The bundle is a note plus at most 64 hash lines, an index line and the extra data (base64: 4/3 of it).
  const decoded = noteTextOf(input, BUNDLE_BYTES_MAX);
  if (!decoded.ok) return decoded;
  const text = decoded.text;
  const end = text.indexOf('\n\n');
  if (end < 0) return { ok: false, reason: 'no-checkpoint' };
  const head = text.slice(0, end).split('\n');
  const checkpointNote = text.slice(end + 2);
  let at = 0;
  if (head[at++] !== TLOG_PROOF_HEADER) return { ok: false, reason: 'bad-header' };
  let extra: Uint8Array | null = null;
  if (head[at]?.startsWith('extra ')) {
    const bytes = tryBase64ToBytes((head[at++] as string).slice('extra '.length));
    if (bytes === undefined || bytes.length > EXTRA_BYTES_MAX) return { ok: false, reason: 'bad-extra' };
    extra = bytes;
  }
  const indexMatch = /^index (0|[1-9][0-9]{0,18})$/.exec(head[at++] ?? '');
  if (indexMatch === null || BigInt(indexMatch[1] as string) >= 1n << 63n) return { ok: false, reason: 'bad-index' };
  const hashLines = head.slice(at);
  if (hashLines.length > limits.logProofNodesMax) return { ok: false, reason: 'proof-too-long' };
  const proof: Uint8Array[] = [];
  for (const [i, line] of hashLines.entries()) {
    const hash = tryBase64ToBytes(line);
    if (hash === undefined || hash.length !== 32) return { ok: false, reason: 'bad-proof-hash', detail: `proof line ${i + 1}` };
    proof.push(hash);
  }
  if (checkpointNote.length === 0) return { ok: false, reason: 'no-checkpoint' };
  return { ok: true, value: { extra, index: BigInt(indexMatch[1] as string), proof, checkpointNote } };
}

export type TlogProofVerdictRejection =
  | `proof-${TlogProofRejection}`
  | `checkpoint-note-${CheckpointNoteRejection}`
  | 'no-leaf'
  | 'leaf-mismatch'
  | `inclusion-${InclusionFailure}`;

export type TlogProofVerdict =
  | { ok: true; checkpoint: Checkpoint; index: bigint; leafData: Uint8Array; cosigners: string[] }
  | { ok: false; reason: TlogProofVerdictRejection; detail?: string };

/**
 * Verifies a bundle: the checkpoint note against `policy` (quorum of
 * cosignatures), then the inclusion of the leaf at `index` in the
 * checkpoint's tree. The leaf is `expectedLeafData` when given (and the
 * bundle's extra, if any, must equal it), else the bundle's extra.
 */
export function verifyTlogProof(
  backend: CryptoBackend,
  untrusted: Uint8Array | string,
  policy: CheckpointPolicy,
  opts: { expectedLeafData?: Uint8Array; notAfterSeconds?: bigint } = {},
): TlogProofVerdict {
  const parsed = parseTlogProof(untrusted);
  if (!parsed.ok) return { ok: false, reason: `proof-${parsed.reason}`, ...(parsed.detail === undefined ? {} : { detail: parsed.detail }) };
  const p = parsed.value;
  const leafData = opts.expectedLeafData ?? p.extra;
  if (leafData === null || leafData === undefined) return { ok: false, reason: 'no-leaf' };
  if (opts.expectedLeafData !== undefined && p.extra !== null && !equalBytes(p.extra, opts.expectedLeafData)) return { ok: false, reason: 'leaf-mismatch' };
  const note = verifyCheckpointNote(backend, p.checkpointNote, policy, opts.notAfterSeconds === undefined ? {} : { notAfterSeconds: opts.notAfterSeconds });
  if (!note.ok) return { ok: false, reason: `checkpoint-note-${note.reason}`, ...(note.detail === undefined ? {} : { detail: note.detail }) };
  const c = note.checkpoint;
  const inclusion = verifyInclusion(backend, { leafHash: hashLeaf(backend, leafData), index: p.index, size: c.size, proof: p.proof, root: c.root });
  if (!inclusion.ok) return { ok: false, reason: `inclusion-${inclusion.reason}`, detail: `leaf ${p.index} in the tree of size ${c.size}` };
  return { ok: true, checkpoint: c, index: p.index, leafData: leafData.slice(), cosigners: note.cosigners.map((s) => s.replicaId) };
}
