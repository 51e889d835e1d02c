// zod schemas of the auditor's answers (GET /v1/blocks/{height}/results,
// /v1/orgs, /v1/pending; docs/replica.md), checked by audit-checks.ts.

import { z } from 'zod';
import { certificateSchema, clientRequestSchema, headerSchema, logProofSchema, mapProofSchema, u63String } from '@vcr/proofs';
import { governanceLimits } from '@vcr/registry';
import { hexBytes } from './wire';

/** Leaves per block answer: at most one per request of a batch. */
const LEAVES_MAX = 10_000;

export const blockResultsSchema = z.object({
  height: u63String,
  previousHeader: headerSchema.nullable(),
  leaves: z.array(z.object({ logIndex: u63String, leafData: hexBytes(8192), inclusionProof: logProofSchema })).max(LEAVES_MAX),
});
export type UntrustedBlockResults = z.infer<typeof blockResultsSchema>;

export const orgRecordsSchema = z.object({
  certificate: certificateSchema,
  orgs: z.array(z.object({ org: z.string().max(64), record: hexBytes(16_384).nullable(), revision: u63String, proof: mapProofSchema })).max(governanceLimits.orgsPerListMax),
});
export type UntrustedOrgRecords = z.infer<typeof orgRecordsSchema>;

export const submissionSchema = z.object({
  height: u63String,
  logIndex: u63String,
  request: clientRequestSchema,
  leafData: hexBytes(8192),
  inclusionProof: logProofSchema,
  certificate: certificateSchema,
});
export type UntrustedSubmission = z.infer<typeof submissionSchema>;

export const pendingChangeSchema = z.object({
  change: z.string().regex(/^[0-9a-f]{32}$/),
  record: hexBytes(4096).nullable(),
  revision: u63String,
  proof: mapProofSchema,
  submissions: z.array(submissionSchema).max(32),
});
export type UntrustedPendingChange = z.infer<typeof pendingChangeSchema>;

export const pendingListSchema = z.object({ certificate: certificateSchema, changes: z.array(pendingChangeSchema).max(64) });
