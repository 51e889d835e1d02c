// Typed reads of what services read (docs/client-sdk.md section 6): flags,
// pin sets, endpoints, each parsed with the one schema the replica enforces
// (@vcr/registry) from bytes that already verified. A key that holds
// something else is an error, never a default.
//
// Stale rules, safe by default:
// - pins fail closed: no stale answer, no cached answer, ever;
// - flags may be served stale, and then say so (`stale: true`, `ageMs`):
//   first the freshest verified answer of any replica, and when every replica
//   fails, the last flag this client verified for that key (`source:
//   'last-verified'`, with the failure). That cache is filled only from
//   verified reads, and a verified answer that the key is gone or no longer a
//   valid flag empties it.
// - a fork is never papered over: it is thrown, even for flags.

import type { CryptoBackend } from '@vcr/proofs';
import {
  checkPin as checkPinValue,
  type EndpointValue,
  evaluateFlag as evaluateFlagValue,
  type FlagContext,
  type FlagReason,
  type FlagValue,
  type JsonValue,
  parseTypedValueOf,
  type PinCheckResult,
  type PinSetValue,
  type TypedValueOf,
  type TypedValueType,
  type ValueIssue,
} from '@vcr/registry';
import { RegistryError, ReplicasFailedError } from './errors';
import { sdkLimits } from './limits';
import { LruMap } from './lru';
import type { ReadOptions, VerifiedListing, VerifiedRead } from './reads';

/** Where a typed value comes from: its revision and the certified header that proved it. */
export interface Provenance {
  key: string;
  revision: bigint;
  height: bigint;
  epoch: bigint;
  timestampMs: bigint;
  /** Local clock minus the certified timestamp, at the time of this call. */
  ageMs: number;
  stale: boolean;
  /** 'replica': verified in this call. 'last-verified': every replica failed; this client's last verified value. */
  source: 'replica' | 'last-verified' | 'view';
  replica: string;
  headerHash: string;
  /** With source 'last-verified': why no replica could answer. */
  failure?: RegistryError;
}

export interface VerifiedFlag extends Provenance {
  flag: FlagValue;
}

export interface FlagEvaluationResult extends Provenance {
  variant: string;
  value: JsonValue;
  reason: FlagReason;
}

export interface VerifiedPinSet extends Provenance {
  pinSet: PinSetValue;
}

export type PinCheck = PinCheckResult & { provenance: Provenance };

export interface VerifiedEndpoint extends Provenance {
  endpoint: EndpointValue;
}

export interface VerifiedEndpoints {
  prefix: string;
  endpoints: VerifiedEndpoint[];
  /** Keys under the prefix whose verified value is not a valid endpoint: listed, never silently dropped. */
  invalid: { key: string; reason: TypedValueErrorReason; issues: ValueIssue[] }[];
  stale: boolean;
}

export interface FlagReadOptions extends ReadOptions {
  /** Default true for flags: a stale (or last verified) flag is served, flagged. False: stale is an error. */
  allowStale?: boolean;
}

/** Pins never accept a stale answer. */
export type PinReadOptions = Omit<ReadOptions, 'allowStale'>;

export type TypedValueErrorReason = 'absent' | 'opaque' | 'other-type' | 'invalid';

/** The key verified, but does not hold a valid value of the type asked for (absent, opaque bytes, another type, malformed). */
export class TypedValueError extends RegistryError {
  constructor(
    readonly key: string,
    readonly expected: TypedValueType,
    readonly reason: TypedValueErrorReason,
    readonly issues: readonly ValueIssue[],
    readonly provenance: Omit<Provenance, 'revision'> & { revision: bigint | undefined },
  ) {
    const what = reason === 'absent' ? 'is absent (verified proof of absence)' : reason === 'invalid' ? `holds an invalid ${expected}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ').slice(0, 300)}` : reason === 'opaque' ? `holds opaque bytes, not a ${expected}` : `holds another typed value, not a ${expected}`;
    super(reason === 'absent' ? 'absent' : 'invalid-value', `${JSON.stringify(key.slice(0, 128))} ${what}`);
    this.name = 'TypedValueError';
  }
}

/** What the typed reader needs of the client. */
export interface TypedSource {
  get(key: string, options: ReadOptions): Promise<VerifiedRead>;
  list(prefix: string, options: Omit<ReadOptions, 'linearizable'>): Promise<VerifiedListing>;
  backend: CryptoBackend;
  now: () => number;
}

function provenanceOf(read: VerifiedRead, revision: bigint): Provenance {
  return { key: read.key, revision, height: read.height, epoch: read.epoch, timestampMs: read.timestampMs, ageMs: read.ageMs, stale: read.stale, source: 'replica', replica: read.replica, headerHash: read.headerHash };
}

function parseAs<T extends TypedValueType>(read: VerifiedRead, type: T): { value: TypedValueOf<T>; provenance: Provenance } {
  const entry = read.entry;
  const partial = { ...provenanceOf(read, 0n), revision: entry?.revision };
  if (entry === undefined) throw new TypedValueError(read.key, type, 'absent', [], partial);
  const parsed = parseTypedValueOf(entry.value, type);
  if (!parsed.ok) throw new TypedValueError(read.key, type, parsed.reason, parsed.reason === 'invalid' ? parsed.issues : [], partial);
  return { value: parsed.value, provenance: provenanceOf(read, entry.revision) };
}

export class TypedReader {
  /** The last flag verified per key: only ever filled from a verified read. */
  private readonly lastFlags: LruMap<string, { flag: FlagValue; provenance: Provenance }>;

  constructor(
    private readonly source: TypedSource,
    cacheSize: number = sdkLimits.lastVerifiedCacheSize,
  ) {
    this.lastFlags = new LruMap(cacheSize);
  }

  /** A verified flag; stale (and says so) rather than nothing, unless `allowStale: false`. */
  async getFlag(key: string, options: FlagReadOptions = {}): Promise<VerifiedFlag> {
    const allowStale = options.allowStale ?? true;
    let read: VerifiedRead;
    try {
      read = await this.source.get(key, { ...options, allowStale });
    } catch (error) {
      const last = this.lastFlags.get(key);
      // Only "no replica could answer" falls back; a fork, a bad argument or a storage failure never does.
      if (!allowStale || last === undefined || !(error instanceof ReplicasFailedError)) throw error;
      return { flag: last.flag, ...this.aged(last.provenance), source: 'last-verified', stale: true, failure: error };
    }
    let parsed: { value: FlagValue; provenance: Provenance };
    try {
      parsed = parseAs(read, 'flag');
    } catch (error) {
      // A verified answer says the key holds no valid flag now: forget the old one.
      this.lastFlags.delete(key);
      throw error;
    }
    const last = this.lastFlags.get(key);
    if (last === undefined || last.provenance.height <= parsed.provenance.height) this.lastFlags.set(key, { flag: parsed.value, provenance: parsed.provenance });
    else if (read.stale) return { flag: last.flag, ...this.aged(last.provenance), source: 'last-verified', stale: true };
    return { flag: parsed.value, ...parsed.provenance };
  }

  /** Evaluates a verified flag for a context (targeting rules, deterministic rollout): variant, value, reason and where it came from. */
  async evaluateFlag(key: string, context: FlagContext, options: FlagReadOptions = {}): Promise<FlagEvaluationResult> {
    const { flag, ...provenance } = await this.getFlag(key, options);
    const evaluation = evaluateFlagValue(key, flag, context, this.source.backend);
    return { ...provenance, variant: evaluation.variant, value: evaluation.value, reason: evaluation.reason };
  }

  /** A verified, fresh pin set; fails closed (throws) when no replica has a fresh verified answer. */
  async getPinSet(key: string, options: PinReadOptions = {}): Promise<VerifiedPinSet> {
    const read = await this.source.get(key, { ...options, allowStale: false });
    if (read.stale) throw new RegistryError('stale', `pin set ${JSON.stringify(key)} is stale`);
    const { value, provenance } = parseAs(read, 'pins');
    return { pinSet: value, ...provenance };
  }

  /**
   * Checks a presented key (SPKI DER, or its SHA-256) against the verified,
   * fresh pin set at `key`. The verdict is the result; a pin set that cannot
   * be read verified and fresh throws (fail closed: treat as a mismatch).
   */
  async checkPin(key: string, presentedSpkiDerOrSha256: Uint8Array, nowMs: number = this.source.now(), options: PinReadOptions = {}): Promise<PinCheck> {
    const { pinSet, ...provenance } = await this.getPinSet(key, options);
    return { ...checkPinValue(pinSet, presentedSpkiDerOrSha256, nowMs, this.source.backend), provenance };
  }

  /**
   * Endpoints: a key ending in "/" is a prefix (every key under it, listed and
   * verified; keys that are not valid endpoints come back in `invalid`), any
   * other key one endpoint (anything else there throws). Stale is an error
   * unless `allowStale`.
   */
  async getEndpoints(prefixOrKey: string, options: Omit<ReadOptions, 'linearizable'> = {}): Promise<VerifiedEndpoints> {
    if (!prefixOrKey.endsWith('/')) {
      const read = await this.source.get(prefixOrKey, options);
      const { value, provenance } = parseAs(read, 'endpoint');
      return { prefix: prefixOrKey, endpoints: [{ endpoint: value, ...provenance }], invalid: [], stale: read.stale };
    }
    const listing = await this.source.list(prefixOrKey, options);
    const endpoints: VerifiedEndpoint[] = [];
    const invalid: VerifiedEndpoints['invalid'] = [];
    for (const item of listing.keys) {
      const parsed = parseTypedValueOf(item.value, 'endpoint');
      if (!parsed.ok) {
        invalid.push({ key: item.key, reason: parsed.reason, issues: parsed.reason === 'invalid' ? parsed.issues : [] });
        continue;
      }
      const page = listing.pages.find((p) => p.height === item.height);
      if (page === undefined) throw new Error('typed reader: a listed key without its page');
      endpoints.push({ endpoint: parsed.value, key: item.key, revision: item.revision, ...page, source: 'replica' });
    }
    return { prefix: prefixOrKey, endpoints, invalid, stale: listing.stale };
  }

  private aged(p: Provenance): Provenance {
    const age = this.source.now() - Number(p.timestampMs);
    return { ...p, ageMs: age > 0 ? age : 0 };
  }
}
