// The state one client shares between its reads, writes and watches: the
// trust state, the crypto backend, the transport, the replica list in
// failover order (starting from the replica that answered well last), the
// clock, the serialized persistence of the trust state and the serialized
// epoch chain walks.

import type { CryptoBackend } from '@vcr/proofs';
import type { AcceptContext } from './accept';
import { type EpochTarget, surveyNewestEpoch, type WalkResult, walkEpochChain } from './epochs';
import { type Attempt, RegistryError } from './errors';
import { answerKindOf, boundsOf, type FetchLike, errorSummary, requestJson } from './http';
import type { TrustStorage } from './storage';
import type { TrustState } from './trust-state';

export interface CoreSettings {
  readTimeoutMs: number;
  writeTimeoutMs: number;
  writeDeadlineMs: number;
  responseBytesMax: number;
  maxStalenessMs: number;
  linearizableWaitMs: number;
  retryAfterMsMax: number;
  /** Epoch links verified at most in one walk. */
  epochWalkLinksMax: number;
  /** How old the newest-epoch knowledge (from f+1 replicas) may be before a certificate is trusted; it is learned again past this. */
  newestEpochMaxAgeMs: number;
  /** The replicas asked for the newest epoch (default: every replica of `replicas`); set it when `replicas` names fewer than f+1 on purpose, to inspect one replica. */
  epochReplicas: readonly string[];
}

export type JsonAnswer = { ok: true; status: number; body: unknown; retryAfterMs: number | undefined } | { ok: false; attempt: Attempt };

export class ClientCore implements AcceptContext {
  private preferred = 0;
  private ordered: string[] | undefined;
  private saving: Promise<void> = Promise.resolve();
  private walking: Promise<unknown> = Promise.resolve();

  constructor(
    readonly trust: TrustState,
    readonly backend: CryptoBackend,
    readonly fetch: FetchLike,
    readonly urls: readonly string[],
    readonly settings: CoreSettings,
    private readonly storage: TrustStorage | undefined,
    readonly now: () => number,
    readonly sleep: (ms: number) => Promise<void>,
  ) {}

  get readTimeoutMs(): number {
    return this.settings.readTimeoutMs;
  }

  get responseBytesMax(): number {
    return this.settings.responseBytesMax;
  }

  /**
   * Every replica once, starting with the one that answered well last. Made
   * when that changes, not per call, and shared: callers iterate it and never
   * change it (markGood replaces it, so a loop over it is not disturbed).
   */
  order(): string[] {
    if (this.ordered === undefined) {
      const n = this.urls.length;
      this.ordered = Array.from({ length: n }, (_, i) => this.urls[(this.preferred + i) % n] as string);
    }
    return this.ordered;
  }

  /** Remembers a replica that gave a verified answer, so the next call starts there. */
  markGood(url: string): void {
    const i = this.urls.indexOf(url);
    if (i >= 0 && i !== this.preferred) {
      this.preferred = i;
      this.ordered = undefined;
    }
  }

  /**
   * Walks the epoch chain (epochs.ts), asking `first` first. Walks run one at
   * a time: a second caller waiting for the same epoch finds it trusted.
   */
  reachEpoch(target: EpochTarget, first?: string): Promise<WalkResult> {
    const run = this.walking.then(() => walkEpochChain(this, target, first));
    this.walking = run.catch(() => undefined);
    return run;
  }

  /** The replicas asked for the newest epoch, starting with the one that answered well last when it is among them. */
  epochSources(): string[] {
    const sources = this.settings.epochReplicas;
    const preferred = this.urls[this.preferred];
    return preferred !== undefined && sources.includes(preferred) ? [preferred, ...sources.filter((u) => u !== preferred)] : [...sources];
  }

  /**
   * Learns the newest epoch from f+1 replicas when the trust state says it is
   * due (first use, knowledge older than `newestEpochMaxAgeMs`, a newer link
   * since); otherwise resolves at once. Runs in line with the walks, so a
   * second caller finds it done.
   */
  confirmNewestEpoch(first?: string): Promise<WalkResult> {
    // The common case (known recently) first, without the closures below: every read asks.
    if (!this.trust.newestEpochCheckDue(this.now(), this.settings.newestEpochMaxAgeMs)) return Promise.resolve({ ok: true, epoch: this.trust.newestMembership.epoch });
    const due = () => this.trust.newestEpochCheckDue(this.now(), this.settings.newestEpochMaxAgeMs);
    const done = (): WalkResult => ({ ok: true, epoch: this.trust.newestMembership.epoch });
    const run = this.walking.then(() => (due() ? surveyNewestEpoch(this, first) : done()));
    this.walking = run.catch(() => undefined);
    return run;
  }

  /** Saves the trust state; saves run one after another, in order. A failed save fails the caller (fail closed). */
  persist(): Promise<void> {
    const storage = this.storage;
    if (storage === undefined) return Promise.resolve();
    const text = this.trust.toText();
    const next = this.saving.then(() => storage.save(text));
    this.saving = next.catch(() => undefined);
    return next.catch((error: unknown) => {
      throw new RegistryError('storage', `could not save the trust state: ${error instanceof Error ? error.message : String(error)}`, [], { cause: error });
    });
  }

  /** One JSON request to one replica; transport failures and non-JSON answers come back as an attempt. */
  async request(url: string, path: string, opts: { method?: 'GET' | 'POST'; body?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<JsonAnswer> {
    // Each kind of answer has its own bounds (limits.ts, answerBounds), found from the path so no caller can forget them.
    const kind = answerKindOf(path);
    if (kind === undefined) throw new Error(`bug: no answer bounds for ${path.slice(0, 40)}`);
    const req = { url: url + path, timeoutMs: opts.timeoutMs ?? this.settings.readTimeoutMs, ...boundsOf(kind, this.settings.responseBytesMax) } as Parameters<typeof requestJson>[1];
    if (opts.method !== undefined) req.method = opts.method;
    if (opts.body !== undefined) req.body = opts.body;
    if (opts.signal !== undefined) req.signal = opts.signal;
    const answer = await requestJson(this.fetch, req);
    if (!answer.ok) return { ok: false, attempt: { replica: url, code: answer.code, detail: answer.detail } };
    return answer;
  }

  /** A GET that must answer 200; any other status is an attempt naming the replica's error. */
  async getOk(url: string, path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ ok: true; body: unknown } | { ok: false; attempt: Attempt }> {
    const answer = await this.request(url, path, opts);
    if (!answer.ok) return answer;
    if (answer.status !== 200) return { ok: false, attempt: { replica: url, code: 'http-error', detail: errorSummary(answer.status, answer.body) } };
    return { ok: true, body: answer.body };
  }
}
