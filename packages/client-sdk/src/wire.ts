// zod schemas of the replica's answers (docs/replica.md section 1), built on
// the wire schemas of @vcr/proofs. Parsing never throws; what comes out is
// well-formed but still unverified (hence the `Untrusted` names).

import * as z from 'zod';
import { certificateSchema, clientRequestSchema, fastHashList, fastMapProof, fastU63, hasExactKeys, limits, logProofSchema, mapProofSchema, tryHexToBytes, tryLowercaseHexToBytes, u63String } from '@vcr/proofs';
import { registryLimits } from '@vcr/registry';

/** Lowercase hex of at most `maxBytes` bytes, as bytes. */
export const hexBytes = (maxBytes: number) =>
  z
    .string()
    .max(2 * maxBytes, { abort: true })
    .regex(/^(?:[0-9a-f]{2})*$/, 'lowercase hex')
    .transform((s) => tryHexToBytes(s) as Uint8Array);

const keyText = z.string().min(1).max(4 * registryLimits.keyBytesMax);

export const consistencyAnswerSchema = z.object({ from: u63String, to: u63String, proof: logProofSchema });

const readAnswerFields = {
  key: keyText,
  entry: z.object({ value: hexBytes(registryLimits.valueBytesMax), revision: u63String }).nullable(),
  proof: mapProofSchema,
  /** Asked for with ?proveFrom=N: the consistency proof from log size N to the certificate's (accept.ts). */
  consistency: consistencyAnswerSchema.optional(),
};

export const readAnswerSchema = z.object({ ...readAnswerFields, certificate: certificateSchema });
export type UntrustedRead = z.infer<typeof readAnswerSchema>;

/**
 * The same answer with the certificate left as JSON: the trust state reads it
 * (TrustState.certificateOfJson), recognizing a certificate it verified
 * before by its text instead of parsing it again.
 */
export const readAnswerOutsideCertificateSchema = z.object({ ...readAnswerFields, certificate: z.unknown() });

export type UntrustedReadOutsideCertificate = z.infer<typeof readAnswerOutsideCertificateSchema>;

const READ_KEYS = ['key', 'entry', 'proof', 'certificate'] as const;
const READ_KEYS_WITH_CONSISTENCY = ['key', 'entry', 'proof', 'certificate', 'consistency'] as const;
const ENTRY_KEYS = ['value', 'revision'] as const;
const CONSISTENCY_KEYS = ['from', 'to', 'proof'] as const;

/**
 * readAnswerOutsideCertificateSchema's result without zod, or undefined to
 * let the schema decide (the pattern of @vcr/proofs' wire-fast.ts: it only
 * ever accepts what the schema accepts, with an equal value; wire.test.ts
 * checks that on valid, mutated and random answers). Every read parses one
 * answer, and the schema cost about as much as the map proof's hashing.
 */
export function fastReadAnswer(o: unknown): UntrustedReadOutsideCertificate | undefined {
  if (!hasExactKeys(o, READ_KEYS) && !hasExactKeys(o, READ_KEYS_WITH_CONSISTENCY)) return undefined;
  const withConsistency = Object.prototype.hasOwnProperty.call(o, 'consistency');
  const { key, entry: untrustedEntry } = o;
  if (typeof key !== 'string' || key.length < 1 || key.length > 4 * registryLimits.keyBytesMax) return undefined;
  let entry: UntrustedReadOutsideCertificate['entry'] = null;
  if (untrustedEntry !== null) {
    if (!hasExactKeys(untrustedEntry, ENTRY_KEYS)) return undefined;
    const { value: hex } = untrustedEntry;
    if (typeof hex !== 'string' || hex.length > 2 * registryLimits.valueBytesMax) return undefined;
    const value = tryLowercaseHexToBytes(hex);
    const revision = fastU63(untrustedEntry.revision);
    if (value === undefined || revision === undefined) return undefined;
    entry = { value, revision };
  }
  const proof = fastMapProof(o.proof);
  if (proof === undefined) return undefined;
  if (!withConsistency) return { key, entry, proof, certificate: o.certificate };
  const c = o.consistency;
  if (!hasExactKeys(c, CONSISTENCY_KEYS)) return undefined;
  const from = fastU63(c.from);
  const to = fastU63(c.to);
  const nodes = fastHashList(c.proof, limits.logProofNodesMax);
  if (from === undefined || to === undefined || nodes === undefined) return undefined;
  return { key, entry, proof, consistency: { from, to, proof: nodes }, certificate: o.certificate };
}

/** A read answer with its certificate left as JSON: the fast path when it accepts, else the schema (which words the refusal). */
export function parseReadAnswer(untrusted: unknown): { ok: true; value: UntrustedReadOutsideCertificate } | { ok: false; detail: string } {
  const fast = fastReadAnswer(untrusted);
  return fast !== undefined ? { ok: true, value: fast } : parseAnswer(readAnswerOutsideCertificateSchema, untrusted);
}

export const receiptSchema = z.object({
  certificate: certificateSchema,
  reply: z.object({ clientId: z.string().max(128), requestId: u63String, result: hexBytes(4096) }),
  logIndex: u63String,
  leafData: hexBytes(8192),
  inclusionProof: logProofSchema,
  consistency: consistencyAnswerSchema.optional(),
});
export type UntrustedReceipt = z.infer<typeof receiptSchema>;

export const listAnswerSchema = z.object({
  prefix: z.string().max(4 * registryLimits.keyBytesMax),
  keys: z.array(z.object({ key: keyText, value: hexBytes(registryLimits.valueBytesMax), revision: u63String, proof: mapProofSchema })).max(1_000),
  certificate: certificateSchema,
  next: keyText.nullable(),
});
export type UntrustedListing = z.infer<typeof listAnswerSchema>;

export const changeSchema = z.object({
  key: keyText,
  op: z.enum(['put', 'delete']),
  revision: u63String,
  height: u63String,
  logIndex: u63String,
  request: clientRequestSchema,
  leafData: hexBytes(8192),
  inclusionProof: logProofSchema,
  certificate: certificateSchema,
});
export type UntrustedChange = z.infer<typeof changeSchema>;

export const historyAnswerSchema = z.object({ key: keyText, entries: z.array(changeSchema).max(1_000), next: u63String.nullable() });
export const changesAnswerSchema = z.object({ prefix: z.string().max(4 * registryLimits.keyBytesMax), entries: z.array(changeSchema).max(1_000), next: u63String, more: z.boolean() });

/** The prefix index entry of a view page (docs/merkle-map.md section 8), unverified. */
const prefixIndexSchema = z.object({ entry: z.object({ value: hexBytes(256), revision: u63String }).nullable(), proof: mapProofSchema });
export type UntrustedPrefixIndex = z.infer<typeof prefixIndexSchema>;

export const viewKeysAnswerSchema = z.object({
  prefix: z.string().max(4 * registryLimits.keyBytesMax),
  keys: z.array(z.object({ key: keyText, value: hexBytes(registryLimits.valueBytesMax), revision: u63String, proof: mapProofSchema })).max(1_000),
  index: prefixIndexSchema,
  certificate: certificateSchema,
  next: keyText.nullable(),
});
export const viewChangesAnswerSchema = z.object({
  prefix: z.string().max(4 * registryLimits.keyBytesMax),
  entries: z.array(changeSchema).max(1_000),
  more: z.boolean(),
  index: prefixIndexSchema,
  certificate: certificateSchema,
});



/** Parses with a schema; the first few issues as one line on failure. */
export function parseAnswer<T>(schema: z.ZodType<T>, untrusted: unknown): { ok: true; value: T } | { ok: false; detail: string } {
  const r = schema.safeParse(untrusted);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, detail: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ') };
}
