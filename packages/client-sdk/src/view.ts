// A verified local view of a prefix (docs/client-sdk.md, "Local views"):
// loaded complete from one replica, kept current by a follow loop that
// applies only verified change sets whose prefix index counts come out
// (view-sync.ts), and read in memory: flags, pins and endpoints evaluate in
// microseconds with the provenance of the view's certified head.
//
// Stale rules, as for reads (typed.ts): flags are served from the last
// verified state with `stale: true` when no replica answers or the head is
// older than the bound; pins fail closed once the head is older than the
// bound; endpoints are an error when stale unless `allowStale`. The view
// recovers by itself when a replica answers again.

import {
  checkPin as checkPinValue,
  type EndpointValue,
  type FlagContext,
  type TypedValueOf,
  type TypedValueType,
  typedValueOf,
} from '@vcr/registry';
import { earlyBackoffMs } from './changes';
import type { ClientCore } from './core';
import { type Attempt, ForkError, RegistryError, ReplicasFailedError } from './errors';
import { sdkLimits } from './limits';
import { requireKey } from './reads';
import { type FlagEvaluationResult, type PinCheck, type Provenance, TypedValueError, type VerifiedEndpoint, type VerifiedFlag, type VerifiedPinSet } from './typed';
import type { ViewEntry } from './view-state';
import { followView, loadView, type ViewHead } from './view-sync';

export interface ViewOptions {
  /** Largest accepted age of the view's certified head, by the local clock (default: the client's maxStalenessMs). */
  maxStalenessMs?: number;
  /** Long-poll wait of the follow loop, 1 s to 30 s (default 5 s): the head is refreshed at least this often. */
  waitMs?: number;
  /** Called for every replica answer that was not used (logging); the view keeps going. */
  onFailure?: (attempt: Attempt) => void;
}

export type ViewStatus = 'ready' | 'stale' | 'error' | 'closed';

export type ViewEvent =
  /** Keys whose verified entry changed (added, changed or removed), at the new head. */
  | { type: 'changed'; keys: string[]; height: bigint }
  /** No replica gave a verified answer for a whole round, or the head is older than the bound. */
  | { type: 'stale'; attempts: Attempt[] }
  /** A verified head again after being stale. */
  | { type: 'recovered'; height: bigint }
  /** The view stopped following: a fork (the registry cannot be trusted) or a broken storage. */
  | { type: 'error'; error: RegistryError };

export class RegistryView {
  private status_: ViewStatus = 'ready';
  private failing = false;
  private readonly listeners = new Set<(event: ViewEvent) => void>();
  private readonly abort = new AbortController();
  private readonly maxStalenessMs: number;
  private readonly waitMs: number;

  private constructor(
    private readonly core: ClientCore,
    readonly prefix: string,
    private readonly entries: Map<string, ViewEntry>,
    private head: ViewHead,
    private readonly options: ViewOptions,
  ) {
    this.maxStalenessMs = options.maxStalenessMs ?? core.settings.maxStalenessMs;
    this.waitMs = Math.min(Math.max(options.waitMs ?? sdkLimits.viewWaitMs, sdkLimits.watchWaitMsMin), 30_000);
  }

  /** Loads the view complete from the first replica that proves it, then follows in the background. */
  static async open(core: ClientCore, prefix: string, options: ViewOptions = {}): Promise<RegistryView> {
    requireKey(prefix, 'view prefix');
    if (!prefix.endsWith('/')) throw new RegistryError('bad-argument', `view prefix ${JSON.stringify(prefix.slice(0, 64))} must end in "/"`);
    const attempts: Attempt[] = [];
    for (const url of core.order()) {
      const loaded = await loadView(core, url, prefix);
      if (loaded.ok) {
        core.markGood(url);
        const view = new RegistryView(core, prefix, loaded.value.entries, loaded.value.head, options);
        void view.follow();
        return view;
      }
      options.onFailure?.(loaded.attempt);
      attempts.push(loaded.attempt);
    }
    throw new ReplicasFailedError(`view ${JSON.stringify(prefix)}`, attempts);
  }

  get status(): ViewStatus {
    return this.status_;
  }

  /** The certified head the view is at. */
  get height(): bigint {
    return this.head.header.height;
  }

  /** Local clock minus the head's certified time (never negative). */
  get ageMs(): number {
    const age = this.core.now() - Number(this.head.header.timestampMs);
    return age > 0 ? age : 0;
  }

  /** True when no replica answered the last round, or the head is older than the bound. */
  get stale(): boolean {
    return this.failing || this.ageMs > this.maxStalenessMs;
  }

  /** Subscribes to the view's events; returns the unsubscribe function. */
  onEvent(listener: (event: ViewEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops following; reads keep answering from the last verified state, stale once it ages. */
  close(): void {
    if (this.status_ === 'closed') return;
    this.status_ = 'closed';
    this.abort.abort();
  }

  /** The keys the view holds, in key order (all of them: the view is proven complete). */
  keys(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** A key's verified entry, or undefined: absent at the head (the view is complete, so absence is proven too). */
  get(key: string): { value: Uint8Array; revision: bigint; provenance: Provenance } | undefined {
    const entry = this.entryOf(key);
    return entry === undefined ? undefined : { value: entry.value.slice(), revision: entry.revision, provenance: this.provenance(key, entry.revision) };
  }

  /** The flag at `key`; served stale (and flagged) unless `allowStale: false`. */
  getFlag(key: string, options: { allowStale?: boolean } = {}): VerifiedFlag {
    const { value, revision } = this.typed(key, 'flag');
    const provenance = this.provenance(key, revision);
    if (provenance.stale && options.allowStale === false) throw new RegistryError('stale', `view ${JSON.stringify(this.prefix)} is stale (${provenance.ageMs} ms)`);
    return { flag: value, ...provenance };
  }

  /** Evaluates the flag at `key` for a context, in memory: one map lookup, the flag compiled when it arrived (compileFlag), one object. */
  evaluateFlag(key: string, context: FlagContext, options: { allowStale?: boolean } = {}): FlagEvaluationResult {
    const entry = this.entryOf(key);
    const compiled = entry?.flag;
    if (entry === undefined || compiled === undefined) {
      // Not a valid flag (absent, another type, invalid): typed() throws the error that says which.
      this.typed(key, 'flag');
      throw new Error(`bug: the flag at ${JSON.stringify(key.slice(0, 64))} parsed but was not compiled`);
    }
    const provenance = this.provenance(key, entry.revision) as FlagEvaluationResult;
    if (provenance.stale && options.allowStale === false) throw new RegistryError('stale', `view ${JSON.stringify(this.prefix)} is stale (${provenance.ageMs} ms)`);
    const evaluation = compiled(context, this.core.backend);
    provenance.variant = evaluation.variant;
    provenance.value = evaluation.value;
    provenance.reason = evaluation.reason;
    return provenance;
  }

  /** The pin set at `key`; fails closed (throws 'stale') once the head is older than the bound. */
  getPinSet(key: string): VerifiedPinSet {
    const ageMs = this.ageMs;
    if (ageMs > this.maxStalenessMs) throw new RegistryError('stale', `pin set ${JSON.stringify(key)}: view certified ${ageMs} ms ago, bound ${this.maxStalenessMs} ms`);
    const { value, revision } = this.typed(key, 'pins');
    return { pinSet: value, ...this.provenance(key, revision) };
  }

  /** Checks a presented key (SPKI DER or its SHA-256) against the pin set at `key`; throws when stale (fail closed). */
  checkPin(key: string, presentedSpkiDerOrSha256: Uint8Array, nowMs: number = this.core.now()): PinCheck {
    const { pinSet, ...provenance } = this.getPinSet(key);
    return { ...checkPinValue(pinSet, presentedSpkiDerOrSha256, nowMs, this.core.backend), provenance };
  }

  /** The endpoint at `key`; stale is an error unless `allowStale`. */
  getEndpoint(key: string, options: { allowStale?: boolean } = {}): VerifiedEndpoint {
    if (this.stale && !options.allowStale) throw new RegistryError('stale', `endpoint ${JSON.stringify(key)}: view ${JSON.stringify(this.prefix)} is stale`);
    const { value, revision } = this.typed(key, 'endpoint');
    return { endpoint: value as EndpointValue, ...this.provenance(key, revision) };
  }

  private entryOf(key: string): ViewEntry | undefined {
    if (!key.startsWith(this.prefix)) throw new RegistryError('bad-argument', `${JSON.stringify(key.slice(0, 64))} is not under the view's prefix ${JSON.stringify(this.prefix)}`);
    return this.entries.get(key);
  }

  /** The typed value at `key`; the provenance is built only for an error (the hot path of evaluateFlag). */
  private typed<T extends TypedValueType>(key: string, type: T): { value: TypedValueOf<T>; revision: bigint } {
    const entry = this.entryOf(key);
    if (entry === undefined) throw new TypedValueError(key, type, 'absent', [], { ...this.provenance(key, 0n), revision: undefined });
    const parsed = typedValueOf(entry.parsed, type);
    if (!parsed.ok) throw new TypedValueError(key, type, parsed.reason, parsed.reason === 'invalid' ? parsed.issues : [], this.provenance(key, entry.revision));
    return { value: parsed.value, revision: entry.revision };
  }

  private provenance(key: string, revision: bigint): Provenance {
    const h = this.head.header;
    const ageMs = this.ageMs;
    return { key, revision, height: h.height, epoch: h.epoch, timestampMs: h.timestampMs, ageMs, stale: this.failing || ageMs > this.maxStalenessMs, source: 'view', replica: this.head.replica, headerHash: this.head.headerHash };
  }

  private emit(event: ViewEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the view keeps following.
      }
    }
  }

  /** The follow loop: one verified step at a time, failing over between replicas, until closed. */
  private async follow(): Promise<void> {
    const signal = this.abort.signal;
    let index = 0;
    let failedInRow = 0;
    let attempts: Attempt[] = [];
    let earlyInRow = 0;
    while (!signal.aborted) {
      const order = this.core.order();
      const url = order[index % order.length] as string;
      const sentAtMs = this.core.now();
      let step;
      try {
        step = await followView(this.core, url, this.prefix, this.entries, this.head, this.waitMs, signal);
      } catch (error) {
        // A fork or a storage failure: nothing this view holds can be trusted further.
        if (signal.aborted) return;
        this.status_ = 'error';
        this.emit({ type: 'error', error: error instanceof RegistryError ? error : new RegistryError('verification-failed', error instanceof Error ? error.message : String(error)) });
        if (error instanceof ForkError) return;
        await this.core.sleep(sdkLimits.watchRetryMs);
        continue;
      }
      if (signal.aborted) return;
      if (!step.ok) {
        this.options.onFailure?.(step.attempt);
        attempts.push(step.attempt);
        index++;
        if (++failedInRow >= order.length) {
          failedInRow = 0;
          this.markStale(attempts);
          attempts = [];
          await this.core.sleep(sdkLimits.watchRetryMs);
        }
        continue;
      }
      // The step verified: its changes are applied, so its head is the view's head whatever comes next.
      this.head = step.value.head;
      if (step.value.changedKeys.length > 0) this.emit({ type: 'changed', keys: step.value.changedKeys, height: this.head.header.height });
      if (this.ageMs > this.maxStalenessMs) {
        // True but old: a replica that keeps serving an old head must not hold the view; ask the next one.
        const attempt: Attempt = { replica: url, code: 'stale', detail: `newest head certified ${this.ageMs} ms ago, bound ${this.maxStalenessMs} ms` };
        this.options.onFailure?.(attempt);
        this.markStale([attempt]);
        index++;
        if (++failedInRow >= order.length) {
          failedInRow = 0;
          await this.core.sleep(sdkLimits.watchRetryMs);
        } else if (this.core.now() - sentAtMs < this.waitMs / 2) await this.core.sleep(earlyBackoffMs(++earlyInRow));
        continue;
      }
      this.core.markGood(url);
      index = 0;
      failedInRow = 0;
      attempts = [];
      if (this.failing || this.status_ !== 'ready') {
        this.failing = false;
        this.status_ = 'ready';
        this.emit({ type: 'recovered', height: this.head.header.height });
      }
      // An empty answer long before the wait ended: back off, so a replica that never waits cannot make the view spin.
      if (step.value.changedKeys.length === 0 && this.core.now() - sentAtMs < this.waitMs / 2) await this.core.sleep(earlyBackoffMs(++earlyInRow));
      else earlyInRow = 0;
    }
  }

  private markStale(attempts: Attempt[]): void {
    const wasStale = this.failing;
    this.failing = true;
    this.status_ = 'stale';
    if (!wasStale) this.emit({ type: 'stale', attempts });
  }
}
