// An OpenFeature server provider on top of the verified client (entry
// "@vcr/client-sdk/openfeature"): services that use the OpenFeature API read
// verified flags by swapping in this provider. Every resolution is a
// verified evaluation (client.evaluateFlag): stale data is reported with the
// STALE reason; a failed verification, an unreachable registry, a malformed
// flag or a fork is a thrown OpenFeature error, so the API answers with the
// caller's default AND reason ERROR plus an error code, never a default that
// looks like success; a value of the wrong type is TYPE_MISMATCH. The flag
// metadata carries the revision, height and epoch that proved the value.
//
// Runtime values come from @openfeature/core (no node: imports); only the
// Provider type comes from the server SDK.

import {
  ErrorCode,
  type EvaluationContext,
  type FlagMetadata,
  FlagNotFoundError,
  GeneralError,
  type JsonValue,
  type Logger,
  ParseError,
  ProviderFatalError,
  type ResolutionDetails,
  type ResolutionReason,
  StandardResolutionReasons,
  TypeMismatchError,
} from '@openfeature/core';
import type { Provider } from '@openfeature/server-sdk';
import type { FlagContext, FlagReason } from '@vcr/registry';
import { ForkError, RegistryError } from './errors';
import type { FlagEvaluationResult, FlagReadOptions } from './typed';
import { TypedValueError } from './typed';

export interface RegistryProviderOptions {
  /** Registry key = keyPrefix + flag key (e.g. "payments/flags/"). Default "". */
  keyPrefix?: string;
  /** Copies the OpenFeature targetingKey into this context attribute when the context lacks it (e.g. "userId", a rollout's `by`). */
  targetingKeyAttribute?: string;
  /** Read options for every evaluation (maxStalenessMs, allowStale: false to make stale an error, linearizable). */
  read?: FlagReadOptions;
}

/** What the provider needs of the client (a RegistryClient). */
export interface FlagEvaluator {
  evaluateFlag(key: string, context: FlagContext, options?: FlagReadOptions): Promise<FlagEvaluationResult>;
}

type Kind = 'boolean' | 'string' | 'number' | 'object';

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
function flagContextOf(context: EvaluationContext, targetingKeyAttribute: string | undefined): FlagContext {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [name, value] of Object.entries(context)) {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = value;
  }
  if (targetingKeyAttribute !== undefined && context.targetingKey !== undefined && out[targetingKeyAttribute] === undefined) out[targetingKeyAttribute] = context.targetingKey;
  return out;
}

function fitsKind(value: JsonValue, kind: Kind): boolean {
  if (kind === 'object') return typeof value === 'object' && value !== null;
  return typeof value === kind;
}

export class RegistryFlagProvider implements Provider {
  readonly metadata = { name: 'vcr-registry (verified flags)' } as const;
  readonly runsOn = 'server' as const;
  private readonly keyPrefix: string;

  constructor(
    private readonly client: FlagEvaluator,
    private readonly options: RegistryProviderOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? '';
  }

  resolveBooleanEvaluation(flagKey: string, _defaultValue: boolean, context: EvaluationContext, _logger: Logger): Promise<ResolutionDetails<boolean>> {
    return this.resolve<boolean>(flagKey, 'boolean', context);
  }

  resolveStringEvaluation(flagKey: string, _defaultValue: string, context: EvaluationContext, _logger: Logger): Promise<ResolutionDetails<string>> {
    return this.resolve<string>(flagKey, 'string', context);
  }

  resolveNumberEvaluation(flagKey: string, _defaultValue: number, context: EvaluationContext, _logger: Logger): Promise<ResolutionDetails<number>> {
    return this.resolve<number>(flagKey, 'number', context);
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, _defaultValue: T, context: EvaluationContext, _logger: Logger): Promise<ResolutionDetails<T>> {
    return this.resolve<T>(flagKey, 'object', context);
  }

  private async resolve<T>(flagKey: string, kind: Kind, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    const registryKey = this.keyPrefix + flagKey;
    let result: FlagEvaluationResult;
    try {
      result = await this.client.evaluateFlag(registryKey, flagContextOf(context, this.options.targetingKeyAttribute), this.options.read);
    } catch (error) {
      throw toOpenFeatureError(registryKey, error);
    }
    if (!fitsKind(result.value as JsonValue, kind)) {
      throw new TypeMismatchError(`flag ${JSON.stringify(registryKey)} variant ${JSON.stringify(result.variant)} is ${Array.isArray(result.value) ? 'an array' : result.value === null ? 'null' : typeof result.value}, not ${kind}`);
    }
    const reason = openFeatureReason(result.reason);
    return { value: result.value as T, variant: result.variant, reason: result.stale ? StandardResolutionReasons.STALE : reason, flagMetadata: metadataOf(registryKey, result, reason) };
  }
}

function metadataOf(registryKey: string, r: FlagEvaluationResult, reason: ResolutionReason): FlagMetadata {
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

export { ErrorCode, StandardResolutionReasons };
