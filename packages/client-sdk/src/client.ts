// RegistryClient: the SDK's public face. Created from a pinned membership
// (the genesis file's `membership`), replica URLs and a client signer; every
// answer is verified before it is returned (docs/client-sdk.md).

import { listPending, readOrgs, type VerifiedOrgs, type VerifiedPendingList } from './pending';
import { bytesToHex, type Certificate, type CryptoBackend, type Membership, nobleBackend, type Signer, checkMembership, utf8 } from '@vcr/proofs';
import type { RegistryOp, SingleOp } from '@vcr/registry';
import { acceptCertificate } from './accept';
import { keyHistory, type WatchOptions, watchChanges } from './changes';
import { ClientCore, type CoreSettings } from './core';
import { RegistryError, ReplicasFailedError, type Attempt } from './errors';
import type { FetchLike } from './http';
import { sdkLimits } from './limits';
import { type Certified, listKeys, type ReadOptions, readKey, requireKey, type VerifiedListing, type VerifiedRead } from './reads';
import type { TrustStorage } from './storage';
import { type TrustedHead, TrustState } from './trust-state';
import type { VerifiedChange } from './verify';
import { parseAnswer } from './wire';
import { type VerifiedReceipt, Writer } from './writes';
import type { FlagContext } from '@vcr/registry';
import { type FlagEvaluationResult, type FlagReadOptions, type PinCheck, type PinReadOptions, TypedReader, type VerifiedEndpoints, type VerifiedFlag, type VerifiedPinSet } from './typed';
import { certificateSchema } from '@vcr/proofs';
import { RegistryView, type ViewOptions } from './view';

export interface RegistryClientOptions extends Partial<CoreSettings> {
  /** The pinned membership: parseMembershipJson of the genesis file's `membership`. */
  membership: Membership;
  /** Replica base URLs (no trailing slash), in preference order. */
  replicas: readonly string[];
  /** The client's key (Ed25519); its hex public key is the client id. Needed for writes and linearizable reads. */
  signer?: Signer;
  /** Crypto backend (default: @noble, runs everywhere; in Node pass nodeBackend from @vcr/crypto-node). */
  backend?: CryptoBackend;
  /** HTTP (default: globalThis.fetch). */
  fetch?: FetchLike;
  /** Where the trust state is persisted (default: memory only, lost at exit). */
  storage?: TrustStorage;
  certificateCacheSize?: number;
  forkWindowSize?: number;
  /** Epoch links verified at most in one walk (default 1,024). */
  epochWalkLinksMax?: number;
  /** Local clock (ms since the Unix epoch) and sleep, injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type Value = Uint8Array | string;

const withoutSlash = (url: string): string => url.replace(/\/+$/, '');

const toBytes = (v: Value): Uint8Array => (typeof v === 'string' ? utf8(v) : v);

export class RegistryClient {
  private readonly core: ClientCore;
  private readonly writer: Writer | undefined;
  private readonly typed: TypedReader;

  private constructor(core: ClientCore, signer: Signer | undefined) {
    this.core = core;
    this.writer = signer === undefined ? undefined : new Writer(core, signer);
    this.typed = new TypedReader({ get: (key, options) => this.get(key, options), list: (prefix, options) => this.list(prefix, options), backend: core.backend, now: core.now });
  }

  /** Builds a client and restores its trust state from storage (re-verified). */
  static async create(options: RegistryClientOptions): Promise<RegistryClient> {
    const rejection = checkMembership(options.membership);
    if (rejection !== undefined) throw new RegistryError('bad-argument', `pinned membership refused: ${rejection}`);
    if (options.replicas.length === 0) throw new RegistryError('bad-argument', 'at least one replica URL is needed');
    const backend = options.backend ?? nobleBackend;
    const trust = new TrustState(options.membership, backend, {
      certificateCacheSize: options.certificateCacheSize ?? sdkLimits.certificateCacheSize,
      forkWindowSize: options.forkWindowSize ?? sdkLimits.forkWindowSize,
      consistencyCacheSize: sdkLimits.consistencyCacheSize,
    });
    if (options.storage !== undefined) {
      const text = await options.storage.load();
      if (text !== undefined) trust.loadText(text);
    }
    const settings: CoreSettings = {
      readTimeoutMs: options.readTimeoutMs ?? sdkLimits.readTimeoutMs,
      writeTimeoutMs: options.writeTimeoutMs ?? sdkLimits.writeTimeoutMs,
      writeDeadlineMs: options.writeDeadlineMs ?? sdkLimits.writeDeadlineMs,
      responseBytesMax: options.responseBytesMax ?? sdkLimits.responseBytesMax,
      maxStalenessMs: options.maxStalenessMs ?? sdkLimits.maxStalenessMs,
      linearizableWaitMs: options.linearizableWaitMs ?? sdkLimits.linearizableWaitMs,
      retryAfterMsMax: options.retryAfterMsMax ?? sdkLimits.retryAfterMsMax,
      epochWalkLinksMax: options.epochWalkLinksMax ?? sdkLimits.epochWalkLinksMax,
      newestEpochMaxAgeMs: options.newestEpochMaxAgeMs ?? sdkLimits.newestEpochMaxAgeMs,
      // Distinct: each URL counts once toward the f+1 that must tell the newest epoch.
      epochReplicas: [...new Set((options.epochReplicas ?? options.replicas).map(withoutSlash))],
    };
    if (!Number.isSafeInteger(settings.epochWalkLinksMax) || settings.epochWalkLinksMax < 1) throw new RegistryError('bad-argument', 'epochWalkLinksMax must be a positive integer');
    if (!(settings.newestEpochMaxAgeMs >= 0)) throw new RegistryError('bad-argument', 'newestEpochMaxAgeMs must be a non-negative number');
    if (settings.epochReplicas.length === 0) throw new RegistryError('bad-argument', 'epochReplicas must name at least one replica URL');
    const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const urls = options.replicas.map(withoutSlash);
    const core = new ClientCore(trust, backend, fetchFn, urls, settings, options.storage, options.now ?? Date.now, sleep);
    return new RegistryClient(core, options.signer);
  }

  /** Hex of the signer's public key (the client id on the wire). */
  get clientId(): string | undefined {
    return this.writer?.clientId;
  }

  /** The highest certified header verified so far (the rollback floor). */
  get trustedHead(): TrustedHead | undefined {
    return this.core.trust.head;
  }

  /** The newest trusted epoch: the pinned membership's, or a later one proven by the epoch chain. */
  get trustedEpoch(): bigint {
    return this.core.trust.newestMembership.epoch;
  }

  /** Every trusted membership, the pinned one first, in epoch order (each later one proven by a verified link). Copies. */
  get trustedMemberships(): Membership[] {
    return structuredClone(this.core.trust.trustedMemberships);
  }

  /**
   * Walks the epoch chain (docs/client-sdk.md, "Epochs") to `toEpoch`, or as
   * far as the replicas' chains go, and resolves with the newest trusted
   * membership. Reads and writes walk by themselves when they meet a later
   * epoch; call this to follow membership changes ahead of time (a status
   * page, a long-lived client). Throws RegistryError('unknown-epoch') with
   * each replica's failure when no replica proved the chain.
   */
  async walkEpochs(toEpoch?: bigint): Promise<Membership> {
    if (toEpoch !== undefined && (typeof toEpoch !== 'bigint' || toEpoch < 0n)) throw new RegistryError('bad-argument', 'toEpoch must be a non-negative bigint');
    const walked = await this.core.reachEpoch(toEpoch ?? 'latest');
    if (!walked.ok) throw new ReplicasFailedError(`epoch chain to ${toEpoch ?? 'the latest epoch'}`, walked.attempts, 'unknown-epoch');
    return structuredClone(this.core.trust.newestMembership);
  }

  /** How many certificates needed signature checks (the rest came from the cache). */
  get certificateChecks(): number {
    return this.core.trust.certificateChecks;
  }

  /** The verified value of a key, or `entry: undefined` with a verified proof of absence. */
  async get(key: string, options: ReadOptions = {}): Promise<VerifiedRead> {
    if (!options.linearizable) return readKey(this.core, key, options);
    requireKey(key);
    const marker = await this.requireWriter('a linearizable read').submit({ op: 'noop' });
    return readKey(this.core, key, options, marker.height);
  }

  /** Every live key under a prefix, each verified by its map proof (completeness cannot be proven). */
  list(prefix: string, options: Omit<ReadOptions, 'linearizable'> = {}): Promise<VerifiedListing> {
    return listKeys(this.core, prefix, options);
  }

  /** Every change to a key from a log index, each verified (certificate, client signature, leaf, inclusion). */
  history(key: string, fromLogIndex = 0n): Promise<VerifiedChange[]> {
    requireKey(key);
    return keyHistory(this.core, key, fromLogIndex);
  }

  /** Verified changes under a prefix in log order, long-polled, resuming across failures and replicas. */
  watch(prefix: string, options: WatchOptions = {}): AsyncGenerator<VerifiedChange, void, undefined> {
    return watchChanges(this.core, prefix, options);
  }

  /**
   * A verified local view of a prefix ending in "/" (docs/client-sdk.md, "Local views"): loaded
   * complete, kept current by the verified change stream, read in memory. Needs the genesis
   * registry.prefixIndexDepth to cover the prefix.
   */
  view(prefix: string, options: ViewOptions = {}): Promise<RegistryView> {
    return RegistryView.open(this.core, prefix, options);
  }

  /** A verified flag (the shared schema); stale allowed and flagged by default, with the last verified flag when every replica fails. */
  getFlag(key: string, options?: FlagReadOptions): Promise<VerifiedFlag> {
    return this.typed.getFlag(key, options);
  }

  /** A verified flag evaluated for a context: variant, value, reason, revision, height, epoch, stale. */
  evaluateFlag(key: string, context: FlagContext, options?: FlagReadOptions): Promise<FlagEvaluationResult> {
    return this.typed.evaluateFlag(key, context, options);
  }

  /** A verified, fresh pin set; throws when none can be had (fail closed). */
  getPinSet(key: string, options?: PinReadOptions): Promise<VerifiedPinSet> {
    return this.typed.getPinSet(key, options);
  }

  /** Checks a presented key (SPKI DER or its SHA-256) against the verified, fresh pin set at `key`; throws when it cannot be read (fail closed). */
  checkPin(key: string, presentedSpkiDerOrSha256: Uint8Array, nowMs?: number, options?: PinReadOptions): Promise<PinCheck> {
    return this.typed.checkPin(key, presentedSpkiDerOrSha256, nowMs, options);
  }

  /** Verified endpoints: every key under a prefix ending in "/", or one key. */
  getEndpoints(prefixOrKey: string, options?: Omit<ReadOptions, 'linearizable'>): Promise<VerifiedEndpoints> {
    return this.typed.getEndpoints(prefixOrKey, options);
  }

  /** Changes waiting for approvals, with their proven records and the signed requests that submitted them (docs/client-sdk.md, "Auditing"). */
  pending(): Promise<VerifiedPendingList> {
    return listPending(this.core);
  }

  /** Organization records from the certified state, each proven present or absent. */
  organizations(names: readonly string[]): Promise<VerifiedOrgs> {
    return readOrgs(this.core, names);
  }

  put(key: string, value: Value): Promise<VerifiedReceipt> {
    return this.submit({ op: 'put', key, value: toBytes(value) });
  }

  delete(key: string): Promise<VerifiedReceipt> {
    return this.submit({ op: 'delete', key });
  }

  /** Writes only if the key is at `expectedRevision` (0: must be absent); a mismatch is `result: { ok: false, error: 'revision-mismatch' }`. */
  compareAndSet(key: string, expectedRevision: bigint, value: Value): Promise<VerifiedReceipt> {
    return this.submit({ op: 'cas', key, expectedRevision, value: toBytes(value) });
  }

  /** All or nothing, in order. */
  transaction(ops: SingleOp[]): Promise<VerifiedReceipt> {
    return this.submit({ op: 'txn', ops });
  }

  /** Any registry operation, signed, with a verified receipt. */
  submit(op: RegistryOp): Promise<VerifiedReceipt> {
    return this.requireWriter('a write').submit(op);
  }

  /** The latest certified header of each replica that verifies (status pages, the CLI). */
  async latest(): Promise<Certified> {
    const attempts: Attempt[] = [];
    for (const url of this.core.order()) {
      const answer = await this.core.getOk(url, '/v1/headers/latest');
      if (!answer.ok) {
        attempts.push(answer.attempt);
        continue;
      }
      const parsed = parseAnswer(certificateSchema, answer.body);
      if (!parsed.ok) {
        attempts.push({ replica: url, code: 'malformed', detail: parsed.detail });
        continue;
      }
      const accepted = await acceptCertificate(this.core, url, parsed.value, 'current');
      if (!accepted.ok) {
        attempts.push(accepted.attempt);
        continue;
      }
      return certifiedOf(parsed.value, url, bytesToHex(accepted.headerHash), this.core.now(), this.core.settings.maxStalenessMs);
    }
    throw new ReplicasFailedError('latest header', attempts);
  }

  /** Hook for tests and audit logs: called with each signed request before it is sent. */
  set onSend(hook: Writer['onSend']) {
    this.requireWriter('onSend').onSend = hook;
  }

  private requireWriter(what: string): Writer {
    if (this.writer === undefined) throw new RegistryError('bad-argument', `${what} needs a client signer`);
    return this.writer;
  }
}

function certifiedOf(cert: Certificate, replica: string, headerHash: string, now: number, maxStalenessMs: number): Certified {
  const age = now - Number(cert.header.timestampMs);
  const ageMs = age > 0 ? age : 0;
  return { height: cert.header.height, epoch: cert.header.epoch, timestampMs: cert.header.timestampMs, ageMs, stale: ageMs > maxStalenessMs, replica, headerHash, certificate: cert };
}
