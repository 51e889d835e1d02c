// The double-sign guard (DESIGN section 6): "each replica's signer refuses to
// sign backwards or to sign a conflicting digest for a slot it already signed,
// and records that before signing". It sits in front of every keystore
// backend, in the spirit of CometBFT's privval FilePV, and keeps a hash-chained
// journal of everything the key signed.
//
// The replica only ever signs domain-separated messages
//   u8(len(tag)) || tag || u8(len(chainId)) || chainId || u64be(epoch) || canonical(message)
// (packages/proofs/src/domain.ts), so the guard parses what it is asked to sign
// instead of trusting a caller's description of it. For the three vote kinds
// the SLOT is (kind, epoch, view, seq) and the DIGEST is the header hash
// (packages/consensus/src/messages.ts, signingPayload):
//   pre-prepare, prepare: { view, seq, headerHash }
//   commit:               { headerHash, height, view }   (height is the seq)
//   checkpoint:           { seq, headerHash }             (slot (epoch, seq), no view)
// Rules, checked against the journal before the inner key is asked:
//   (0) the replica was removed from the membership (the journal says at which epoch): refuse
//       everything, 'removed' (docs/protocol.md, "Removed while behind");
//   (a) same slot, same digest: answer the journaled signature, append nothing;
//   (b) same slot, another digest: refuse, 'conflicting';
//   (c) a vote in an (epoch, view) below the highest this key voted in: refuse, 'backwards';
//   (d) otherwise sign, append the journal entry durably, and only then return.
// Other kinds are signed and journaled without slot rules. Docs: docs/replica.md section 4.

import {
  assertNever,
  type CanonicalValue,
  type CryptoBackend,
  bytesToHex,
  decodeCanonical,
  domainPrefix,
  equalBytes,
  hashCanonical,
  nobleBackend,
  SIGNATURE_KINDS,
  type SignatureKind,
  tryUtf8Decode,
} from '@vcr/proofs';
import { createKeyHandle, type KeyHandle } from './keystore';

/** One signature the key made, linked to the one before it. */
export interface JournalEntry {
  /** 0, 1, 2, ... with no gaps. */
  readonly index: bigint;
  readonly kind: SignatureKind;
  readonly epoch: bigint;
  /** The view of a vote; null for every other kind. */
  readonly view: bigint | null;
  /** The seq (commit: height) of a vote or checkpoint; null for every other kind. */
  readonly seq: bigint | null;
  /** The header hash of a vote or checkpoint; SHA-256 of the signed bytes for every other kind. */
  readonly digest: Uint8Array;
  /** SHA-256 of the full signed bytes (domain prefix included). */
  readonly signedBytesHash: Uint8Array;
  readonly signature: Uint8Array;
  /** The previous entry's entryHash; 32 zero bytes for entry 0. */
  readonly prevEntryHash: Uint8Array;
  /** SHA-256(canonical({ index, kind, epoch, view, seq, digest, signedBytesHash, signature, prevEntryHash })). */
  readonly entryHash: Uint8Array;
}

/**
 * Where the guard keeps its journal. Every method is synchronous; `append`
 * returns once the entry survives a crash of the process (in the replica's
 * store: committed to the WAL), and the host releases what carries the
 * signature only once the entry is durable (ReplicaStore.whenDurable).
 */
export interface SignerJournal {
  lastEntry(): JournalEntry | undefined;
  findSlot(kind: SignatureKind, epoch: bigint, view: bigint | null, seq: bigint | null): JournalEntry | undefined;
  /** The highest (epoch, view), compared epoch first, of any pre-prepare, prepare or commit in the journal. */
  highestVote(): { epoch: bigint; view: bigint } | undefined;
  append(entry: JournalEntry): void;
  list(fromIndex: bigint, limit: number): JournalEntry[];
  /** The epoch that removed this replica from the membership, once it verified that; undefined while it has a seat or may get one. */
  removedAtEpoch(): bigint | undefined;
}

export type SignerRefusalCode = 'unparseable' | 'conflicting' | 'backwards' | 'removed';

/**
 * The guard would not sign. Thrown out of `sign`, so the consensus core's
 * handler fails: an honest replica must stop rather than equivocate.
 */
export class SignerRefusal extends Error {
  override name = 'SignerRefusal';
  readonly code: SignerRefusalCode;

  constructor(code: SignerRefusalCode, detail: string) {
    super(`double-sign guard refused to sign (${code}): ${detail}; the replica must stop rather than equivocate`);
    this.code = code;
  }
}

export const VOTE_KINDS = ['pre-prepare', 'prepare', 'commit'] as const satisfies readonly SignatureKind[];
export type VoteKind = (typeof VOTE_KINDS)[number];

export function isVoteKind(kind: SignatureKind): kind is VoteKind {
  return (VOTE_KINDS as readonly SignatureKind[]).includes(kind);
}

/** The prevEntryHash of entry 0. */
const zeroHash = (): Uint8Array => new Uint8Array(32);
const TAG_PREFIX = 'vcr/v1/';
/** SQLite stores signed 64-bit integers: epochs, views and seqs stay below 2^63, as on the wire. */
const U63 = 1n << 63n;

/** What one signing request is, once parsed. `exclusive` kinds have one digest per slot. */
interface SigningSlot {
  kind: SignatureKind;
  epoch: bigint;
  view: bigint | null;
  seq: bigint | null;
  digest: Uint8Array;
  exclusive: boolean;
}

function refuseUnparseable(why: string): never {
  throw new SignerRefusal('unparseable', why);
}

function toU63(value: CanonicalValue | undefined): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n && value < U63 ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return undefined;
}

function isMap(value: CanonicalValue): value is { readonly [key: string]: CanonicalValue } {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value);
}

/** The message must be a map with exactly these keys, u63 integers and a 32-byte headerHash. */
function voteFields(kind: SignatureKind, message: CanonicalValue, integerKeys: readonly string[]): { integers: bigint[]; headerHash: Uint8Array } {
  if (!isMap(message)) return refuseUnparseable(`a ${kind} message must be a map`);
  const expected = [...integerKeys, 'headerHash'].sort();
  const keys = Object.keys(message).sort();
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i])) return refuseUnparseable(`a ${kind} message must have exactly the keys ${expected.join(', ')}`);
  const headerHash = message.headerHash;
  if (!(headerHash instanceof Uint8Array) || headerHash.length !== 32) return refuseUnparseable(`a ${kind} headerHash must be 32 bytes`);
  const integers = integerKeys.map((key) => toU63(message[key]) ?? refuseUnparseable(`${kind} ${key} must be an integer in [0, 2^63)`));
  return { integers, headerHash: Uint8Array.from(headerHash) };
}

/** Splits signing bytes into kind, epoch and message, for this chain only. Throws SignerRefusal 'unparseable'. */
function parseSigningBytes(bytes: Uint8Array, chainId: string): { kind: SignatureKind; epoch: bigint; message: CanonicalValue } {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return refuseUnparseable('not a domain-separated message');
  const tagLength = bytes[0] as number;
  const tag = tryUtf8Decode(bytes.subarray(1, 1 + tagLength));
  const kind = tag?.startsWith(TAG_PREFIX) ? SIGNATURE_KINDS.find((k) => k === tag.slice(TAG_PREFIX.length)) : undefined;
  if (kind === undefined) return refuseUnparseable('the bytes do not start with a known vcr/v1 domain tag');
  // The prefix up to the epoch is fixed by kind and chain: compare it whole.
  const prefix = domainPrefix({ kind, chainId, epoch: 0n });
  const fixedLength = prefix.length - 8;
  if (bytes.length < prefix.length || !equalBytes(bytes.subarray(0, fixedLength), prefix.subarray(0, fixedLength))) {
    return refuseUnparseable(`the domain prefix is not for chain ${JSON.stringify(chainId)}`);
  }
  const epoch = new DataView(bytes.buffer, bytes.byteOffset + fixedLength, 8).getBigUint64(0, false);
  if (epoch >= U63) return refuseUnparseable('epoch must be below 2^63');
  const decoded = decodeCanonical(bytes.subarray(prefix.length));
  if (!decoded.ok) return refuseUnparseable(`the message is not canonical (${decoded.reason})`);
  return { kind, epoch, message: decoded.value };
}

function classify(kind: SignatureKind, epoch: bigint, message: CanonicalValue, signedBytesHash: Uint8Array): SigningSlot {
  switch (kind) {
    case 'pre-prepare':
    case 'prepare': {
      const { integers, headerHash } = voteFields(kind, message, ['view', 'seq']);
      return { kind, epoch, view: integers[0] as bigint, seq: integers[1] as bigint, digest: headerHash, exclusive: true };
    }
    case 'commit': {
      const { integers, headerHash } = voteFields(kind, message, ['height', 'view']);
      return { kind, epoch, view: integers[1] as bigint, seq: integers[0] as bigint, digest: headerHash, exclusive: true };
    }
    case 'checkpoint': {
      const { integers, headerHash } = voteFields(kind, message, ['seq']);
      return { kind, epoch, view: null, seq: integers[0] as bigint, digest: headerHash, exclusive: true };
    }
    case 'view-change':
    case 'new-view':
    case 'client-request':
    case 'membership-approval':
    case 'epoch-accept':
    case 'peer-envelope':
      return { kind, epoch, view: null, seq: null, digest: signedBytesHash, exclusive: false };
    default:
      return assertNever(kind, 'signature kind');
  }
}

function describeSlot(slot: { kind: SignatureKind; epoch: bigint; view: bigint | null; seq: bigint | null }): string {
  return `${slot.kind} epoch ${slot.epoch}${slot.view === null ? '' : ` view ${slot.view}`}${slot.seq === null ? '' : ` seq ${slot.seq}`}`;
}

/** Negative when (a.epoch, a.view) is below (b.epoch, b.view). */
function compareEpochView(a: { epoch: bigint; view: bigint }, b: { epoch: bigint; view: bigint }): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.view !== b.view) return a.view < b.view ? -1 : 1;
  return 0;
}

export function journalEntryHash(backend: CryptoBackend, entry: Omit<JournalEntry, 'entryHash'>): Uint8Array {
  return hashCanonical(backend, {
    index: entry.index,
    kind: entry.kind,
    epoch: entry.epoch,
    view: entry.view,
    seq: entry.seq,
    digest: entry.digest,
    signedBytesHash: entry.signedBytesHash,
    signature: entry.signature,
    prevEntryHash: entry.prevEntryHash,
  });
}

export interface GuardedSignerOptions {
  chainId: string;
  /** SHA-256 for digests and entry hashes; default the @noble backend. The replica passes node:crypto. */
  backend?: CryptoBackend;
}

/** Wraps a key handle so that it cannot equivocate, even across restarts, as long as `journal` survives them. */
export function createGuardedSigner(inner: KeyHandle, journal: SignerJournal, opts: GuardedSignerOptions): KeyHandle {
  const backend = opts.backend ?? nobleBackend;
  const chainId = opts.chainId;
  // Refuse a bad chain id now, not at the first signature.
  domainPrefix({ kind: 'prepare', chainId, epoch: 0n });

  const sign = (bytes: Uint8Array): Uint8Array => {
    const removedAt = journal.removedAtEpoch();
    // (0) A removed replica has no seat: whatever it signs now could only be taken for a vote it has no right to.
    if (removedAt !== undefined) throw new SignerRefusal('removed', `this replica was removed from the membership at epoch ${removedAt} and signs nothing after it`);
    const { kind, epoch, message } = parseSigningBytes(bytes, chainId);
    const signedBytesHash = backend.sha256(bytes);
    const slot = classify(kind, epoch, message, signedBytesHash);
    if (slot.exclusive) {
      const prior = journal.findSlot(slot.kind, slot.epoch, slot.view, slot.seq);
      if (prior !== undefined) {
        // (a) The same vote again (a retransmission, or a restart that lost the core's own record): same bytes, same signature.
        if (equalBytes(prior.digest, slot.digest) && equalBytes(prior.signedBytesHash, signedBytesHash)) return prior.signature.slice();
        // (b) Two digests for one slot is exactly the equivocation PBFT's safety argument assumes honest replicas never commit.
        throw new SignerRefusal(
          'conflicting',
          `${describeSlot(slot)} was already signed for ${bytesToHex(prior.digest)} (journal entry ${prior.index}), now asked for ${bytesToHex(slot.digest)}`,
        );
      }
    }
    if (slot.view !== null && isVoteKind(slot.kind)) {
      const highest = journal.highestVote();
      // (c) PBFT 4.4: once a replica voted in view v it has left every view below v; voting there again could help an old quorum form.
      if (highest !== undefined && compareEpochView({ epoch: slot.epoch, view: slot.view }, highest) < 0) {
        throw new SignerRefusal('backwards', `${describeSlot(slot)} is below epoch ${highest.epoch} view ${highest.view}, where this key already voted`);
      }
    }
    // (d) Sign, then record it before the signature can leave this function (durable before it leaves the replica: the host's outbox).
    const signature = Uint8Array.from(inner.sign(bytes));
    const last = journal.lastEntry();
    const unhashed = {
      index: last === undefined ? 0n : last.index + 1n,
      kind: slot.kind,
      epoch: slot.epoch,
      view: slot.view,
      seq: slot.seq,
      digest: slot.digest,
      signedBytesHash,
      signature,
      prevEntryHash: last === undefined ? zeroHash() : last.entryHash.slice(),
    };
    journal.append(Object.freeze({ ...unhashed, entryHash: journalEntryHash(backend, unhashed) }));
    return signature.slice();
  };

  return createKeyHandle(inner.label, { publicKey: inner.publicKey, sign });
}

// ---- auditing -------------------------------------------------------------------------------

export type JournalRejection =
  /** An entry's fields are outside the format: sizes, kind, view/seq presence. */
  | 'malformed-entry'
  /** Indices are not consecutive (an entry was removed or reordered), or the first one is not where it should be. */
  | 'index-gap'
  /** prevEntryHash is not the previous entry's entryHash (32 zero bytes for entry 0). */
  | 'broken-link'
  /** entryHash is not the hash of the entry's fields. */
  | 'entry-hash-mismatch'
  /** Two entries for one slot with different digests: the key equivocated. */
  | 'conflicting-slot'
  /** A vote in an (epoch, view) below an earlier vote's. */
  | 'backwards-vote'
  /** The last entry is not the head the auditor expected (the journal was truncated or rewritten). */
  | 'head-mismatch';

export type JournalVerdict =
  | { ok: true; count: number; head: { index: bigint; entryHash: Uint8Array } | undefined }
  | { ok: false; reason: JournalRejection; index: bigint };

export interface JournalAnchor {
  /** The entry just before `entries[0]`, already verified; without it the entries must start at index 0. */
  after?: { index: bigint; entryHash: Uint8Array };
  /** A head seen earlier: the last entry must be it. Only this detects entries removed from the end. */
  head?: { index: bigint; entryHash: Uint8Array };
}

function entryShapeOk(e: JournalEntry): boolean {
  const sized = (b: unknown, n: number) => b instanceof Uint8Array && b.length === n;
  if (!SIGNATURE_KINDS.includes(e.kind) || typeof e.index !== 'bigint' || typeof e.epoch !== 'bigint') return false;
  if (!sized(e.digest, 32) || !sized(e.signedBytesHash, 32) || !sized(e.signature, 64) || !sized(e.prevEntryHash, 32) || !sized(e.entryHash, 32)) return false;
  const wantsView = isVoteKind(e.kind);
  const wantsSeq = wantsView || e.kind === 'checkpoint';
  return (typeof e.view === 'bigint') === wantsView && (typeof e.seq === 'bigint') === wantsSeq && (e.view === null || typeof e.view === 'bigint') && (e.seq === null || typeof e.seq === 'bigint');
}

/**
 * Re-checks a run of journal entries: consecutive indices, each linked to the
 * one before by prevEntryHash, each entryHash recomputed, no slot signed twice
 * for different digests and no vote backwards. It does not verify signatures:
 * the journal keeps only the hash of the signed bytes, so an auditor verifies
 * each signature from the signed message itself (a block certificate, a peer
 * message) and matches it to the entry by signature and signedBytesHash.
 */
export function verifyJournal(entries: readonly JournalEntry[], backend: CryptoBackend, anchor: JournalAnchor = {}): JournalVerdict {
  let expectedIndex = anchor.after === undefined ? 0n : anchor.after.index + 1n;
  let expectedPrev = anchor.after === undefined ? zeroHash() : anchor.after.entryHash;
  const digestBySlot = new Map<string, Uint8Array>();
  let highest: { epoch: bigint; view: bigint } | undefined;
  for (const e of entries) {
    const at = typeof e.index === 'bigint' ? e.index : expectedIndex;
    if (!entryShapeOk(e)) return { ok: false, reason: 'malformed-entry', index: at };
    if (e.index !== expectedIndex) return { ok: false, reason: 'index-gap', index: at };
    if (!equalBytes(e.prevEntryHash, expectedPrev)) return { ok: false, reason: 'broken-link', index: at };
    if (!equalBytes(journalEntryHash(backend, e), e.entryHash)) return { ok: false, reason: 'entry-hash-mismatch', index: at };
    if (e.seq !== null) {
      const key = `${e.kind}|${e.epoch}|${e.view ?? ''}|${e.seq}`;
      const seen = digestBySlot.get(key);
      if (seen !== undefined && !equalBytes(seen, e.digest)) return { ok: false, reason: 'conflicting-slot', index: at };
      digestBySlot.set(key, e.digest);
    }
    if (e.view !== null) {
      const here = { epoch: e.epoch, view: e.view };
      if (highest !== undefined && compareEpochView(here, highest) < 0) return { ok: false, reason: 'backwards-vote', index: at };
      highest = here;
    }
    expectedIndex = e.index + 1n;
    expectedPrev = e.entryHash;
  }
  const last = entries[entries.length - 1];
  const head = last === undefined ? anchor.after : { index: last.index, entryHash: last.entryHash };
  if (anchor.head !== undefined && (head === undefined || head.index !== anchor.head.index || !equalBytes(head.entryHash, anchor.head.entryHash))) {
    return { ok: false, reason: 'head-mismatch', index: head?.index ?? 0n };
  }
  return { ok: true, count: entries.length, head };
}

/** The wire form of an entry (GET /v1/audit/signatures): bytes as hex, integers as decimal strings. */
export function journalEntryToJson(e: JournalEntry) {
  return {
    index: e.index.toString(),
    kind: e.kind,
    epoch: e.epoch.toString(),
    view: e.view === null ? null : e.view.toString(),
    seq: e.seq === null ? null : e.seq.toString(),
    digest: bytesToHex(e.digest),
    signedBytesHash: bytesToHex(e.signedBytesHash),
    signature: bytesToHex(e.signature),
    prevEntryHash: bytesToHex(e.prevEntryHash),
    entryHash: bytesToHex(e.entryHash),
  };
}

// ---- in-memory journal ----------------------------------------------------------------------

function slotKey(kind: SignatureKind, epoch: bigint, view: bigint | null, seq: bigint | null): string {
  return `${kind}|${epoch}|${view ?? ''}|${seq ?? ''}`;
}

/** A journal that lives as long as the process: tests and the simulator. It survives nothing. */
export class MemorySignerJournal implements SignerJournal {
  readonly #entries: JournalEntry[] = [];
  readonly #bySlot = new Map<string, JournalEntry>();
  #highest: { epoch: bigint; view: bigint } | undefined;
  #removedAt: bigint | undefined;

  removedAtEpoch(): bigint | undefined {
    return this.#removedAt;
  }

  /** The replica verified its removal at `epoch`: every later signing request is refused. The first epoch recorded stays. */
  markRemoved(epoch: bigint): void {
    this.#removedAt ??= epoch;
  }

  lastEntry(): JournalEntry | undefined {
    return this.#entries[this.#entries.length - 1];
  }

  findSlot(kind: SignatureKind, epoch: bigint, view: bigint | null, seq: bigint | null): JournalEntry | undefined {
    return this.#bySlot.get(slotKey(kind, epoch, view, seq));
  }

  highestVote(): { epoch: bigint; view: bigint } | undefined {
    return this.#highest === undefined ? undefined : { ...this.#highest };
  }

  append(entry: JournalEntry): void {
    const last = this.lastEntry();
    const index = last === undefined ? 0n : last.index + 1n;
    if (entry.index !== index || !equalBytes(entry.prevEntryHash, last?.entryHash ?? zeroHash())) {
      throw new Error(`signer journal: entry ${entry.index} does not follow entry ${last?.index ?? 'none'}`);
    }
    this.#entries.push(entry);
    // Non-exclusive kinds have no slot (view and seq null) and are never looked up by it.
    if (entry.seq !== null) this.#bySlot.set(slotKey(entry.kind, entry.epoch, entry.view, entry.seq), entry);
    if (entry.view !== null && isVoteKind(entry.kind)) {
      const here = { epoch: entry.epoch, view: entry.view };
      if (this.#highest === undefined || compareEpochView(here, this.#highest) > 0) this.#highest = here;
    }
  }

  list(fromIndex: bigint, limit: number): JournalEntry[] {
    const start = fromIndex < 0n ? 0 : Number(fromIndex > BigInt(this.#entries.length) ? this.#entries.length : fromIndex);
    return this.#entries.slice(start, start + Math.max(0, limit));
  }
}
