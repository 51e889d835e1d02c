// Fast paths for the JSON forms parsed on every write and read: a client
// request, a block header, a certificate, a map proof, a list of hashes. Each either returns exactly what the zod schema in wire.ts
// would return for the same input, or undefined, and then the caller asks the
// schema, which decides and words the refusal. So these only ever accept: a
// rule missed here costs speed, never a wrong acceptance, and there is still
// one place that states the rules (the schemas). wire-fast.test.ts checks
// that on valid, mutated and random inputs whatever a fast path accepts the
// schema accepts with an equal value. The schemas cost about 60 us for one
// client request (regexes, refinements, issue bookkeeping), nearly a
// signature check, and a PRE-PREPARE carries up to 128 of them.

import { tryLowercaseHexToBytes } from './bytes';
import { isWellFormedText } from './canonical';
import type { Certificate } from './certificate';
import type { ClientRequest } from './client-request';
import type { BlockHeader } from './header';
import { clientRequestLimits, limits } from './limits';
import type { MapProof } from './merkle-map';
import type { PeerMessage } from './peer-message';

const U63_LIMIT = 1n << 63n;

/** A plain JSON object with exactly these keys (nothing more, nothing missing). */
export function hasExactKeys(o: unknown, keys: readonly string[]): o is Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  let n = 0;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) return false;
    n++;
  }
  if (n !== keys.length) return false;
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(o, k)) return false;
  return true;
}

/** u63String: decimal, no leading zero, below 2^63. */
export function fastU63(s: unknown): bigint | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > 19) return undefined;
  if (s.length > 1 && s.charCodeAt(0) === 48) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = BigInt(s);
  return n < U63_LIMIT ? n : undefined;
}

/** Lowercase hex of exactly `bytes` bytes. */
export function fastHexOf(s: unknown, bytes: number): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length !== 2 * bytes) return undefined;
  return tryLowercaseHexToBytes(s);
}

/** Printable ASCII up to `max` characters: text the schemas accept without a second look (one byte per character, well-formed). */
export function isShortAscii(s: unknown, min: number, max: number): s is string {
  if (typeof s !== 'string' || s.length < min || s.length > max) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

const REQUEST_KEYS = ['clientId', 'requestId', 'payload', 'signature'] as const;

/** clientRequestSchema's result, or undefined to let the schema decide. */
export function fastClientRequest(o: unknown): ClientRequest | undefined {
  if (!hasExactKeys(o, REQUEST_KEYS)) return undefined;
  const { clientId, payload } = o;
  if (!isShortAscii(clientId, 1, clientRequestLimits.clientIdBytesMax)) return undefined;
  const requestId = fastU63(o.requestId);
  if (requestId === undefined) return undefined;
  if (typeof payload !== 'string' || payload.length > 2 * clientRequestLimits.payloadBytesMax) return undefined;
  const payloadBytes = tryLowercaseHexToBytes(payload);
  const signature = fastHexOf(o.signature, 64);
  if (payloadBytes === undefined || signature === undefined) return undefined;
  return { clientId, requestId, payload: payloadBytes, signature };
}

const HEADER_KEYS = ['chainId', 'epoch', 'view', 'height', 'prevHash', 'batchHash', 'stateRoot', 'logRoot', 'logSize', 'timestampMs', 'nextMembershipHash'] as const;

/** headerSchema's result, or undefined to let the schema decide. */
export function fastHeader(o: unknown): BlockHeader | undefined {
  if (!hasExactKeys(o, HEADER_KEYS)) return undefined;
  const { chainId } = o;
  if (typeof chainId !== 'string' || chainId.length < 1 || chainId.length > limits.chainIdBytesMax || !isWellFormedText(chainId)) return undefined;
  const epoch = fastU63(o.epoch);
  const view = fastU63(o.view);
  const height = fastU63(o.height);
  const logSize = fastU63(o.logSize);
  const timestampMs = fastU63(o.timestampMs);
  const prevHash = fastHexOf(o.prevHash, 32);
  const batchHash = fastHexOf(o.batchHash, 32);
  const stateRoot = fastHexOf(o.stateRoot, 32);
  const logRoot = fastHexOf(o.logRoot, 32);
  const next = o.nextMembershipHash === null ? null : fastHexOf(o.nextMembershipHash, 32);
  if (epoch === undefined || view === undefined || height === undefined || logSize === undefined || timestampMs === undefined) return undefined;
  if (prevHash === undefined || batchHash === undefined || stateRoot === undefined || logRoot === undefined || next === undefined) return undefined;
  return { chainId, epoch, view, height, prevHash, batchHash, stateRoot, logRoot, logSize, timestampMs, nextMembershipHash: next };
}

const SIGNATURE_KEYS = ['replicaId', 'signature'] as const;
const CERTIFICATE_KEYS = ['header', 'commitView', 'signatures'] as const;

/** certificateSchema's result, or undefined to let the schema decide. */
export function fastCertificate(o: unknown): Certificate | undefined {
  if (!hasExactKeys(o, CERTIFICATE_KEYS)) return undefined;
  const header = fastHeader(o.header);
  const commitView = fastU63(o.commitView);
  const untrustedSignatures = o.signatures;
  if (header === undefined || commitView === undefined || !Array.isArray(untrustedSignatures) || untrustedSignatures.length > limits.certificateSignaturesMax) return undefined;
  const signatures: Certificate['signatures'] = [];
  for (const s of untrustedSignatures as unknown[]) {
    if (!hasExactKeys(s, SIGNATURE_KEYS)) return undefined;
    const { replicaId } = s;
    if (typeof replicaId !== 'string' || replicaId.length < 1 || replicaId.length > 64 || !isWellFormedText(replicaId)) return undefined;
    const signature = fastHexOf(s.signature, 64);
    if (signature === undefined) return undefined;
    signatures.push({ replicaId, signature });
  }
  return { header, commitView, signatures };
}

/** A list of 32-byte hashes of at most `max` (logProofSchema, and a map proof's siblings), or undefined. */
export function fastHashList(o: unknown, max: number): Uint8Array[] | undefined {
  if (!Array.isArray(o) || o.length > max) return undefined;
  const out: Uint8Array[] = [];
  for (const h of o as unknown[]) {
    const bytes = fastHexOf(h, 32);
    if (bytes === undefined) return undefined;
    out.push(bytes);
  }
  return out;
}

const MAP_PROOF_KEYS = ['siblings', 'terminal'] as const;
const EMPTY_TERMINAL_KEYS = ['kind'] as const;
const LEAF_TERMINAL_KEYS = ['kind', 'path', 'entryHash'] as const;

/** mapProofSchema's result, or undefined to let the schema decide. */
export function fastMapProof(o: unknown): MapProof | undefined {
  if (!hasExactKeys(o, MAP_PROOF_KEYS)) return undefined;
  const siblings = fastHashList(o.siblings, limits.mapDepthMax);
  if (siblings === undefined) return undefined;
  const t = o.terminal;
  if (hasExactKeys(t, EMPTY_TERMINAL_KEYS) && t.kind === 'empty') return { siblings, terminal: { kind: 'empty' } };
  if (!hasExactKeys(t, LEAF_TERMINAL_KEYS) || t.kind !== 'leaf') return undefined;
  const path = fastHexOf(t.path, 32);
  const entryHash = fastHexOf(t.entryHash, 32);
  if (path === undefined || entryHash === undefined) return undefined;
  return { siblings, terminal: { kind: 'leaf', path, entryHash } };
}

// Fast paths for the peer messages of every block: PRE-PREPARE, PREPARE,
// COMMIT and CHECKPOINT (peer-wire.ts). zod took about 35 us for a vote and
// 1.9 ms for a PRE-PREPARE of 20 requests (micro-benchmark); the peer-message
// parse was 7.5 % of the primary's busy time at 256 clients.

/** The replica id rule of wire.ts (1 to 64 characters, well-formed), for the ASCII ids every deployment uses. */
const REPLICA_ID_MAX = 64;

const VOTE_KEYS = ['type', 'epoch', 'from', 'signature', 'view', 'seq', 'headerHash'] as const;
const CHECKPOINT_KEYS = ['type', 'epoch', 'from', 'signature', 'seq', 'headerHash'] as const;
const PRE_PREPARE_KEYS = ['type', 'epoch', 'from', 'signature', 'view', 'seq', 'header', 'batch'] as const;

function fastBatch(batch: unknown): ClientRequest[] | undefined {
  if (!Array.isArray(batch) || batch.length > limits.batchRequestsMax) return undefined;
  const out: ClientRequest[] = new Array(batch.length);
  let bytes = 0;
  for (let i = 0; i < batch.length; i++) {
    const r = fastClientRequest(batch[i]);
    if (r === undefined) return undefined;
    bytes += r.payload.length;
    out[i] = r;
  }
  return bytes <= limits.batchBytesMax ? out : undefined;
}

/** peerMessageSchema's result for the four per-block messages, or undefined to let the schema decide. */
export function fastPeerMessage(o: unknown): PeerMessage | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const type = (o as { type?: unknown }).type;
  const keys = type === 'prepare' || type === 'commit' ? VOTE_KEYS : type === 'checkpoint' ? CHECKPOINT_KEYS : type === 'pre-prepare' ? PRE_PREPARE_KEYS : undefined;
  if (keys === undefined || !hasExactKeys(o, keys)) return undefined;
  const from = o.from;
  if (!isShortAscii(from, 1, REPLICA_ID_MAX)) return undefined;
  const epoch = fastU63(o.epoch);
  const signature = fastHexOf(o.signature, 64);
  const seq = fastU63(o.seq);
  if (epoch === undefined || signature === undefined || seq === undefined) return undefined;
  if (type === 'checkpoint') {
    const headerHash = fastHexOf(o.headerHash, 32);
    return headerHash === undefined ? undefined : { type, epoch, from, signature, seq, headerHash };
  }
  const view = fastU63(o.view);
  if (view === undefined) return undefined;
  if (type === 'pre-prepare') {
    const header = fastHeader(o.header);
    const batch = header === undefined ? undefined : fastBatch(o.batch);
    return header === undefined || batch === undefined ? undefined : { type, epoch, from, signature, view, seq, header, batch };
  }
  const headerHash = fastHexOf(o.headerHash, 32);
  return headerHash === undefined ? undefined : { type: type as 'prepare' | 'commit', epoch, from, signature, view, seq, headerHash };
}
