// Feature flag evaluation (docs/values.md section 4). Pure and deterministic:
// the same flag, key and context give the same variant in Node and in every
// browser, because the rollout bucket is SHA-256 over canonical CBOR and
// integer arithmetic, with no floats and no locale.

import { type CryptoBackend, isWellFormedText, nobleBackend, utf8 } from '@vcr/proofs';
import type { JsonValue } from './json';
import { valueLimits } from '../limits';
import type { FlagCondition, FlagValue, Rollout } from './schemas';

/**
 * What the caller knows about the subject of the evaluation. Conditions and
 * rollouts read string attributes only; an attribute of another type counts
 * as absent.
 */
export type FlagContext = { readonly [attribute: string]: string | number | boolean | null | undefined };

export type FlagReason =
  /** `enabled: false`: everyone gets the default variant. */
  | { kind: 'disabled' }
  /** Rule `ruleIndex` matched and serves a fixed variant. */
  | { kind: 'rule'; ruleIndex: number; ruleId: string }
  /** Rule `ruleIndex` matched and serves a rollout; `bucket` (0..9999) picked the variant. */
  | { kind: 'rule-rollout'; ruleIndex: number; ruleId: string; bucket: number }
  /** No rule matched; the flag's rollout picked the variant by `bucket`. */
  | { kind: 'rollout'; bucket: number }
  /** No rule matched and there is no rollout. */
  | { kind: 'default'; cause: 'no-match' }
  /** The rollout that applied (the flag's, or rule `ruleIndex`'s) needs a unit attribute the context lacks: the default variant. */
  | { kind: 'default'; cause: 'unit-missing'; attribute: string; ruleIndex?: number };

export interface FlagEvaluation {
  variant: string;
  value: JsonValue;
  reason: FlagReason;
}

/** The domain tag of the bucket hash: a bucket can never collide with any other hash in the system. */
export const FLAG_BUCKET_TAG = 'vcr/v1/flag-bucket';


/**
 * The rollout bucket (0..9999) of a unit: the first 8 bytes of
 * SHA-256(canonical CBOR ["vcr/v1/flag-bucket", flagKey, salt, unitId]) as a
 * big-endian unsigned integer, mod 10000. The modulo bias is below 10^-15.
 */
export function flagBucket(input: { flagKey: string; salt: string; unitId: string }, backend: CryptoBackend = nobleBackend): number {
  return bucketHasher(input.flagKey, input.salt)(input.unitId, backend);
}

const BUCKETS = valueLimits.rolloutBasisPoints;
const TAG_BYTES = utf8(FLAG_BUCKET_TAG);
const TWO_POW_32_MOD_BUCKETS = 2 ** 32 % BUCKETS;
/** A unit id's UTF-8 bytes at most (a UTF-16 code unit is at most 3 UTF-8 bytes; a pair, 4 for 2 units). */
const UNIT_BYTES_MAX = 3 * valueLimits.unitIdCharsMax;

/** The canonical CBOR header of a text string of `length` UTF-8 bytes (definite length, shortest form). */
function textHeader(length: number): number[] {
  if (length < 24) return [0x60 + length];
  if (length < 0x100) return [0x78, length];
  if (length < 0x10000) return [0x79, length >> 8, length & 0xff];
  return [0x7a, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
}

/**
 * The bucket of a unit under one flag key and salt. The hash input is
 * encodeCanonical([FLAG_BUCKET_TAG, flagKey, salt, unitId]), written out for
 * this one shape (an array of four text strings: 0x84, then each string's
 * header and bytes), which is the same bytes (flag.test.ts checks both
 * against the vectors) at a fraction of the general encoder's cost. All but
 * the unit is laid out once, in a buffer each call writes its unit into: a
 * local view evaluates a flag in microseconds, and encoding the three fixed
 * strings again was most of it. The hash is synchronous and keeps nothing of
 * its input, so one buffer serves every call.
 */
function bucketHasher(flagKey: string, salt: string): (unitId: string, backend: CryptoBackend) => number {
  const texts = [TAG_BYTES, utf8(flagKey), utf8(salt)];
  const headers = texts.map((bytes) => textHeader(bytes.length));
  let unitAt = 1;
  for (let i = 0; i < texts.length; i++) unitAt += (headers[i] as number[]).length + (texts[i] as Uint8Array).length;
  const buffer = new Uint8Array(unitAt + 3 + UNIT_BYTES_MAX);
  buffer[0] = 0x84;
  let at = 1;
  for (let i = 0; i < texts.length; i++) {
    buffer.set(headers[i] as number[], at);
    at += (headers[i] as number[]).length;
    buffer.set(texts[i] as Uint8Array, at);
    at += (texts[i] as Uint8Array).length;
  }
  return (unitId, backend) => {
    let end: number;
    if (unitId.length < 24 && isAscii(unitId)) {
      // The common case, a short ASCII id: one header byte, one byte per character.
      buffer[unitAt] = 0x60 + unitId.length;
      for (let i = 0; i < unitId.length; i++) buffer[unitAt + 1 + i] = unitId.charCodeAt(i);
      end = unitAt + 1 + unitId.length;
    } else {
      const bytes = utf8(unitId);
      const header = textHeader(bytes.length);
      const input = bytes.length <= UNIT_BYTES_MAX ? buffer : new Uint8Array(unitAt + header.length + bytes.length);
      if (input !== buffer) input.set(buffer.subarray(0, unitAt));
      input.set(header, unitAt);
      input.set(bytes, unitAt + header.length);
      end = unitAt + header.length + bytes.length;
      if (input !== buffer) return bucketOf(backend.sha256(input));
    }
    return bucketOf(backend.sha256(buffer.subarray(0, end)));
  };
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The first 8 bytes as hi * 2^32 + lo, mod 10000 without BigInt (every intermediate stays below 2^53; BigInt cost more than the hash). */
function bucketOf(digest: Uint8Array): number {
  const hi = (((digest[0] as number) << 24) | ((digest[1] as number) << 16) | ((digest[2] as number) << 8) | (digest[3] as number)) >>> 0;
  const lo = (((digest[4] as number) << 24) | ((digest[5] as number) << 16) | ((digest[6] as number) << 8) | (digest[7] as number)) >>> 0;
  return ((hi % BUCKETS) * TWO_POW_32_MOD_BUCKETS + (lo % BUCKETS)) % BUCKETS;
}

/** The variant bucket `bucket` falls in: weights are consecutive ranges of the 10000 buckets, in the listed order. */
export function variantForBucket(rollout: Rollout, bucket: number): string {
  let upper = 0;
  for (const { variant, weight } of rollout.weights) {
    upper += weight;
    if (bucket < upper) return variant;
  }
  // The schema makes the weights sum to 10000, so every bucket lands above.
  throw new RangeError(`flag: bucket ${bucket} is outside the rollout's weights`);
}

/** A context attribute if it is a usable string; undefined otherwise. Own properties only. */
function stringAttribute(context: FlagContext, attribute: string): string | undefined {
  if (!Object.hasOwn(context, attribute)) return undefined;
  const value = context[attribute];
  return typeof value === 'string' ? value : undefined;
}

export function conditionHolds(condition: FlagCondition, context: FlagContext): boolean {
  const actual = stringAttribute(context, condition.attribute);
  if (actual === undefined) return false;
  switch (condition.op) {
    case 'equals':
      return actual === condition.value;
    case 'prefix':
      return actual.startsWith(condition.value);
    case 'in':
      return condition.values.includes(actual);
    case 'not-in':
      return !condition.values.includes(actual);
  }
}

function unitOf(context: FlagContext, attribute: string): string | undefined {
  const unit = stringAttribute(context, attribute);
  if (unit === undefined || unit.length === 0 || unit.length > valueLimits.unitIdCharsMax || !isWellFormedText(unit)) return undefined;
  return unit;
}

/** A flag made ready to evaluate: rules, rollouts and bucket inputs laid out once (compileFlag). */
export type CompiledFlag = (context: FlagContext, backend: CryptoBackend) => FlagEvaluation;

/**
 * Evaluates a flag (parsed by the schema) for a context: the first rule whose
 * conditions all hold decides; else the flag's rollout; else the default
 * variant. A rollout whose unit attribute is missing serves the default
 * variant and says so. `flagKey` is the registry key of the flag; it goes
 * into the bucket hash so that different flags bucket units independently.
 */
export function evaluateFlag(flagKey: string, flag: FlagValue, context: FlagContext, backend: CryptoBackend = nobleBackend): FlagEvaluation {
  return compileFlag(flagKey, flag)(context, backend);
}

/**
 * evaluateFlag split in two: the work that depends only on the flag (its
 * variants' values, each rollout's bucket input and weight ranges) done
 * once, here; what depends on the context, in the function returned. A
 * local view compiles a flag when a change brings it, and evaluates it in
 * microseconds. Compiling never throws; what evaluateFlag would refuse
 * (a variant the flag lacks, a rule that serves nothing: the schema rules
 * both out) is refused at evaluation, as before.
 */
export function compileFlag(flagKey: string, flag: FlagValue): CompiledFlag {
  const valueOf = (variant: string): JsonValue => {
    // The schema guarantees every variant a flag names exists.
    if (!Object.hasOwn(flag.variants, variant)) throw new RangeError(`flag: variant ${JSON.stringify(variant)} does not exist`);
    return flag.variants[variant] as JsonValue;
  };
  const { defaultVariant } = flag;
  const serveDefault = (reason: FlagReason): FlagEvaluation => ({ variant: defaultVariant, value: valueOf(defaultVariant), reason });
  if (flag.enabled === false) return () => serveDefault({ kind: 'disabled' });

  const rules = (flag.rules ?? []).map((rule, ruleIndex) => ({ rule, ruleIndex, roll: rule.serve.rollout === undefined ? undefined : compileRollout(flagKey, rule.serve.rollout) }));
  const roll = flag.rollout === undefined ? undefined : compileRollout(flagKey, flag.rollout);
  return (context, backend) => {
    for (const { rule, ruleIndex, roll: ruleRoll } of rules) {
      if (!rule.when.every((condition) => conditionHolds(condition, context))) continue;
      const { variant, rollout } = rule.serve;
      if (variant !== undefined) return { variant, value: valueOf(variant), reason: { kind: 'rule', ruleIndex, ruleId: rule.id } };
      if (rollout === undefined || ruleRoll === undefined) throw new RangeError('flag: a rule serves neither a variant nor a rollout');
      const rolled = ruleRoll(context, backend);
      if (rolled === undefined) return serveDefault({ kind: 'default', cause: 'unit-missing', attribute: rollout.by, ruleIndex });
      return { variant: rolled.variant, value: valueOf(rolled.variant), reason: { kind: 'rule-rollout', ruleIndex, ruleId: rule.id, bucket: rolled.bucket } };
    }
    if (flag.rollout === undefined || roll === undefined) return serveDefault({ kind: 'default', cause: 'no-match' });
    const rolled = roll(context, backend);
    if (rolled === undefined) return serveDefault({ kind: 'default', cause: 'unit-missing', attribute: flag.rollout.by });
    return { variant: rolled.variant, value: valueOf(rolled.variant), reason: { kind: 'rollout', bucket: rolled.bucket } };
  };
}

/** A rollout's variant for a context, or undefined when the context lacks a usable unit. */
function compileRollout(flagKey: string, rollout: Rollout): (context: FlagContext, backend: CryptoBackend) => { variant: string; bucket: number } | undefined {
  // Laid out at the first unit that needs it (a one-off evaluateFlag pays only for the rollout it uses).
  let bucketOfUnit: ((unitId: string, backend: CryptoBackend) => number) | undefined;
  return (context, backend) => {
    const unitId = unitOf(context, rollout.by);
    if (unitId === undefined) return undefined;
    bucketOfUnit ??= bucketHasher(flagKey, rollout.salt ?? '');
    const bucket = bucketOfUnit(unitId, backend);
    return { variant: variantForBucket(rollout, bucket), bucket };
  };
}
