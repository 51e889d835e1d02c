// zod schemas of the auditor's answers (GET /v1/blocks/{height}/results,
// /v1/orgs, /v1/pending; docs/replica.md), checked by audit-checks.ts.

import * as z from 'zod';
import { certificateSchema, headerSchema, logProofSchema, mapProofSchema, u63String } from '@vcr/proofs';
import { governanceLimits } from '@vcr/registry';
import { sdkLimits } from './limits';
import { changeSchema, hexBytes } from './wire';

export const blockResultsSchema = z.object({
  height: u63String,
  previousHeader: headerSchema.nullable(),
  leaves: z.array(z.object({ logIndex: u63String, leafData: hexBytes(8192), inclusionProof: logProofSchema })).max(sdkLimits.blockResultsLeavesMax),
});
export type UntrustedBlockResults = z.infer<typeof blockResultsSchema>;

export const orgRecordsSchema = z.object({
  certificate: certificateSchema,
  orgs: z.array(z.object({ org: z.string().max(64), record: hexBytes(16_384).nullable(), revision: u63String, proof: mapProofSchema })).max(governanceLimits.orgsPerListMax),
});
export type UntrustedOrgRecords = z.infer<typeof orgRecordsSchema>;

/** A request that submitted a pending change: a history entry's proof material, without the key change. */
export const submissionSchema = changeSchema.pick({ height: true, logIndex: true, request: true, leafData: true, inclusionProof: true, certificate: true });
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
