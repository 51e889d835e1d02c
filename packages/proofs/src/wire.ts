// JSON wire forms of the proof objects, shared by the replica (which writes
// them) and the SDK and console (which read them untrusted). Bytes are
// lowercase hex; 64-bit integers are decimal strings, so nothing loses
// precision past 2^53 in any JSON parser. Parsing never throws.

import * as z from 'zod';
import { bytesToHex, tryHexToBytes, tryLowercaseHexToBytes } from './bytes';
import { isWellFormedText } from './canonical';
import { type Certificate } from './certificate';
import type { ClientRequest } from './client-request';
import { clientRequestLimits } from './limits';
import { type EpochLink } from './epoch-chain';
import { type BlockHeader } from './header';
import { limits } from './limits';
import { type Membership } from './membership';
import { type MapProof } from './merkle-map';
import { fastCertificate, fastClientRequest, fastHashList, fastMapProof } from './wire-fast';

/**
 * Lowercase hex of `length` bytes (or at most canonicalBytesMax), decoded.
 * One pass over the text that checks and decodes together: an answer carries
 * some forty of these, and a regex, a length check and a decode each were the
 * larger part of parsing it.
 */
const hexBytes = (length?: number) => {
  const charsMax = length === undefined ? 2 * limits.canonicalBytesMax : 2 * length;
  return z.string().transform((s, ctx) => {
    if (s.length > charsMax) ctx.addIssue({ code: 'custom', message: `at most ${charsMax / 2} bytes`, input: s });
    else if (length !== undefined && s.length !== charsMax) ctx.addIssue({ code: 'custom', message: `exactly ${length} bytes`, input: s });
    else {
      const bytes = tryLowercaseHexToBytes(s);
      if (bytes !== undefined) return bytes;
      ctx.addIssue({ code: 'custom', message: 'lowercase hex', input: s });
    }
    return z.NEVER;
  });
};

/** A non-negative integer below 2^63 as a decimal string without leading zeros. */
export const u63String = z
  .string()
  .regex(/^(?:0|[1-9][0-9]{0,18})$/, 'decimal integer')
  .transform((s) => BigInt(s))
  .refine((n) => n < 1n << 63n, 'below 2^63');

/** Text that will be hashed or signed: well-formed UTF-16 only (a lone surrogate would make encoding throw). */
const wellFormed = (max: number) => z.string().min(1).max(max).refine(isWellFormedText, 'well-formed text');

export const hash32 = hexBytes(32);
export const signature64 = hexBytes(64);
export const publicKey32 = hexBytes(32);

export const headerSchema = z.strictObject({
  chainId: wellFormed(limits.chainIdBytesMax),
  epoch: u63String,
  view: u63String,
  height: u63String,
  prevHash: hash32,
  batchHash: hash32,
  stateRoot: hash32,
  logRoot: hash32,
  logSize: u63String,
  timestampMs: u63String,
  nextMembershipHash: hash32.nullable(),
});

export const certificateSignatureSchema = z.strictObject({ replicaId: wellFormed(64), signature: signature64 });

export const certificateSchema = z.strictObject({
  header: headerSchema,
  commitView: u63String,
  signatures: z.array(certificateSignatureSchema).max(limits.certificateSignaturesMax),
});

export const membershipSchema = z.strictObject({
  chainId: wellFormed(limits.chainIdBytesMax),
  epoch: u63String,
  f: z.number().int().min(0).max(limits.membershipSizeMax),
  replicas: z
    .array(z.strictObject({ id: wellFormed(64), organization: wellFormed(256), publicKey: publicKey32, address: z.string().max(256).refine(isWellFormedText) }))
    .min(1)
    .max(limits.membershipSizeMax),
  governance: z.strictObject({
    threshold: z.number().int().min(1).max(limits.membershipSizeMax),
    admins: z.array(z.strictObject({ organization: wellFormed(256), publicKey: publicKey32 })).min(1).max(limits.membershipSizeMax),
  }),
});

export const epochLinkSchema = z.strictObject({
  lastHeader: headerSchema,
  oldCommitView: u63String,
  oldSignatures: z.array(certificateSignatureSchema).max(limits.certificateSignaturesMax),
  nextMembership: membershipSchema,
  newSignatures: z.array(certificateSignatureSchema).max(limits.certificateSignaturesMax),
});

/** RFC 9162 proofs on the wire: a list of 32-byte nodes in the order docs/merkle-log.md gives. */
export const logProofSchema = z.array(hash32).max(limits.logProofNodesMax);

/** Sparse Merkle map proofs (docs/merkle-map.md): siblings from the root down, then the terminal. */
export const mapProofSchema = z.strictObject({
  siblings: z.array(hash32).max(limits.mapDepthMax),
  terminal: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('empty') }),
    z.strictObject({ kind: z.literal('leaf'), path: hash32, entryHash: hash32 }),
  ]),
});

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: 'malformed'; issues: string[] };

function parseWith<T>(schema: z.ZodType<T>, untrusted: unknown): ParseResult<T> {
  const result = schema.safeParse(untrusted);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, reason: 'malformed', issues: result.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '$'}: ${i.message}`) };
}

const clientIdSchema = z
  .string()
  .min(1)
  .max(clientRequestLimits.clientIdBytesMax, { abort: true })
  .refine((s) => new TextEncoder().encode(s).length <= clientRequestLimits.clientIdBytesMax, `at most ${clientRequestLimits.clientIdBytesMax} UTF-8 bytes`)
  .refine(isWellFormedText, 'well-formed text');

/** A client request; the payload's length is checked before its hex is decoded. */
export const clientRequestSchema = z.strictObject({
  clientId: clientIdSchema,
  requestId: u63String,
  payload: z
    .string()
    .max(2 * clientRequestLimits.payloadBytesMax, { abort: true })
    .regex(/^(?:[0-9a-f]{2})*$/, 'lowercase hex')
    .transform((s) => tryHexToBytes(s) as Uint8Array),
  signature: signature64,
});

export function parseClientRequestJson(untrusted: unknown): ParseResult<ClientRequest> {
  // The common case without zod (wire-fast.ts); anything it does not accept outright goes to the schema.
  const fast = fastClientRequest(untrusted);
  return fast !== undefined ? { ok: true, value: fast } : parseWith(clientRequestSchema, untrusted);
}

export function clientRequestToJson(r: ClientRequest): { clientId: string; requestId: string; payload: string; signature: string } {
  return { clientId: r.clientId, requestId: r.requestId.toString(), payload: bytesToHex(r.payload), signature: bytesToHex(r.signature) };
}

export const parseHeaderJson = (untrusted: unknown): ParseResult<BlockHeader> => parseWith(headerSchema, untrusted);
/** The schema's result, from the zod-free fast path when it accepts (wire-fast.ts), else from the schema, which decides and words the refusal. */
function parseFastOr<T>(fast: T | undefined, schema: z.ZodType<T>, untrusted: unknown): ParseResult<T> {
  return fast !== undefined ? { ok: true, value: fast } : parseWith(schema, untrusted);
}

export const parseCertificateJson = (untrusted: unknown): ParseResult<Certificate> => parseFastOr(fastCertificate(untrusted), certificateSchema, untrusted);
export const parseMembershipJson = (untrusted: unknown): ParseResult<Membership> => parseWith(membershipSchema, untrusted);
export const parseMapProofJson = (untrusted: unknown): ParseResult<MapProof> => parseFastOr(fastMapProof(untrusted), mapProofSchema, untrusted);
export const parseLogProofJson = (untrusted: unknown): ParseResult<Uint8Array[]> => parseFastOr(fastHashList(untrusted, limits.logProofNodesMax), logProofSchema, untrusted);
export const parseEpochLinkJson = (untrusted: unknown): ParseResult<EpochLink> => parseWith(epochLinkSchema, untrusted);

export function headerToJson(h: BlockHeader) {
  return {
    chainId: h.chainId,
    epoch: h.epoch.toString(),
    view: h.view.toString(),
    height: h.height.toString(),
    prevHash: bytesToHex(h.prevHash),
    batchHash: bytesToHex(h.batchHash),
    stateRoot: bytesToHex(h.stateRoot),
    logRoot: bytesToHex(h.logRoot),
    logSize: h.logSize.toString(),
    timestampMs: h.timestampMs.toString(),
    nextMembershipHash: h.nextMembershipHash === null ? null : bytesToHex(h.nextMembershipHash),
  };
}

export function certificateToJson(c: Certificate) {
  return { header: headerToJson(c.header), commitView: c.commitView.toString(), signatures: c.signatures.map((s) => ({ replicaId: s.replicaId, signature: bytesToHex(s.signature) })) };
}

export function membershipToJson(m: Membership) {
  return {
    chainId: m.chainId,
    epoch: m.epoch.toString(),
    f: m.f,
    replicas: m.replicas.map((r) => ({ id: r.id, organization: r.organization, publicKey: bytesToHex(r.publicKey), address: r.address })),
    governance: { threshold: m.governance.threshold, admins: m.governance.admins.map((a) => ({ organization: a.organization, publicKey: bytesToHex(a.publicKey) })) },
  };
}

export function epochLinkToJson(l: EpochLink) {
  const sigs = (list: EpochLink['oldSignatures']) => list.map((s) => ({ replicaId: s.replicaId, signature: bytesToHex(s.signature) }));
  return { lastHeader: headerToJson(l.lastHeader), oldCommitView: l.oldCommitView.toString(), oldSignatures: sigs(l.oldSignatures), nextMembership: membershipToJson(l.nextMembership), newSignatures: sigs(l.newSignatures) };
}

export function mapProofToJson(p: MapProof) {
  return {
    siblings: p.siblings.map(bytesToHex),
    terminal: p.terminal.kind === 'empty' ? { kind: 'empty' as const } : { kind: 'leaf' as const, path: bytesToHex(p.terminal.path), entryHash: bytesToHex(p.terminal.entryHash) },
  };
}

export function logProofToJson(p: readonly Uint8Array[]): string[] {
  return p.map(bytesToHex);
}
