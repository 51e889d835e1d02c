// C2SP signed notes (c2sp.org/signed-note, golang.org/x/mod/sumdb/note) and
// timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature, "cosignature/v1").
// A note is text ending in "\n", a blank line, then lines
//   "— " (U+2014, U+0020) <key name> " " base64(u32be keyId || signature) "\n"
// keyId = SHA-256(keyName || 0x0A || signatureType || publicKey)[0:4]; a vkey is
// <name>+<8 hex keyId>+base64(signatureType || publicKey). These are NOT our
// domain-separated signatures (domain.ts): see docs/witness.md for why one can
// never be taken for the other. Untrusted input is bounded before any hashing.

import { noteLimits } from './limits';
import { type CryptoBackend, type Signer } from './crypto-backend';
import { bytesToBase64, bytesToHex, concatBytes, tryBase64ToBytes, tryUtf8Decode, u64be, utf8 } from './bytes';
import { checkEd25519 } from './ed25519-rule';

/** Signature type bytes of c2sp.org/signed-note that this package implements. */
export const NOTE_SIGNATURE_TYPE = { ed25519: 0x01, cosignatureV1: 0x04 } as const;
export type NoteSignatureType = (typeof NOTE_SIGNATURE_TYPE)[keyof typeof NOTE_SIGNATURE_TYPE];


/** The em dash and space that open every signature line. */
export const SIGNATURE_LINE_PREFIX = '\u2014 ';

// Go's unicode.IsSpace: the ASCII spaces, NEL, NBSP and the Unicode Z-category White_Space characters.
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/;
// Below U+0020 only "\n" is allowed in a note; lone surrogates cannot be UTF-8.
const FORBIDDEN_CONTROL = /[\u0000-\u0009\u000B-\u001F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Non-empty, no Unicode space, no "+", no control character, well-formed, bounded. */
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !UNICODE_SPACE.test(name) &&
    !name.includes('+') &&
    !FORBIDDEN_CONTROL.test(name) &&
    !LONE_SURROGATE.test(name) &&
    utf8(name).length <= noteLimits.keyNameBytesMax
  );
}

/** SHA-256(name || "\n" || type || publicKey)[0:4] as a big-endian uint32. */
export function noteKeyId(backend: CryptoBackend, name: string, type: NoteSignatureType, publicKey: Uint8Array): number {
  if (!isValidKeyName(name)) throw new TypeError('invalid note key name');
  const digest = backend.sha256(utf8(name), Uint8Array.of(0x0a, type), publicKey);
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0, false);
}

export function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** A key a verifier trusts, as a vkey names it. */
export interface NoteVerifierKey {
  name: string;
  keyId: number;
  type: NoteSignatureType;
  /** Ed25519, 32 bytes (both types this package implements). */
  publicKey: Uint8Array;
}

export function noteVerifierKey(backend: CryptoBackend, name: string, type: NoteSignatureType, publicKey: Uint8Array): NoteVerifierKey {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new TypeError('Ed25519 public key must be 32 bytes');
  return { name, keyId: noteKeyId(backend, name, type, publicKey), type, publicKey: publicKey.slice() };
}

export function encodeVkey(key: NoteVerifierKey): string {
  return `${key.name}+${keyIdHex(key.keyId)}+${bytesToBase64(concatBytes(Uint8Array.of(key.type), key.publicKey))}`;
}

export type VkeyRejection = 'malformed' | 'bad-name' | 'bad-key-id' | 'unknown-type' | 'bad-public-key' | 'key-id-mismatch';

/** Parses `<name>+<hex keyId>+<base64(type || key)>` and checks the key id against the key, as Go's NewVerifier does. */
export function parseVkey(backend: CryptoBackend, untrusted: unknown): { ok: true; value: NoteVerifierKey } | { ok: false; reason: VkeyRejection } {
  if (typeof untrusted !== 'string' || untrusted.length > 1024) return { ok: false, reason: 'malformed' };
  const first = untrusted.indexOf('+');
  const second = first < 0 ? -1 : untrusted.indexOf('+', first + 1);
  if (second < 0) return { ok: false, reason: 'malformed' };
  const name = untrusted.slice(0, first);
  const idHex = untrusted.slice(first + 1, second);
  if (!isValidKeyName(name)) return { ok: false, reason: 'bad-name' };
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) return { ok: false, reason: 'bad-key-id' };
  const keyBytes = tryBase64ToBytes(untrusted.slice(second + 1));
  if (keyBytes === undefined || keyBytes.length === 0) return { ok: false, reason: 'malformed' };
  const type = keyBytes[0] as number;
  if (type !== NOTE_SIGNATURE_TYPE.ed25519 && type !== NOTE_SIGNATURE_TYPE.cosignatureV1) return { ok: false, reason: 'unknown-type' };
  if (keyBytes.length !== 33) return { ok: false, reason: 'bad-public-key' };
  const key = noteVerifierKey(backend, name, type, keyBytes.subarray(1));
  if (key.keyId !== parseInt(idHex, 16)) return { ok: false, reason: 'key-id-mismatch' };
  return { ok: true, value: key };
}

/** One signature line: who claims to have signed, and the bytes after the key id. */
export interface NoteSignature {
  name: string;
  keyId: number;
  signature: Uint8Array;
  /** The line as it appeared, without the final newline. */
  line: string;
}

export interface Note {
  /** The signed text, ending in "\n" (the blank separator line excluded). */
  text: string;
  signatures: NoteSignature[];
}

export type NoteRejection =
  | 'too-large'
  | 'not-utf8'
  | 'control-character'
  | 'no-signature-block'
  | 'bad-signature-line'
  | 'too-many-signatures';

export type NoteParse = { ok: true; value: Note } | { ok: false; reason: NoteRejection; detail?: string };

/** Decodes note bytes strictly (invalid UTF-8 is refused, never replaced); a string is taken as is. */
export function noteTextOf(input: Uint8Array | string, bytesMax: number = noteLimits.noteBytesMax): { ok: true; text: string } | { ok: false; reason: 'too-large' | 'not-utf8' } {
  if (typeof input === 'string') {
    if (input.length > bytesMax) return { ok: false, reason: 'too-large' };
    if (LONE_SURROGATE.test(input)) return { ok: false, reason: 'not-utf8' };
    return utf8(input).length > bytesMax ? { ok: false, reason: 'too-large' } : { ok: true, text: input };
  }
  if (!(input instanceof Uint8Array)) return { ok: false, reason: 'not-utf8' };
  if (input.length > bytesMax) return { ok: false, reason: 'too-large' };
  const text = tryUtf8Decode(input);
  return text === undefined ? { ok: false, reason: 'not-utf8' } : { ok: true, text };
}

/** Splits a signed note at its last blank line and parses every signature line; verifies nothing. */
export function parseNote(input: Uint8Array | string): NoteParse {
  const decoded = noteTextOf(input);
  if (!decoded.ok) return decoded;
  const msg = decoded.text;
  if (FORBIDDEN_CONTROL.test(msg)) return { ok: false, reason: 'control-character' };
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'no-signature-block' };
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) return { ok: false, reason: 'no-signature-block' };
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > noteLimits.signaturesMax) return { ok: false, reason: 'too-many-signatures' };
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const parsed = parseSignatureLine(line);
    if (parsed === undefined) return { ok: false, reason: 'bad-signature-line', detail: line.slice(0, 120) };
    signatures.push(parsed);
  }
  return { ok: true, value: { text, signatures } };
}

function parseSignatureLine(line: string): NoteSignature | undefined {
  if (!line.startsWith(SIGNATURE_LINE_PREFIX)) return undefined;
  const rest = line.slice(SIGNATURE_LINE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) return undefined;
  const name = rest.slice(0, space);
  const raw = tryBase64ToBytes(rest.slice(space + 1));
  if (!isValidKeyName(name) || raw === undefined || raw.length < 5) return undefined;
  const keyId = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, false);
  return { name, keyId, signature: raw.slice(4), line };
}

export function formatSignatureLine(name: string, keyId: number, signature: Uint8Array): string {
  if (!isValidKeyName(name)) throw new TypeError('invalid note key name');
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId >>> 0, false);
  return `${SIGNATURE_LINE_PREFIX}${name} ${bytesToBase64(concatBytes(id, signature))}`;
}

/** text (ending in "\n"), a blank line, then each line with its newline. */
export function formatNote(text: string, lines: readonly string[]): string {
  if (!text.endsWith('\n')) throw new TypeError('note text must end with a newline');
  if (lines.length === 0) throw new TypeError('a signed note needs at least one signature line');
  return `${text}\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** An Ed25519 (type 0x01) signature line over the note text, as sumdb/note signs. */
export function signNoteEd25519(backend: CryptoBackend, signer: Signer, name: string, text: string): string {
  const key = noteVerifierKey(backend, name, NOTE_SIGNATURE_TYPE.ed25519, signer.publicKey);
  return formatSignatureLine(name, key.keyId, signer.sign(utf8(text)));
}

/** The bytes a cosignature/v1 signs: "cosignature/v1\ntime <t>\n" || note text. */
export function cosignatureMessage(timestampSeconds: bigint, text: string): Uint8Array {
  if (typeof timestampSeconds !== 'bigint' || timestampSeconds < 0n || timestampSeconds > noteLimits.timestampMax) throw new RangeError('cosignature timestamp out of range');
  if (!text.endsWith('\n')) throw new TypeError('note text must end with a newline');
  return utf8(`cosignature/v1\ntime ${timestampSeconds.toString()}\n${text}`);
}

/** A cosignature/v1 (type 0x04) line: base64(keyId || u64be(timestamp) || Ed25519 signature). */
export function signCosignature(backend: CryptoBackend, signer: Signer, name: string, text: string, timestampSeconds: bigint): string {
  const key = noteVerifierKey(backend, name, NOTE_SIGNATURE_TYPE.cosignatureV1, signer.publicKey);
  const signature = signer.sign(cosignatureMessage(timestampSeconds, text));
  return formatSignatureLine(name, key.keyId, concatBytes(u64be(timestampSeconds), signature));
}

export type NoteSignatureRejection = 'bad-signature-length' | 'timestamp-out-of-range' | 'timestamp-in-future' | 'signature-invalid';

/** Checks one line made by `key` (name and key id already matched). Returns the cosignature timestamp, if any. */
export function checkNoteSignature(
  backend: CryptoBackend,
  key: NoteVerifierKey,
  text: string,
  sig: NoteSignature,
  opts: { notAfterSeconds?: bigint } = {},
): { ok: true; timestampSeconds: bigint | null } | { ok: false; reason: NoteSignatureRejection } {
  if (key.type === NOTE_SIGNATURE_TYPE.ed25519) {
    if (sig.signature.length !== 64) return { ok: false, reason: 'bad-signature-length' };
    return checkEd25519(backend, sig.signature, utf8(text), key.publicKey) === undefined ? { ok: true, timestampSeconds: null } : { ok: false, reason: 'signature-invalid' };
  }
  if (sig.signature.length !== 8 + 64) return { ok: false, reason: 'bad-signature-length' };
  const timestamp = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0, false);
  if (timestamp > noteLimits.timestampMax) return { ok: false, reason: 'timestamp-out-of-range' };
  if (opts.notAfterSeconds !== undefined && timestamp > opts.notAfterSeconds) return { ok: false, reason: 'timestamp-in-future' };
  const ok = checkEd25519(backend, sig.signature.subarray(8), cosignatureMessage(timestamp, text), key.publicKey) === undefined;
  return ok ? { ok: true, timestampSeconds: timestamp } : { ok: false, reason: 'signature-invalid' };
}

export interface VerifiedNoteSignature {
  key: NoteVerifierKey;
  timestampSeconds: bigint | null;
  line: string;
}

export type NoteVerdict =
  | { ok: true; verified: VerifiedNoteSignature[]; ignored: NoteSignature[] }
  | { ok: false; reason: 'ambiguous-keys' | 'no-known-signature' | `known-key-${NoteSignatureRejection}`; detail?: string };

/**
 * signed-note's rules: lines whose (name, key id) match no known key are
 * ignored; a line of a known key MUST verify, else the whole note is refused;
 * a key's repeated lines after its first are dropped (as Go's note.Open does).
 * At least one known key must have signed.
 */
export function verifyNoteSignatures(backend: CryptoBackend, note: Note, known: readonly NoteVerifierKey[], opts: { notAfterSeconds?: bigint } = {}): NoteVerdict {
  const byId = new Map<string, NoteVerifierKey>();
  for (const k of known) {
    const id = `${k.name}+${keyIdHex(k.keyId)}`;
    if (byId.has(id)) return { ok: false, reason: 'ambiguous-keys', detail: id };
    byId.set(id, k);
  }
  const verified: VerifiedNoteSignature[] = [];
  const ignored: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of note.signatures) {
    const id = `${sig.name}+${keyIdHex(sig.keyId)}`;
    const key = byId.get(id);
    if (key === undefined) {
      ignored.push(sig);
      continue;
    }
    if (seen.has(id)) continue;
    seen.add(id);
    const check = checkNoteSignature(backend, key, note.text, sig, opts);
    if (!check.ok) return { ok: false, reason: `known-key-${check.reason}`, detail: `${id} (${bytesToHex(key.publicKey).slice(0, 16)}...)` };
    verified.push({ key, timestampSeconds: check.timestampSeconds, line: sig.line });
  }
  if (verified.length === 0) return { ok: false, reason: 'no-known-signature' };
  return { ok: true, verified, ignored };
}
