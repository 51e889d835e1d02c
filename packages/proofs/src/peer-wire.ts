// JSON wire forms of what replicas send each other (the six PBFT messages and
// EPOCH-ACCEPT, committed blocks for state transfer): formats, shared by the
// consensus core's host (the replica), the console and the audit tools.
// The conventions are those of wire.ts: bytes as lowercase hex, 64-bit
// integers as decimal strings below 2^63, strict objects that refuse unknown
// keys. Every array and string is bounded by limits.ts, and zod checks an
// array's length before it parses any element. Parsing is structural only:
// signatures, quorums and headers are the core's to verify
// (isWellFormedMessage, then verifyMessageSignature), after this decoder.

import * as z from 'zod';
import { assertNever } from './assert';
import { bytesToHex } from './bytes';
import { isWellFormedText } from './canonical';
import { limits } from './limits';
import type { CheckpointMessage, Commit, CommittedBlock, NewView, PeerMessage, PrePrepare, Prepare, PreparedCertificate, ViewChange } from './peer-message';
import { fastPeerMessage } from './wire-fast';
import { certificateSchema, certificateToJson, clientRequestSchema, clientRequestToJson, hash32, headerSchema, headerToJson, type ParseResult, signature64, u63String } from './wire';

/** HTTP body limit for one peer message or one committed block (limits.peerBodyBytesMax). */
export const MAX_PEER_BODY_BYTES = limits.peerBodyBytesMax;

/** Replica ids: as in certificateSignatureSchema and consensus shape.ts. */
const replicaIdMax = 64;

// JSON.parse yields lone surrogates ("\ud800"), which the canonical encoder
// refuses by throwing. Strings that get hashed or signed are refused here, so
// no untrusted message can make the core throw while hashing it.
const noLoneSurrogate = 'no lone surrogates';

const replicaId = z.string().min(1).max(replicaIdMax).refine(isWellFormedText, noLoneSurrogate);

const header = headerSchema.refine((h) => isWellFormedText(h.chainId), { message: noLoneSurrogate, path: ['chainId'] });

const certificate = certificateSchema.refine((c) => isWellFormedText(c.header.chainId), { message: noLoneSurrogate, path: ['header', 'chainId'] });

const batchSchema = z
  .array(clientRequestSchema)
  .max(limits.batchRequestsMax)
  .refine((batch) => batch.reduce((sum, r) => sum + r.payload.length, 0) <= limits.batchBytesMax, `batch payloads at most ${limits.batchBytesMax} bytes`);

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
  proof: z.array(checkpointSchema).max(limits.membershipSizeMax),
});

const preparedCertificateSchema = z.strictObject({
  prePrepare: prePrepareSchema,
  prepares: z.array(prepareSchema).max(limits.membershipSizeMax),
});

// PBFT 4.4: a view change carries the stable checkpoint and the prepared certificates above it.
const viewChangeSchema = z.strictObject({
  type: z.literal('view-change'),
  ...signedFields,
  newView: u63String,
  checkpoint: checkpointProofSchema,
  prepared: z.array(preparedCertificateSchema).max(limits.watermarkWindowMax),
});

// The nesting is fixed (a new view holds view changes, which hold pre-prepares), so no z.lazy.
const newViewSchema = z.strictObject({
  type: z.literal('new-view'),
  ...signedFields,
  view: u63String,
  viewChanges: z.array(viewChangeSchema).max(limits.viewChangesMax),
  prePrepares: z.array(prePrepareSchema).max(limits.watermarkWindowMax),
});

const epochAcceptSchema = z.strictObject({ type: z.literal('epoch-accept'), ...signedFields, lastHeaderHash: hash32, nextMembershipHash: hash32 });

export const peerMessageSchema = z.discriminatedUnion('type', [prePrepareSchema, prepareSchema, commitSchema, checkpointSchema, viewChangeSchema, newViewSchema, epochAcceptSchema]);

export const committedBlockSchema = z.strictObject({ header, batch: batchSchema, certificate });

export type PeerMessageJson = z.input<typeof peerMessageSchema>;
export type CommittedBlockJson = z.input<typeof committedBlockSchema>;

function parsePeerWith<T>(schema: z.ZodType<T>, untrusted: unknown): ParseResult<T> {
  const result = schema.safeParse(untrusted);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.slice(0, 10).map((i) => `${i.path.map(String).join('.') || '$'}: ${i.message}`);
  return { ok: false, reason: 'malformed', issues };
}

/** Decodes a peer message from any JSON value; never throws on JSON input. */
export function parsePeerMessageJson(untrusted: unknown): ParseResult<PeerMessage> {
  // The per-block messages without zod (wire-fast.ts); anything it does not accept outright goes to the schema.
  const fast = fastPeerMessage(untrusted);
  return fast !== undefined ? { ok: true, value: fast } : parsePeerWith(peerMessageSchema, untrusted);
}

/** Decodes a committed block (state transfer); its certificate is the core's to verify. */
export const parseCommittedBlockJson = (untrusted: unknown): ParseResult<CommittedBlock> => parsePeerWith(committedBlockSchema, untrusted);

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

function checkpointToJson(m: CheckpointMessage): z.input<typeof checkpointSchema> {
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
