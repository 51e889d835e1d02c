// JSON wire forms of what replicas send each other (the six PBFT messages and EPOCH-ACCEPT,
// committed blocks for state transfer) and what clients send and receive.
// The conventions are those of @vcr/proofs wire.ts: bytes as lowercase hex,
// 64-bit integers as decimal strings below 2^63, strict objects that refuse
// unknown keys. Every array and string is bounded by consensus/proofs limits,
// and zod checks an array's length before it parses any element. Parsing is
// structural only: signatures, quorums and headers are the core's to verify
// (isWellFormedMessage, then verifyMessageSignature), after this decoder.

import {
  assertNever,
  bytesToHex,
  certificateSchema,
  certificateToJson,
  clientRequestSchema as proofsClientRequestSchema,
  clientRequestToJson as proofsClientRequestToJson,
  parseClientRequestJson as proofsParseClientRequestJson,
  hash32,
  headerSchema,
  headerToJson,
  isWellFormedText,
  limits as proofLimits,
  type ParseResult,
  signature64,
  u63String,
} from '@vcr/proofs';
import { consensusLimits } from './limits';
import { fastPeerMessage } from './wire-fast';
import type {
  Checkpoint,
  ClientReply,
  ClientRequest,
  Commit,
  CommittedBlock,
  NewView,
  PeerMessage,
  PrePrepare,
  Prepare,
  PreparedCertificate,
  ViewChange,
} from './types';
import * as z from 'zod';

/**
 * HTTP body limit for one peer message or one committed block, checked by the
 * transport before JSON.parse. A pre-prepare with a full batch
 * (batchBytesMax of payload, hex-doubled, plus per-request overhead) is about
 * 2.3 MiB, so it fits with room. A view change or new view that carries many
 * full prepared batches can be larger than this; such a message is refused
 * whole by the transport, not cut short.
 */
export const MAX_PEER_BODY_BYTES = 8 * 1024 * 1024;

/**
 * HTTP body limit for one client request. A payload at requestPayloadBytesMax
 * is twice that in hex; 4 KiB more covers the signature, the request id and a
 * clientId at its byte limit even with every character JSON-escaped.
 */
export const MAX_CLIENT_BODY_BYTES = 2 * consensusLimits.requestPayloadBytesMax + 4 * 1024;

/** Replica ids: as in proofs certificateSignatureSchema and consensus shape.ts. */
const replicaIdMax = 64;

// JSON.parse yields lone surrogates ("\ud800"), which the canonical encoder
// refuses by throwing. Strings that get hashed or signed are refused here, so
// no untrusted message can make the core throw while hashing it.
const noLoneSurrogate = 'no lone surrogates';

const replicaId = z.string().min(1).max(replicaIdMax).refine(isWellFormedText, noLoneSurrogate);

const header = headerSchema.refine((h) => isWellFormedText(h.chainId), { message: noLoneSurrogate, path: ['chainId'] });

const certificate = certificateSchema.refine((c) => isWellFormedText(c.header.chainId), { message: noLoneSurrogate, path: ['header', 'chainId'] });

/** The client request's JSON form is @vcr/proofs' (wire.ts); the replica and the SDK share it. */
export const clientRequestSchema = proofsClientRequestSchema;

const batchSchema = z
  .array(clientRequestSchema)
  .max(consensusLimits.batchRequestsMax)
  .refine((batch) => batch.reduce((sum, r) => sum + r.payload.length, 0) <= consensusLimits.batchBytesMax, `batch payloads at most ${consensusLimits.batchBytesMax} bytes`);

const signedFields = { epoch: u63String, from: replicaId, signature: signature64 };

const prePrepareSchema = z.strictObject({
  type: z.literal('pre-prepare'),
  ...signedFields,
  view: u63String,
  seq: u63String,
  header,
  batch: batchSchema,
});

const prepareSchema = z.strictObject({ type: z.literal('prepare'), ...signedFields, view: u63String, seq: u63String, headerHash: hash32 });

const commitSchema = z.strictObject({ type: z.literal('commit'), ...signedFields, view: u63String, seq: u63String, headerHash: hash32 });

const checkpointSchema = z.strictObject({ type: z.literal('checkpoint'), ...signedFields, seq: u63String, headerHash: hash32 });

const checkpointProofSchema = z.strictObject({
  seq: u63String,
  headerHash: hash32,
  proof: z.array(checkpointSchema).max(proofLimits.membershipSizeMax),
});

const preparedCertificateSchema = z.strictObject({
  prePrepare: prePrepareSchema,
  prepares: z.array(prepareSchema).max(proofLimits.membershipSizeMax),
});

// PBFT 4.4: a view change carries the stable checkpoint and the prepared certificates above it.
const viewChangeSchema = z.strictObject({
  type: z.literal('view-change'),
  ...signedFields,
  newView: u63String,
  checkpoint: checkpointProofSchema,
  prepared: z.array(preparedCertificateSchema).max(consensusLimits.watermarkWindowMax),
});

// The nesting is fixed (a new view holds view changes, which hold pre-prepares), so no z.lazy.
const newViewSchema = z.strictObject({
  type: z.literal('new-view'),
  ...signedFields,
  view: u63String,
  viewChanges: z.array(viewChangeSchema).max(consensusLimits.viewChangesMax),
  prePrepares: z.array(prePrepareSchema).max(consensusLimits.watermarkWindowMax),
});

const epochAcceptSchema = z.strictObject({ type: z.literal('epoch-accept'), ...signedFields, lastHeaderHash: hash32, nextMembershipHash: hash32 });

export const peerMessageSchema = z.discriminatedUnion('type', [prePrepareSchema, prepareSchema, commitSchema, checkpointSchema, viewChangeSchema, newViewSchema, epochAcceptSchema]);

export const committedBlockSchema = z.strictObject({ header, batch: batchSchema, certificate });

export type ClientRequestJson = z.input<typeof clientRequestSchema>;
export type PeerMessageJson = z.input<typeof peerMessageSchema>;
export type CommittedBlockJson = z.input<typeof committedBlockSchema>;
export interface ClientReplyJson {
  clientId: string;
  requestId: string;
  result: string;
}

function parseWith<T>(schema: z.ZodType<T>, untrusted: unknown): ParseResult<T> {
  const result = schema.safeParse(untrusted);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.slice(0, 10).map((i) => `${i.path.map(String).join('.') || '$'}: ${i.message}`);
  return { ok: false, reason: 'malformed', issues };
}

/** Decodes a peer message from any JSON value; never throws on JSON input. */
export function parsePeerMessageJson(untrusted: unknown): ParseResult<PeerMessage> {
  // The per-block messages without zod (wire-fast.ts); anything it does not accept outright goes to the schema.
  const fast = fastPeerMessage(untrusted);
  return fast !== undefined ? { ok: true, value: fast } : parseWith(peerMessageSchema, untrusted);
}

/**
 * Decodes a client request from any JSON value; the signature is the core's to check. The one
 * parser of @vcr/proofs (its zod-free fast path first): a second copy here had sent every
 * relayed and HTTP request through zod (10 % of the primary's time at 256 clients).
 */
export const parseClientRequestJson = proofsParseClientRequestJson;

/** Decodes a committed block (state transfer); its certificate is the core's to verify. */
export const parseCommittedBlockJson = (untrusted: unknown): ParseResult<CommittedBlock> => parseWith(committedBlockSchema, untrusted);

export function clientRequestToJson(r: ClientRequest): ClientRequestJson {
  return proofsClientRequestToJson(r);
}

export function clientReplyToJson(r: ClientReply): ClientReplyJson {
  return { clientId: r.clientId, requestId: r.requestId.toString(), result: bytesToHex(r.result) };
}

export function committedBlockToJson(b: CommittedBlock): CommittedBlockJson {
  return { header: headerToJson(b.header), batch: b.batch.map(clientRequestToJson), certificate: certificateToJson(b.certificate) };
}

function signedToJson(m: PeerMessage) {
  return { epoch: m.epoch.toString(), from: m.from, signature: bytesToHex(m.signature) };
}

function prePrepareToJson(m: PrePrepare): z.input<typeof prePrepareSchema> {
  return {
    type: m.type,
    ...signedToJson(m),
    view: m.view.toString(),
    seq: m.seq.toString(),
    header: headerToJson(m.header),
    batch: m.batch.map(clientRequestToJson),
  };
}

function prepareToJson(m: Prepare): z.input<typeof prepareSchema> {
  return { type: m.type, ...signedToJson(m), view: m.view.toString(), seq: m.seq.toString(), headerHash: bytesToHex(m.headerHash) };
}

function commitToJson(m: Commit): z.input<typeof commitSchema> {
  return { type: m.type, ...signedToJson(m), view: m.view.toString(), seq: m.seq.toString(), headerHash: bytesToHex(m.headerHash) };
}

function checkpointToJson(m: Checkpoint): z.input<typeof checkpointSchema> {
  return { type: m.type, ...signedToJson(m), seq: m.seq.toString(), headerHash: bytesToHex(m.headerHash) };
}

function preparedToJson(c: PreparedCertificate): z.input<typeof preparedCertificateSchema> {
  return { prePrepare: prePrepareToJson(c.prePrepare), prepares: c.prepares.map(prepareToJson) };
}

function viewChangeToJson(m: ViewChange): z.input<typeof viewChangeSchema> {
  return {
    type: m.type,
    ...signedToJson(m),
    newView: m.newView.toString(),
    checkpoint: { seq: m.checkpoint.seq.toString(), headerHash: bytesToHex(m.checkpoint.headerHash), proof: m.checkpoint.proof.map(checkpointToJson) },
    prepared: m.prepared.map(preparedToJson),
  };
}

function newViewToJson(m: NewView): z.input<typeof newViewSchema> {
  return {
    type: m.type,
    ...signedToJson(m),
    view: m.view.toString(),
    viewChanges: m.viewChanges.map(viewChangeToJson),
    prePrepares: m.prePrepares.map(prePrepareToJson),
  };
}

export function peerMessageToJson(m: PeerMessage): PeerMessageJson {
  switch (m.type) {
    case 'pre-prepare':
      return prePrepareToJson(m);
    case 'prepare':
      return prepareToJson(m);
    case 'commit':
      return commitToJson(m);
    case 'checkpoint':
      return checkpointToJson(m);
    case 'view-change':
      return viewChangeToJson(m);
    case 'new-view':
      return newViewToJson(m);
    case 'epoch-accept':
      return { type: m.type, ...signedToJson(m), lastHeaderHash: bytesToHex(m.lastHeaderHash), nextMembershipHash: bytesToHex(m.nextMembershipHash) };
    default:
      return assertNever(m, 'peer message type');
  }
}
