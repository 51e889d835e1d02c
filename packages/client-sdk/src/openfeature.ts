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

import { ErrorCode, type EvaluationContext, type JsonValue, type Logger, type ResolutionDetails, StandardResolutionReasons } from '@openfeature/core';
import type { Provider } from '@openfeature/server-sdk';
import type { FlagContext } from '@vcr/registry';
import { detailsOf, flagContextOf, type Kind, toOpenFeatureError } from './openfeature-shared';
import type { FlagEvaluationResult, FlagReadOptions } from './typed';

export { openFeatureReason, toOpenFeatureError } from './openfeature-shared';

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
    return detailsOf<T>(registryKey, result, kind);
  }
}

export { ErrorCode, StandardResolutionReasons };
export * from './openfeature-in-process';
