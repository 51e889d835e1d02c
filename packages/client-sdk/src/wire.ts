// zod schemas of the replica's answers (docs/replica.md section 1), built on
// the wire schemas of @vcr/proofs. Parsing never throws; what comes out is
// well-formed but still unverified (hence the `Untrusted` names).

import { z } from 'zod';
import { certificateSchema, clientRequestSchema, logProofSchema, mapProofSchema, tryHexToBytes, u63String } from '@vcr/proofs';
import { registryLimits } from '@vcr/registry';

const hexBytes = (maxBytes: number) =>
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
