// Every bound of the typed value formats (docs/values.md), in one place.
// Strings are bounded in UTF-16 code units (what zod and String.length
// count); the whole value is bounded in bytes by the operation format.

import { registryLimits } from '../keys';

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
