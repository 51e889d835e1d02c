// Every bound of the registry in one place: keys and values, transactions,
// typed values, membership changes and their approvals, governance, the
// prefix index. Checked before any signature work. Bounds shared with the
// proofs (membership size) are the proofs' limits, named here.

import { limits } from '@vcr/proofs';

/** Every bound of the operation format. */
export const registryLimits = {
  /** User keys are 1..keyBytesMax characters of the key alphabet (one byte each in UTF-8). */
  keyBytesMax: 256,
  /** Values are opaque bytes of at most this size. */
  valueBytesMax: 64 * 1024,
  /** Operations in one transaction. */
  txnOpsMax: 64,
  /** A refusal's detail (`RegistryResult.detail`), in UTF-16 code units: it is stored in every reply cache entry and log leaf. */
  resultDetailCharsMax: 256,
  /** Revisions stay below 2^63, like every 64-bit quantity on the JSON wire. */
  revisionMax: (1n << 63n) - 1n,
} as const;

export const membershipChangeLimits = {
  /** Actions in one change. */
  actionsMax: 16,
  /** Approvals in one op: at most one per governance organization, and there are at most this many admins. */
  approvalsMax: limits.membershipSizeMax,
  /** Governance admins in a `set-governance` action (the membership's own bound). */
  adminsMax: limits.membershipSizeMax,
  /** Replica ids: the membership's id pattern allows 64 characters. */
  replicaIdBytesMax: 64,
  /** Organization names and addresses: the membership's text bound. */
  organizationBytesMax: 256,
  addressBytesMax: 256,
  /** The largest f a membership of membershipSizeMax replicas tolerates. */
  fMax: Math.floor((limits.membershipSizeMax - 1) / 3),
} as const;

export const prefixIndexLimits = {
  /** The deepest index a genesis may ask for: a key adds to at most this many index leaves. */
  depthMax: 8,
} as const;

export const governanceLimits = {
  orgIdMax: 64,
  clientsPerOrgMax: 64,
  adminsMax: 16,
  orgsPerListMax: 32,
  prefixBytesMax: 128,
  approvalsThresholdMax: 16,
  /** Pending changes expire at most this long after they were proposed. */
  approvalTtlMsMax: 30 * 24 * 60 * 60 * 1000,
  /** Open (unexpired) pending changes proposed by one organization's clients; a proposal past it is refused (`pending-limit`). */
  pendingPerOrgMax: 32,
  /** Open pending changes in the whole registry (the pending index stays below about 30 KB). */
  pendingTotalMax: 256,
} as const;

export const approvalLimits = {
  /** Membership ops examined at most in an epoch's last block when looking for its approvals. */
  membershipOpsCheckedMax: 16,
} as const;

export const valueLimits = {
  /** A typed value is at most as large as any value. */
  typedValueBytesMax: registryLimits.valueBytesMax,
  /** JSON nesting: the top-level object is depth 1. */
  jsonDepthMax: 16,
  /** Issues reported for one invalid value; the rest are summarised in one line. */
  issuesMax: 20,
  /** Variant, attribute, rule id and metadata key names. */
  nameCharsMax: 64,
  descriptionCharsMax: 512,
  flagVariantsMax: 32,
  flagRulesMax: 64,
  flagConditionsMax: 16,
  flagConditionValuesMax: 256,
  flagConditionValueCharsMax: 256,
  flagSaltCharsMax: 64,
  /** Rollout weights are basis points: they sum to exactly this. */
  rolloutBasisPoints: 10_000,
  /** A rollout unit id (the context attribute a rollout is keyed on). */
  unitIdCharsMax: 256,
  pinsMax: 16,
  backupPinsMax: 16,
  hostnamesMax: 64,
  /** RFC 1035: a name is at most 253 characters in text form. */
  hostnameCharsMax: 253,
  /** The largest time a JavaScript Date can hold (ECMA-262 21.4.1.1), in ms since the epoch. */
  expiresAtMsMax: 8_640_000_000_000_000,
  urlCharsMax: 2048,
  endpointWeightMax: 10_000,
  regionCharsMax: 64,
  metadataEntriesMax: 16,
  metadataValueCharsMax: 256,
} as const;
