// The OpenFeature providers in in-process mode (docs/client-sdk.md section
// 7): flags evaluate in memory from a verified local view (view.ts), as
// flagd's in-process mode and LaunchDarkly's server SDKs do, but every value
// is proven and the view is proven complete. One for @openfeature/server-sdk
// (async resolvers, a context per call) and one for @openfeature/web-sdk
// (synchronous resolvers, the static context), over one shared core.
//
// Events: the SDK emits PROVIDER_READY when initialize() resolves (the view
// is loaded and proven complete); the provider emits
// PROVIDER_CONFIGURATION_CHANGED with the changed flag keys when the view
// applies a verified change, PROVIDER_STALE when no replica answered a round,
// PROVIDER_READY again when the view recovers, and PROVIDER_ERROR when the
// view stops (a fork: PROVIDER_FATAL). A failed load fails initialize(), so
// the SDK reports PROVIDER_ERROR. Resolution reasons are the remote
// provider's: TARGETING_MATCH, SPLIT, DEFAULT, DISABLED, or STALE.

import {
  type EvaluationContext,
  type EventContext,
  type EventHandler,
  ErrorCode,
  type JsonValue,
  type Logger,
  AllProviderEvents as ProviderEvents,
  ProviderNotReadyError,
  type ResolutionDetails,
} from '@openfeature/core';
import type { Provider as ServerProvider } from '@openfeature/server-sdk';
import type { Provider as WebProvider } from '@openfeature/web-sdk';
import { ForkError } from './errors';
import { detailsOf, flagContextOf, type Kind, toOpenFeatureError } from './openfeature-shared';
import type { FlagEvaluationResult } from './typed';
import type { RegistryView, ViewEvent, ViewOptions } from './view';

/** What the provider needs of the client (a RegistryClient). */
export interface ViewSource {
  view(prefix: string, options?: ViewOptions): Promise<RegistryView>;
}

export interface InProcessProviderOptions {
  /** The view's prefix (ending in "/"); registry key = keyPrefix + flag key. */
  keyPrefix: string;
  /** Copies the OpenFeature targetingKey into this context attribute when the context lacks it (a rollout's `by`). */
  targetingKeyAttribute?: string;
  /** Default true: a stale view's flags are served with reason STALE. False: stale is an error (GENERAL). */
  allowStale?: boolean;
  view?: ViewOptions;
}

type AnyEvent = Parameters<NonNullable<ServerProvider['events']>['emit']>[0];

/**
 * The provider side of OpenFeature's event contract: the SDK attaches its
 * handlers with addHandler and the provider emits. Written against the
 * interface in @openfeature/core so it serves both SDKs (each SDK's own
 * emitter class is tied to its platform's event emitter).
 */
class ProviderEmitter {
  private readonly handlers = new Map<string, Set<EventHandler>>();

  emit(eventType: AnyEvent, context?: EventContext): void {
    for (const handler of [...(this.handlers.get(eventType) ?? [])]) {
      try {
        void Promise.resolve(handler(context as never)).catch(() => undefined);
      } catch {
        // A handler's failure is the application's; the provider keeps emitting.
      }
    }
  }

  addHandler(eventType: string, handler: EventHandler): void {
    const set = this.handlers.get(eventType) ?? new Set();
    set.add(handler);
    this.handlers.set(eventType, set);
  }

  removeHandler(eventType: string, handler: EventHandler): void {
    this.handlers.get(eventType)?.delete(handler);
  }

  removeAllHandlers(eventType?: string): void {
    if (eventType === undefined) this.handlers.clear();
    else this.handlers.delete(eventType);
  }

  getHandlers(eventType: string): EventHandler[] {
    return [...(this.handlers.get(eventType) ?? [])];
  }

  setLogger(_logger: Logger): this {
    return this;
  }
}

/** The view, its events as OpenFeature events, and resolution; shared by both providers. */
class InProcessCore {
  readonly events = new ProviderEmitter();
  private view: RegistryView | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly source: ViewSource,
    private readonly options: InProcessProviderOptions,
  ) {}

  async initialize(): Promise<void> {
    if (this.view !== undefined) return;
    const view = await this.source.view(this.options.keyPrefix, this.options.view);
    this.view = view;
    this.unsubscribe = view.onEvent((event) => this.onViewEvent(event));
  }

  close(): void {
    this.unsubscribe?.();
    this.view?.close();
    this.view = undefined;
  }

  resolve<T>(flagKey: string, kind: Kind, context: EvaluationContext): ResolutionDetails<T> {
    const view = this.view;
    if (view === undefined) throw new ProviderNotReadyError('the registry view is not loaded yet');
    const registryKey = this.options.keyPrefix + flagKey;
    let result: FlagEvaluationResult;
    try {
      result = view.evaluateFlag(registryKey, flagContextOf(context, this.options.targetingKeyAttribute), { allowStale: this.options.allowStale ?? true });
    } catch (error) {
      throw toOpenFeatureError(registryKey, error);
    }
    return detailsOf<T>(registryKey, result, kind);
  }

  private onViewEvent(event: ViewEvent): void {
    const prefix = this.options.keyPrefix;
    switch (event.type) {
      case 'changed':
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: event.keys.map((k) => k.slice(prefix.length)), metadata: { height: event.height.toString() } });
        return;
      case 'stale':
        this.events.emit(ProviderEvents.Stale, { message: `no replica gave a verified answer: ${event.attempts.map((a) => `${a.replica}: ${a.code}`).join('; ')}`.slice(0, 2_000) });
        return;
      case 'recovered':
        this.events.emit(ProviderEvents.Ready, { message: `verified again at height ${event.height}` });
        return;
      case 'error':
        this.events.emit(ProviderEvents.Error, { message: event.error.message.slice(0, 2_000), errorCode: event.error instanceof ForkError ? ErrorCode.PROVIDER_FATAL : ErrorCode.GENERAL });
        return;
      default:
        event satisfies never;
    }
  }
}

/** In-process provider for @openfeature/server-sdk. */
export class RegistryInProcessProvider implements ServerProvider {
  readonly metadata = { name: 'vcr-registry (verified local view)' } as const;
  readonly runsOn = 'server' as const;
  private readonly core: InProcessCore;

  constructor(client: ViewSource, options: InProcessProviderOptions) {
    this.core = new InProcessCore(client, options);
  }

  get events() {
    return this.core.events;
  }

  initialize(): Promise<void> {
    return this.core.initialize();
  }

  async onClose(): Promise<void> {
    this.core.close();
  }

  async resolveBooleanEvaluation(flagKey: string, _defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return this.core.resolve<boolean>(flagKey, 'boolean', context);
  }

  async resolveStringEvaluation(flagKey: string, _defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return this.core.resolve<string>(flagKey, 'string', context);
  }

  async resolveNumberEvaluation(flagKey: string, _defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return this.core.resolve<number>(flagKey, 'number', context);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, _defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return this.core.resolve<T>(flagKey, 'object', context);
  }
}

/** In-process provider for @openfeature/web-sdk: synchronous resolution against the static context. */
export class RegistryWebProvider implements WebProvider {
  readonly metadata = { name: 'vcr-registry (verified local view)' } as const;
  readonly runsOn = 'client' as const;
  private readonly core: InProcessCore;

  constructor(client: ViewSource, options: InProcessProviderOptions) {
    this.core = new InProcessCore(client, options);
  }

  get events() {
    return this.core.events;
  }

  initialize(): Promise<void> {
    return this.core.initialize();
  }

  async onClose(): Promise<void> {
    this.core.close();
  }

  resolveBooleanEvaluation(flagKey: string, _defaultValue: boolean, context: EvaluationContext): ResolutionDetails<boolean> {
    return this.core.resolve<boolean>(flagKey, 'boolean', context);
  }

  resolveStringEvaluation(flagKey: string, _defaultValue: string, context: EvaluationContext): ResolutionDetails<string> {
    return this.core.resolve<string>(flagKey, 'string', context);
  }

  resolveNumberEvaluation(flagKey: string, _defaultValue: number, context: EvaluationContext): ResolutionDetails<number> {
    return this.core.resolve<number>(flagKey, 'number', context);
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, _defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    return this.core.resolve<T>(flagKey, 'object', context);
  }
}
