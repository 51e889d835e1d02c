// What both OpenFeature providers share (openfeature.ts, the remote one that
// reads through the client; openfeature-in-process.ts, the one on a local
// view): the reason mapping, the context mapping, the flag metadata and the
// mapping of registry failures to OpenFeature errors. Runtime values come
// from @openfeature/core only (no node: imports, no SDK-specific code).

import {
  type EvaluationContext,
  type FlagMetadata,
  FlagNotFoundError,
  GeneralError,
  type JsonValue,
  ParseError,
  type ResolutionDetails,
  TypeMismatchError,
  ProviderFatalError,
  type ResolutionReason,
  StandardResolutionReasons,
} from '@openfeature/core';
import type { FlagContext, FlagReason } from '@vcr/registry';
import { ForkError, RegistryError } from './errors';
import type { FlagEvaluationResult } from './typed';
import { TypedValueError } from './typed';

export type Kind = 'boolean' | 'string' | 'number' | 'object';

/** docs/values.md section 3.1: the evaluation reason in OpenFeature terms. */
export function openFeatureReason(reason: FlagReason): ResolutionReason {
  switch (reason.kind) {
    case 'disabled':
      return StandardResolutionReasons.DISABLED;
    case 'rule':
      return StandardResolutionReasons.TARGETING_MATCH;
    case 'rule-rollout':
    case 'rollout':
      return StandardResolutionReasons.SPLIT;
    case 'default':
      return StandardResolutionReasons.DEFAULT;
    default:
      return reason satisfies never;
  }
}

/** The OpenFeature context as flag attributes: strings, numbers, booleans and null pass; dates and structures do not (flag conditions compare strings). */
export function flagContextOf(context: EvaluationContext, targetingKeyAttribute: string | undefined): FlagContext {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [name, value] of Object.entries(context)) {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = value;
  }
  if (targetingKeyAttribute !== undefined && context.targetingKey !== undefined && out[targetingKeyAttribute] === undefined) out[targetingKeyAttribute] = context.targetingKey;
  return out;
}

export function fitsKind(value: JsonValue, kind: Kind): boolean {
  if (kind === 'object') return typeof value === 'object' && value !== null;
  return typeof value === kind;
}

export function metadataOf(registryKey: string, r: FlagEvaluationResult, reason: ResolutionReason): FlagMetadata {
  // Decimal strings: revisions, heights and epochs are 63-bit, more than a JSON number holds exactly.
  return {
    registryKey,
    revision: r.revision.toString(),
    height: r.height.toString(),
    epoch: r.epoch.toString(),
    timestampMs: r.timestampMs.toString(),
    ageMs: r.ageMs,
    stale: r.stale,
    source: r.source,
    replica: r.replica,
    headerHash: r.headerHash,
    evaluationReason: reason,
  };
}

/** A registry failure as the OpenFeature error the API reports (reason ERROR, with its code). */
export function toOpenFeatureError(registryKey: string, error: unknown): Error {
  const options = { cause: error };
  if (error instanceof TypedValueError) {
    if (error.reason === 'absent') return new FlagNotFoundError(`flag ${JSON.stringify(registryKey)} is absent (verified proof of absence)`, options);
    return new ParseError(error.message, options);
  }
  // Two valid certificates for one height: the registry itself cannot be trusted any more.
  if (error instanceof ForkError) return new ProviderFatalError(error.message, options);
  if (error instanceof RegistryError) return new GeneralError(`flag ${JSON.stringify(registryKey)} could not be read verified (${error.code}): ${error.message}`.slice(0, 2_000), options);
  return new GeneralError(error instanceof Error ? error.message : String(error), options);
}


/** A verified evaluation as OpenFeature details: STALE when stale (the evaluation's reason in the metadata); TYPE_MISMATCH for a value of another kind. */
export function detailsOf<T>(registryKey: string, result: FlagEvaluationResult, kind: Kind): ResolutionDetails<T> {
  if (!fitsKind(result.value as JsonValue, kind)) {
    throw new TypeMismatchError(`flag ${JSON.stringify(registryKey)} variant ${JSON.stringify(result.variant)} is ${Array.isArray(result.value) ? 'an array' : result.value === null ? 'null' : typeof result.value}, not ${kind}`);
  }
  const reason = openFeatureReason(result.reason);
  return { value: result.value as T, variant: result.variant, reason: result.stale ? StandardResolutionReasons.STALE : reason, flagMetadata: metadataOf(registryKey, result, reason) };
}
