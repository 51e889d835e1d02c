// Membership changes (DESIGN section 6, docs/registry.md "Membership changes"):
// adding or removing a replica, rotating its key, moving its address,
// choosing f, replacing the governance policy. A change is proposed in the
// current epoch e, approved by `threshold` distinct organizations of the
// current membership's governance admins (signatures of kind
// "membership-approval" in the domain (chainId, e)), ordered by consensus like
// any request, and takes effect as epoch e + 1 after the block that executes
// it (the executor reports the next membership; the block's header commits
// to its hash).
//
// This file holds the format (decoded strictly, like every op) and the pure
// rule `nextMembershipFor`; the replica's executor applies it.

import { membershipChangeLimits } from './limits';
import {
  type CanonicalValue,
  type CryptoBackend,
  type GovernancePolicy,
  type Membership,
  type ReplicaInfo,
  type Signer,
  assertNever,
  bytesToHex,
  checkMembership,
  limits,
  maxFaultTolerance,
  signInDomain,
  utf8,
  verifyInDomain,
} from '@vcr/proofs';


export type NewReplica = ReplicaInfo;

export type MembershipAction =
  /** Appends a replica at the end of the list. */
  | { action: 'add-replica'; replica: NewReplica }
  | { action: 'remove-replica'; id: string }
  | { action: 'rotate-key'; id: string; publicKey: Uint8Array }
  | { action: 'set-address'; id: string; address: string }
  /** The next epoch's f (else maxFaultTolerance(n)); must satisfy 3f + 1 <= n. */
  | { action: 'set-f'; f: number }
  | { action: 'set-governance'; governance: GovernancePolicy };

export interface MembershipChange {
  /** The epoch the change is proposed in: the current one. A change for any other epoch is stale. */
  epoch: bigint;
  /** 1..actionsMax actions, applied in order. */
  actions: MembershipAction[];
}

/** One governance organization's approval: a signature by one of its admin keys in the current membership. */
export interface MembershipApproval {
  organization: string;
  signature: Uint8Array;
}

/** `{ op: 'membership' }`: proposes the next epoch's membership. */
export type MembershipOp = { op: 'membership'; change: MembershipChange; approvals: MembershipApproval[] };

/** Why `nextMembershipFor` refuses a change (each is also a RegistryErrorCode). */
export type MembershipChangeError = 'stale-epoch' | 'bad-approval' | 'approvals-below-threshold' | 'invalid-membership-change';

export type NextMembershipResult = { ok: true; next: Membership } | { ok: false; error: MembershipChangeError };

// ---- canonical form and approvals ----

function actionToCanonical(a: MembershipAction): CanonicalValue {
  switch (a.action) {
    case 'add-replica':
      return { action: a.action, replica: { id: a.replica.id, organization: a.replica.organization, publicKey: a.replica.publicKey, address: a.replica.address } };
    case 'remove-replica':
      return { action: a.action, id: a.id };
    case 'rotate-key':
      return { action: a.action, id: a.id, publicKey: a.publicKey };
    case 'set-address':
      return { action: a.action, id: a.id, address: a.address };
    case 'set-f':
      return { action: a.action, f: a.f };
    case 'set-governance':
      return {
        action: a.action,
        governance: { threshold: a.governance.threshold, admins: a.governance.admins.map((g) => ({ organization: g.organization, publicKey: g.publicKey })) },
      };
    default:
      return assertNever(a, 'membership action');
  }
}

/** The canonical value of a change: what approvals sign and what the op carries. */
export function membershipChangeToCanonical(change: MembershipChange): CanonicalValue {
  return { epoch: change.epoch, actions: change.actions.map(actionToCanonical) };
}

export function membershipOpToCanonical(op: MembershipOp): CanonicalValue {
  return {
    op: 'membership',
    change: membershipChangeToCanonical(op.change),
    approvals: op.approvals.map((a) => ({ organization: a.organization, signature: a.signature })),
  };
}

function approvalDomain(chainId: string, change: MembershipChange) {
  return { kind: 'membership-approval', chainId, epoch: change.epoch } as const;
}

/** A governance admin's signature approving `change` on chain `chainId` (in the change's epoch). */
export function signMembershipApproval(signer: Signer, chainId: string, change: MembershipChange): Uint8Array {
  return signInDomain(signer, approvalDomain(chainId, change), membershipChangeToCanonical(change));
}

// ---- validation of untrusted ops (called by ops.ts validateOp) ----

export type MembershipOpRejection =
  | 'bad-fields'
  | 'bad-change'
  | 'bad-change-epoch'
  | 'bad-actions'
  | 'actions-empty'
  | 'actions-too-many'
  | 'unknown-action'
  | 'bad-action'
  | 'bad-replica-id'
  | 'bad-organization'
  | 'bad-public-key'
  | 'bad-address'
  | 'bad-f'
  | 'bad-governance'
  | 'bad-approval-list'
  | 'approvals-too-many'
  | 'bad-signature-length';

type Fields = Record<string, CanonicalValue>;
type Read<T> = { ok: true; value: T } | { ok: false; reason: MembershipOpRejection };

function isMap(value: CanonicalValue | undefined): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function hasExactly(fields: Fields, names: readonly string[]): boolean {
  const present = Object.keys(fields);
  return present.length === names.length && names.every((name) => Object.hasOwn(fields, name));
}

/** The decoder gives small integers as numbers and large ones as bigints. */
function readInteger(value: CanonicalValue | undefined): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

/** A non-empty string of at most `maxBytes` UTF-8 bytes (the length check in UTF-16 units comes first: it can only be smaller). */
function isText(value: CanonicalValue | undefined, maxBytes: number, allowEmpty = false): value is string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0) || value.length > maxBytes) return false;
  return utf8(value).length <= maxBytes;
}

function isKey(value: CanonicalValue | undefined): value is Uint8Array {
  return value instanceof Uint8Array && value.length === 32;
}

const fail = (reason: MembershipOpRejection): { ok: false; reason: MembershipOpRejection } => ({ ok: false, reason });

function readReplica(value: CanonicalValue | undefined): Read<NewReplica> {
  if (!isMap(value) || !hasExactly(value, ['id', 'organization', 'publicKey', 'address'])) return fail('bad-action');
  if (!isText(value.id, membershipChangeLimits.replicaIdBytesMax)) return fail('bad-replica-id');
  if (!isText(value.organization, membershipChangeLimits.organizationBytesMax)) return fail('bad-organization');
  if (!isKey(value.publicKey)) return fail('bad-public-key');
  if (!isText(value.address, membershipChangeLimits.addressBytesMax, true)) return fail('bad-address');
  return { ok: true, value: { id: value.id, organization: value.organization, publicKey: value.publicKey, address: value.address } };
}

function readGovernance(value: CanonicalValue | undefined): Read<GovernancePolicy> {
  if (!isMap(value) || !hasExactly(value, ['threshold', 'admins'])) return fail('bad-governance');
  const threshold = readInteger(value.threshold);
  const untrustedAdmins = value.admins;
  if (threshold === undefined || threshold < 1n || threshold > BigInt(membershipChangeLimits.adminsMax)) return fail('bad-governance');
  if (!Array.isArray(untrustedAdmins) || untrustedAdmins.length < 1 || untrustedAdmins.length > membershipChangeLimits.adminsMax) return fail('bad-governance');
  const admins: GovernancePolicy['admins'] = [];
  for (const untrustedAdmin of untrustedAdmins as readonly CanonicalValue[]) {
    if (!isMap(untrustedAdmin) || !hasExactly(untrustedAdmin, ['organization', 'publicKey'])) return fail('bad-governance');
    if (!isText(untrustedAdmin.organization, membershipChangeLimits.organizationBytesMax)) return fail('bad-organization');
    if (!isKey(untrustedAdmin.publicKey)) return fail('bad-public-key');
    admins.push({ organization: untrustedAdmin.organization, publicKey: untrustedAdmin.publicKey });
  }
  return { ok: true, value: { threshold: Number(threshold), admins } };
}

const ACTION_FIELDS = {
  'add-replica': ['action', 'replica'],
  'remove-replica': ['action', 'id'],
  'rotate-key': ['action', 'id', 'publicKey'],
  'set-address': ['action', 'id', 'address'],
  'set-f': ['action', 'f'],
  'set-governance': ['action', 'governance'],
} as const satisfies Record<MembershipAction['action'], readonly string[]>;

function isActionName(value: CanonicalValue | undefined): value is keyof typeof ACTION_FIELDS {
  return typeof value === 'string' && Object.hasOwn(ACTION_FIELDS, value);
}

function readAction(value: CanonicalValue): Read<MembershipAction> {
  if (!isMap(value)) return fail('bad-action');
  const name = value.action;
  if (!isActionName(name)) return fail('unknown-action');
  if (!hasExactly(value, ACTION_FIELDS[name])) return fail('bad-action');
  if (name === 'add-replica') {
    const replica = readReplica(value.replica);
    return replica.ok ? { ok: true, value: { action: name, replica: replica.value } } : replica;
  }
  if (name === 'set-f') {
    const f = readInteger(value.f);
    if (f === undefined || f < 0n || f > BigInt(membershipChangeLimits.fMax)) return fail('bad-f');
    return { ok: true, value: { action: name, f: Number(f) } };
  }
  if (name === 'set-governance') {
    const governance = readGovernance(value.governance);
    return governance.ok ? { ok: true, value: { action: name, governance: governance.value } } : governance;
  }
  const id = value.id;
  if (!isText(id, membershipChangeLimits.replicaIdBytesMax)) return fail('bad-replica-id');
  if (name === 'remove-replica') return { ok: true, value: { action: name, id } };
  if (name === 'rotate-key') return isKey(value.publicKey) ? { ok: true, value: { action: name, id, publicKey: value.publicKey } } : fail('bad-public-key');
  return isText(value.address, membershipChangeLimits.addressBytesMax, true) ? { ok: true, value: { action: name, id, address: value.address } } : fail('bad-address');
}

function readChange(value: CanonicalValue | undefined): Read<MembershipChange> {
  if (!isMap(value) || !hasExactly(value, ['epoch', 'actions'])) return fail('bad-change');
  const epoch = readInteger(value.epoch);
  if (epoch === undefined || epoch < 0n || epoch >= 1n << 63n) return fail('bad-change-epoch');
  const untrustedActions = value.actions;
  if (!Array.isArray(untrustedActions)) return fail('bad-actions');
  // The count is checked before any action is looked at.
  if (untrustedActions.length === 0) return fail('actions-empty');
  if (untrustedActions.length > membershipChangeLimits.actionsMax) return fail('actions-too-many');
  const actions: MembershipAction[] = [];
  for (const untrustedAction of untrustedActions as readonly CanonicalValue[]) {
    const action = readAction(untrustedAction);
    if (!action.ok) return action;
    actions.push(action.value);
  }
  return { ok: true, value: { epoch, actions } };
}

function readApprovals(value: CanonicalValue | undefined): Read<MembershipApproval[]> {
  if (!Array.isArray(value)) return fail('bad-approval-list');
  if (value.length > membershipChangeLimits.approvalsMax) return fail('approvals-too-many');
  const approvals: MembershipApproval[] = [];
  for (const untrustedApproval of value as readonly CanonicalValue[]) {
    if (!isMap(untrustedApproval) || !hasExactly(untrustedApproval, ['organization', 'signature'])) return fail('bad-approval-list');
    if (!isText(untrustedApproval.organization, membershipChangeLimits.organizationBytesMax)) return fail('bad-organization');
    const signature = untrustedApproval.signature;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return fail('bad-signature-length');
    approvals.push({ organization: untrustedApproval.organization, signature });
  }
  return { ok: true, value: approvals };
}

/**
 * Validates a decoded `{ op: 'membership', change, approvals }`. Only the
 * shape and sizes: whether the change applies and the approvals verify is
 * `nextMembershipFor`'s business, against the current membership.
 */
export function validateMembershipOp(fields: Fields): { ok: true; op: MembershipOp } | { ok: false; reason: MembershipOpRejection } {
  if (!hasExactly(fields, ['op', 'change', 'approvals'])) return fail('bad-fields');
  const change = readChange(fields.change);
  if (!change.ok) return change;
  const approvals = readApprovals(fields.approvals);
  if (!approvals.ok) return approvals;
  return { ok: true, op: { op: 'membership', change: change.value, approvals: approvals.value } };
}

// ---- the rule ----

/** Applies the actions in order; undefined when one of them does not apply or the result is not a valid membership. */
function applyActions(current: Membership, actions: readonly MembershipAction[]): Membership | undefined {
  const replicas: ReplicaInfo[] = current.replicas.map((r) => ({ ...r }));
  // A key of the current membership never comes back in the next one (as another replica's, or after a
  // rotation away from it): votes are told apart by key, and a retired key must stay retired.
  const usedKeys = new Set(current.replicas.map((r) => bytesToHex(r.publicKey)));
  const indexOf = (id: string): number => replicas.findIndex((r) => r.id === id);
  let f: number | undefined;
  let governance: GovernancePolicy | undefined;
  for (const a of actions) {
    switch (a.action) {
      case 'add-replica': {
        const key = bytesToHex(a.replica.publicKey);
        if (indexOf(a.replica.id) >= 0 || usedKeys.has(key)) return undefined;
        usedKeys.add(key);
        replicas.push({ ...a.replica, publicKey: a.replica.publicKey.slice() });
        break;
      }
      case 'remove-replica': {
        const i = indexOf(a.id);
        if (i < 0) return undefined;
        replicas.splice(i, 1);
        break;
      }
      case 'rotate-key': {
        const i = indexOf(a.id);
        const key = bytesToHex(a.publicKey);
        if (i < 0 || usedKeys.has(key)) return undefined;
        usedKeys.add(key);
        replicas[i] = { ...(replicas[i] as ReplicaInfo), publicKey: a.publicKey.slice() };
        break;
      }
      case 'set-address': {
        const i = indexOf(a.id);
        if (i < 0) return undefined;
        replicas[i] = { ...(replicas[i] as ReplicaInfo), address: a.address };
        break;
      }
      case 'set-f':
        // One meaning per change: a second set-f (or set-governance) is refused, not "last one wins".
        if (f !== undefined) return undefined;
        f = a.f;
        break;
      case 'set-governance': {
        if (governance !== undefined) return undefined;
        // One admin key speaks for one organization: a key listed twice could approve as two.
        const adminKeys = new Set(a.governance.admins.map((g) => bytesToHex(g.publicKey)));
        if (adminKeys.size !== a.governance.admins.length) return undefined;
        governance = { threshold: a.governance.threshold, admins: a.governance.admins.map((g) => ({ organization: g.organization, publicKey: g.publicKey.slice() })) };
        break;
      }
      default:
        assertNever(a, 'membership action');
    }
  }
  if (replicas.length < 1 || replicas.length > limits.membershipSizeMax) return undefined;
  const nextF = f ?? maxFaultTolerance(replicas.length);
  if (3 * nextF + 1 > replicas.length) return undefined;
  const next: Membership = {
    chainId: current.chainId,
    epoch: current.epoch + 1n,
    f: nextF,
    replicas,
    governance: governance ?? { threshold: current.governance.threshold, admins: current.governance.admins.map((g) => ({ ...g })) },
  };
  return checkMembership(next) === undefined ? next : undefined;
}

/**
 * The membership of epoch `current.epoch + 1` if `change` applies to
 * `current` with these approvals. Deterministic; the cheap checks (epoch,
 * who approves, how many, whether the actions apply) run before any
 * signature is verified. Every approval must verify: one bad signature
 * refuses the op, so the log never certifies a change with a forged approval.
 */
export function nextMembershipFor(
  backend: CryptoBackend,
  current: Membership,
  change: MembershipChange,
  approvals: readonly MembershipApproval[],
): NextMembershipResult {
  if (change.epoch !== current.epoch) return { ok: false, error: 'stale-epoch' };
  const admins = current.governance.admins;
  const approving = new Set<string>();
  for (const approval of approvals) {
    if (approving.has(approval.organization) || !admins.some((a) => a.organization === approval.organization)) return { ok: false, error: 'bad-approval' };
    approving.add(approval.organization);
  }
  if (approving.size < current.governance.threshold) return { ok: false, error: 'approvals-below-threshold' };
  const next = applyActions(current, change.actions);
  if (next === undefined) return { ok: false, error: 'invalid-membership-change' };
  const domain = approvalDomain(current.chainId, change);
  const message = membershipChangeToCanonical(change);
  for (const approval of approvals) {
    const keys = admins.filter((a) => a.organization === approval.organization);
    if (!keys.some((a) => verifyInDomain(backend, a.publicKey, domain, message, approval.signature))) return { ok: false, error: 'bad-approval' };
  }
  return { ok: true, next };
}
