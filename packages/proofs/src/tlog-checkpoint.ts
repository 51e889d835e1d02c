// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text
//   <origin>\n<decimal size>\n<base64 RFC 6962 root>\n[extension lines]
// and this registry's mapping onto it (docs/witness.md): the origin of chain
// C is "vcr.example/C", size and root are a certified header's logSize and
// logRoot, and the cosigners are the replicas of one epoch's membership, each
// with a cosignature/v1 key named after the origin. A checkpoint note is
// trusted here only with a quorum (2f+1) of that membership's cosignatures.

import { type CryptoBackend } from './crypto-backend';
import { bytesToBase64, tryBase64ToBytes } from './bytes';
import { type BlockHeader } from './header';
import { type Membership, membershipQuorum } from './membership';
import {
  isValidKeyName,
  keyIdHex,
  type Note,
  NOTE_SIGNATURE_TYPE,
  type NoteRejection,
  type NoteVerifierKey,
  noteVerifierKey,
  parseNote,
  verifyNoteSignatures,
  type VerifiedNoteSignature,
} from './signed-note';

/** Every registry origin starts with this; the chain id follows. */
export const REGISTRY_ORIGIN_PREFIX = 'vcr.example/';

const U63 = 1n << 63n;
const EXTENSION_LINES_MAX = 16;

export interface Checkpoint {
  origin: string;
  size: bigint;
  /** 32-byte SHA-256 Merkle root. */
  root: Uint8Array;
  /** Opaque extension lines (never produced by the registry). */
  extensions: string[];
}

/** The origin line of chain `chainId`, or undefined when the chain id cannot be a key name (space, "+", control). */
export function registryOrigin(chainId: string): string | undefined {
  const origin = `${REGISTRY_ORIGIN_PREFIX}${chainId}`;
  return chainId.length > 0 && isValidKeyName(origin) ? origin : undefined;
}

export function formatCheckpoint(c: Checkpoint): string {
  if (!isValidKeyName(c.origin)) throw new TypeError('checkpoint origin must be a valid key name');
  if (c.size < 0n || c.size >= U63) throw new RangeError('checkpoint size out of range');
  if (!(c.root instanceof Uint8Array) || c.root.length !== 32) throw new TypeError('checkpoint root must be 32 bytes');
  for (const e of c.extensions) if (e.length === 0 || e.includes('\n')) throw new TypeError('extension lines are non-empty single lines');
  return [c.origin, c.size.toString(), bytesToBase64(c.root), ...c.extensions].map((l) => `${l}\n`).join('');
}

/** The checkpoint a certified header stands for. */
export function checkpointOfHeader(header: BlockHeader): Checkpoint {
  const origin = registryOrigin(header.chainId);
  if (origin === undefined) throw new TypeError(`chain id ${JSON.stringify(header.chainId)} cannot be a checkpoint origin`);
  return { origin, size: header.logSize, root: header.logRoot.slice(), extensions: [] };
}

export type CheckpointRejection = 'too-few-lines' | 'bad-origin' | 'bad-size' | 'bad-root' | 'bad-extension';

/** Parses a note text (as signed: ending in "\n") as a checkpoint body. */
export function parseCheckpoint(text: string): { ok: true; value: Checkpoint } | { ok: false; reason: CheckpointRejection } {
  if (typeof text !== 'string' || !text.endsWith('\n')) return { ok: false, reason: 'too-few-lines' };
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return { ok: false, reason: 'too-few-lines' };
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!isValidKeyName(origin)) return { ok: false, reason: 'bad-origin' };
  if (!/^(?:0|[1-9][0-9]{0,18})$/.test(sizeText) || BigInt(sizeText) >= U63) return { ok: false, reason: 'bad-size' };
  const root = tryBase64ToBytes(rootText);
  if (root === undefined || root.length !== 32) return { ok: false, reason: 'bad-root' };
  if (extensions.length > EXTENSION_LINES_MAX || extensions.some((e) => e.length === 0)) return { ok: false, reason: 'bad-extension' };
  return { ok: true, value: { origin, size: BigInt(sizeText), root, extensions } };
}

/** One replica as a cosigner: its vkey is `<origin>+<keyId>+base64(0x04 || publicKey)`. */
export interface RegistryCosigner {
  replicaId: string;
  key: NoteVerifierKey;
}

/** What a checkpoint note must satisfy: its origin, and `quorum` distinct cosigners among `cosigners`. */
export interface CheckpointPolicy {
  origin: string;
  epoch: bigint;
  quorum: number;
  cosigners: RegistryCosigner[];
}

/** The policy of one epoch: the membership's replicas as cosignature/v1 keys, 2f+1 of them required. */
export function registryCheckpointPolicy(backend: CryptoBackend, membership: Membership): CheckpointPolicy {
  const origin = registryOrigin(membership.chainId);
  if (origin === undefined) throw new TypeError(`chain id ${JSON.stringify(membership.chainId)} cannot be a checkpoint origin`);
  return {
    origin,
    epoch: membership.epoch,
    quorum: membershipQuorum(membership),
    cosigners: membership.replicas.map((r) => ({ replicaId: r.id, key: noteVerifierKey(backend, origin, NOTE_SIGNATURE_TYPE.cosignatureV1, r.publicKey) })),
  };
}

export type CheckpointNoteRejection =
  | `note-${NoteRejection}`
  | `checkpoint-${CheckpointRejection}`
  | 'wrong-origin'
  | 'ambiguous-keys'
  | 'below-quorum'
  | `known-key-${string}`;

export type CheckpointNoteVerdict =
  | { ok: true; checkpoint: Checkpoint; note: Note; cosigners: (VerifiedNoteSignature & { replicaId: string })[]; ignoredLines: string[] }
  | { ok: false; reason: CheckpointNoteRejection; detail?: string };

/**
 * Verifies a checkpoint note against a policy: parse, origin, then every line
 * of a policy key must verify, and at least `quorum` distinct policy keys
 * must have signed. Lines of other keys are ignored (and reported).
 */
export function verifyCheckpointNote(
  backend: CryptoBackend,
  untrusted: Uint8Array | string,
  policy: CheckpointPolicy,
  opts: { notAfterSeconds?: bigint } = {},
): CheckpointNoteVerdict {
  const note = parseNote(untrusted);
  if (!note.ok) return { ok: false, reason: `note-${note.reason}`, ...(note.detail === undefined ? {} : { detail: note.detail }) };
  const checkpoint = parseCheckpoint(note.value.text);
  if (!checkpoint.ok) return { ok: false, reason: `checkpoint-${checkpoint.reason}` };
  if (checkpoint.value.origin !== policy.origin) return { ok: false, reason: 'wrong-origin', detail: `${checkpoint.value.origin}, expected ${policy.origin}` };
  const keys = policy.cosigners.map((c) => c.key);
  const verdict = verifyNoteSignatures(backend, note.value, keys, opts);
  const ignoredLines = verdict.ok ? verdict.ignored.map((s) => `${s.name}+${keyIdHex(s.keyId)}`) : [];
  if (!verdict.ok && verdict.reason !== 'no-known-signature') return { ok: false, reason: verdict.reason, ...(verdict.detail === undefined ? {} : { detail: verdict.detail }) };
  const verified = verdict.ok ? verdict.verified : [];
  if (verified.length < policy.quorum) {
    const unknown = note.value.signatures.filter((s) => !keys.some((k) => k.name === s.name && k.keyId === s.keyId));
    const ignoredText = unknown.length === 0 ? '' : `; ignored ${unknown.length} line(s) of keys not in epoch ${policy.epoch}'s membership: ${unknown.map((s) => `${s.name}+${keyIdHex(s.keyId)}`).join(', ')}`;
    return { ok: false, reason: 'below-quorum', detail: `${verified.length} of ${policy.quorum} required cosignatures from epoch ${policy.epoch}'s membership${ignoredText}` };
  }
  const cosigners = verified.map((v) => ({ ...v, replicaId: policy.cosigners.find((c) => c.key === v.key)?.replicaId ?? '?' }));
  return { ok: true, checkpoint: checkpoint.value, note: note.value, cosigners, ignoredLines };
}
