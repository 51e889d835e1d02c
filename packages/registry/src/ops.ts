// The registry's operation format: what a client puts in
// `ClientRequest.payload`, as canonical CBOR (DESIGN section 3), and the
// result format the executor returns in `ClientReply.result`.
//
// Payloads are untrusted: `decodeOp` never throws, it returns a typed verdict
// naming the rule that failed. Decoding is strict (canonical bytes only, no
// unknown fields, every limit checked), so one operation has one encoding and
// every replica reads the same bytes the same way.

import { type CanonicalValue, assert, assertNever, decodeCanonical, encodeCanonical } from '@vcr/proofs';
import { isValidDetail } from './refusal';
import { type KeyRejection, checkUserKey } from './keys';
import { registryLimits } from './limits';

import { type GovernanceOp, type GovernanceRejection, governanceOpToCanonical, validateGovernanceOp } from './governance';
import { type MembershipChangeError, type MembershipOp, type MembershipOpRejection, membershipOpToCanonical, validateMembershipOp } from './membership-change';

export { checkUserKey, type KeyRejection, RESERVED_KEY_PREFIX } from './keys';



export type PutOp = { op: 'put'; key: string; value: Uint8Array };
export type DeleteOp = { op: 'delete'; key: string };
/** Applies only if the key's revision is `expectedRevision` (0: the key must be absent). */
export type CasOp = { op: 'cas'; key: string; expectedRevision: bigint; value: Uint8Array };
export type SingleOp = PutOp | DeleteOp | CasOp;
/** All or nothing; each op sees the effects of the ops before it. */
export type TxnOp = { op: 'txn'; ops: SingleOp[] };
/** Changes nothing; ordered like any request, so its receipt marks a point in the order (linearizable reads). */
export type NoopOp = { op: 'noop' };
/**
 * Governance ops (organizations, namespaces: governance.ts) change the rules,
 * and a membership op (membership-change.ts) the next epoch's replicas; neither touches user keys.
 */
export type RegistryOp = SingleOp | TxnOp | NoopOp | GovernanceOp | MembershipOp;

/** The single operations of any operation, in order: none for a noop, a governance or a membership op. */
export function singleOps(op: RegistryOp): SingleOp[] {
  if (op.op === 'txn') return op.ops;
  if (op.op === 'noop' || op.op === 'org' || op.op === 'namespace' || op.op === 'membership') return [];
  return [op];
}


export type OpRejection =
  | 'not-canonical'
  | 'not-a-map'
  | 'unknown-op'
  | 'bad-fields'
  | KeyRejection
  | 'bad-value-type'
  | 'value-too-large'
  | 'bad-revision'
  | 'bad-txn-ops'
  | 'txn-empty'
  | 'txn-too-large'
  | 'nested-txn'
  | GovernanceRejection
  | MembershipOpRejection;

export type DecodeOpResult = { ok: true; op: RegistryOp } | { ok: false; reason: OpRejection };


type Fields = Record<string, CanonicalValue>;

function isMap(value: CanonicalValue): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** True when the map has exactly these field names. */
function hasExactly(fields: Fields, names: readonly string[]): boolean {
  const present = Object.keys(fields);
  return present.length === names.length && names.every((name) => Object.hasOwn(fields, name));
}

function readValue(value: CanonicalValue | undefined): Uint8Array | 'bad-value-type' | 'value-too-large' {
  if (!(value instanceof Uint8Array)) return 'bad-value-type';
  if (value.length > registryLimits.valueBytesMax) return 'value-too-large';
  return value;
}

/** The decoder gives small integers as numbers and large ones as bigints: accept both, return a bigint. */
function readRevision(value: CanonicalValue | undefined): bigint | undefined {
  let revision: bigint;
  if (typeof value === 'bigint') revision = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) revision = BigInt(value);
  else return undefined;
  return revision >= 0n && revision <= registryLimits.revisionMax ? revision : undefined;
}

type SingleRead = { ok: true; op: SingleOp } | { ok: false; reason: OpRejection };

function readSingle(fields: Fields): SingleRead {
  const name = fields.op;
  if (name === 'txn') return { ok: false, reason: 'nested-txn' };
  if (name !== 'put' && name !== 'delete' && name !== 'cas') return { ok: false, reason: 'unknown-op' };
  const expected = name === 'put' ? ['op', 'key', 'value'] : name === 'delete' ? ['op', 'key'] : ['op', 'key', 'expectedRevision', 'value'];
  if (!hasExactly(fields, expected)) return { ok: false, reason: 'bad-fields' };
  const keyRejection = checkUserKey(fields.key);
  if (keyRejection !== undefined) return { ok: false, reason: keyRejection };
  const key = fields.key as string;
  if (name === 'delete') return { ok: true, op: { op: 'delete', key } };
  const value = readValue(fields.value);
  if (typeof value === 'string') return { ok: false, reason: value };
  if (name === 'put') return { ok: true, op: { op: 'put', key, value } };
  const expectedRevision = readRevision(fields.expectedRevision);
  if (expectedRevision === undefined) return { ok: false, reason: 'bad-revision' };
  return { ok: true, op: { op: 'cas', key, expectedRevision, value } };
}

/** Validates a decoded canonical value as an operation. */
export function validateOp(untrustedValue: CanonicalValue): DecodeOpResult {
  if (!isMap(untrustedValue)) return { ok: false, reason: 'not-a-map' };
  if (untrustedValue.op === 'noop') return hasExactly(untrustedValue, ['op']) ? { ok: true, op: { op: 'noop' } } : { ok: false, reason: 'bad-fields' };
  if (untrustedValue.op === 'org' || untrustedValue.op === 'namespace') return validateGovernanceOp(untrustedValue);
  if (untrustedValue.op === 'membership') return validateMembershipOp(untrustedValue);
  if (untrustedValue.op !== 'txn') return readSingle(untrustedValue);
  if (!hasExactly(untrustedValue, ['op', 'ops'])) return { ok: false, reason: 'bad-fields' };
  const untrustedOps = untrustedValue.ops;
  if (!Array.isArray(untrustedOps)) return { ok: false, reason: 'bad-txn-ops' };
  // The count is checked before any op is looked at.
  if (untrustedOps.length === 0) return { ok: false, reason: 'txn-empty' };
  if (untrustedOps.length > registryLimits.txnOpsMax) return { ok: false, reason: 'txn-too-large' };
  const ops: SingleOp[] = [];
  for (const untrustedOp of untrustedOps as readonly CanonicalValue[]) {
    if (!isMap(untrustedOp)) return { ok: false, reason: 'bad-txn-ops' };
    const read = readSingle(untrustedOp);
    if (!read.ok) return read;
    ops.push(read.op);
  }
  return { ok: true, op: { op: 'txn', ops } };
}

/** Decodes an untrusted payload. Never throws. */
export function decodeOp(untrustedBytes: Uint8Array): DecodeOpResult {
  const decoded = decodeCanonical(untrustedBytes);
  if (!decoded.ok) return { ok: false, reason: 'not-canonical' };
  return validateOp(decoded.value);
}

function singleToCanonical(op: SingleOp): CanonicalValue {
  switch (op.op) {
    case 'put':
      return { op: 'put', key: op.key, value: op.value };
    case 'delete':
      return { op: 'delete', key: op.key };
    case 'cas':
      return { op: 'cas', key: op.key, expectedRevision: op.expectedRevision, value: op.value };
    default:
      return assertNever(op, 'registry op');
  }
}

export function opToCanonical(op: RegistryOp): CanonicalValue {
  if (op.op === 'noop') return { op: 'noop' };
  if (op.op === 'org' || op.op === 'namespace') return governanceOpToCanonical(op);
  if (op.op === 'membership') return membershipOpToCanonical(op);
  return op.op === 'txn' ? { op: 'txn', ops: op.ops.map(singleToCanonical) } : singleToCanonical(op);
}

/**
 * The payload bytes of an operation. Refuses (RangeError) an operation that
 * `decodeOp` would refuse, so a client never signs a request bound to fail.
 */
export function encodeOp(op: RegistryOp): Uint8Array {
  const value = opToCanonical(op);
  const check = validateOp(value);
  if (!check.ok) throw new RangeError(`registry op: ${check.reason}`);
  return encodeCanonical(value);
}

// ---- Results (ClientReply.result) ----

/**
 * `invalid-value`: a put or cas value claims a typed value type (docs/values.md)
 * but does not satisfy its schema; the client learns the issues from
 * `parseTypedValue` on its own bytes.
 */
export type RegistryErrorCode =
  | 'malformed-op'
  | 'revision-mismatch'
  | 'absent'
  | 'txn-too-large'
  | 'invalid-value'
  /** A key under no namespace while the genesis policy closes the root (docs/registry.md). */
  | 'unknown-namespace'
  /** The signer may not write this namespace, or change this organization or namespace. */
  | 'forbidden'
  /** A put or cas value is not the namespace's value type. */
  | 'wrong-type'
  /** A namespace names an organization that does not exist. */
  | 'unknown-org'
  /** Recorded as an approval of a change that needs more organizations; nothing applied yet. */
  | 'pending-approval'
  /** A new pending change past the cap per organization or in total (docs/registry.md section 4); nothing recorded. */
  | 'pending-limit'
  /**
   * A membership change refused by `nextMembershipFor` (docs/registry.md "Membership changes"):
   * `stale-epoch` (proposed for another epoch than the current one), `bad-approval` (an
   * organization that is not a governance admin, named twice, or whose signature does not
   * verify), `approvals-below-threshold`, `invalid-membership-change` (an action that does not
   * apply, or a result that is not a valid membership).
   */
  | MembershipChangeError
  /** A membership change after another one already ended the epoch in the same block. */
  | 'epoch-change-pending';

/**
 * `revisions[i]` is the revision of the i-th op's key after that op (a single
 * op counts as a transaction of one): 0 after a delete, since 0 is what a
 * later CAS expects for an absent key.
 */
export type RegistryResult =
  | { ok: true; revisions: bigint[] }
  /**
   * `detail` names the rule and the field (`variants: required`, `org4 may not write demo/flags/
   * (writers: org1)`): built deterministically from the state and the request, at most
   * `registryLimits.resultDetailCharsMax` characters (refusal.ts). Absent where the code says it all.
   */
  | { ok: false; error: RegistryErrorCode; detail?: string };

export function encodeResult(result: RegistryResult): Uint8Array {
  if (result.ok) return encodeCanonical({ ok: true, revisions: result.revisions });
  if (result.detail === undefined) return encodeCanonical({ ok: false, error: result.error });
  assert(isValidDetail(result.detail), 'registry: a result detail must be bounded, well-formed text (refusal.ts boundDetail)');
  return encodeCanonical({ ok: false, error: result.error, detail: result.detail });
}

const ERROR_CODES: readonly string[] = [
  'malformed-op',
  'revision-mismatch',
  'absent',
  'txn-too-large',
  'invalid-value',
  'unknown-namespace',
  'forbidden',
  'wrong-type',
  'unknown-org',
  'pending-approval',
  'pending-limit',
  'stale-epoch',
  'bad-approval',
  'approvals-below-threshold',
  'invalid-membership-change',
  'epoch-change-pending',
] satisfies RegistryErrorCode[];

export type DecodeResultOutcome = { ok: true; result: RegistryResult } | { ok: false; reason: 'not-canonical' | 'malformed' };

/** Decodes untrusted result bytes (e.g. a reply from a replica). Never throws. */
export function decodeResult(untrustedBytes: Uint8Array): DecodeResultOutcome {
  const decoded = decodeCanonical(untrustedBytes);
  if (!decoded.ok) return { ok: false, reason: 'not-canonical' };
  const value = decoded.value;
  if (!isMap(value)) return { ok: false, reason: 'malformed' };
  if (value.ok === false && typeof value.error === 'string' && ERROR_CODES.includes(value.error)) {
    const error = value.error as RegistryErrorCode;
    if (hasExactly(value, ['ok', 'error'])) return { ok: true, result: { ok: false, error } };
    if (hasExactly(value, ['ok', 'error', 'detail']) && isValidDetail(value.detail)) return { ok: true, result: { ok: false, error, detail: value.detail } };
    return { ok: false, reason: 'malformed' };
  }
  if (value.ok !== true || !hasExactly(value, ['ok', 'revisions']) || !Array.isArray(value.revisions)) return { ok: false, reason: 'malformed' };
  const untrustedRevisions = value.revisions as readonly CanonicalValue[];
  // Empty for a noop; one per op otherwise.
  if (untrustedRevisions.length > registryLimits.txnOpsMax) return { ok: false, reason: 'malformed' };
  const revisions: bigint[] = [];
  for (const untrustedRevision of untrustedRevisions) {
    const revision = readRevision(untrustedRevision);
    if (revision === undefined) return { ok: false, reason: 'malformed' };
    revisions.push(revision);
  }
  return { ok: true, result: { ok: true, revisions } };
}
