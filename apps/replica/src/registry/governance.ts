// Enforcing the registry's rules in the executor (docs/registry.md): which
// client may write which key, what value type a namespace takes, and changes
// that wait for k-of-m organizations. Everything is read from the state map
// (organization and namespace records under reserved keys) and the genesis
// policy, so every replica decides the same from the same ordered requests.
// Pure and deterministic like the rest of the executor: no clock but the
// certified block time, no iteration over unordered collections.

import { type CryptoBackend, type MerkleMapDraft, type MerkleMapSnapshot, assert } from '@vcr/proofs';

/** What the rules read: a committed snapshot or a block's draft. */
export type MapReader = Pick<MerkleMapSnapshot, 'get' | 'has'>;
import {
  type GovernanceOp,
  type NamespaceRecord,
  type OrgRecord,
  type PendingIndexEntry,
  type PendingRecord,
  type RegistryPolicy,
  type SingleOp,
  decodeNamespaceRecord,
  decodeOrgRecord,
  decodePendingIndex,
  decodePendingRecord,
  encodeNamespaceRecord,
  encodePendingIndex,
  governanceLimits,
  PENDING_INDEX_KEY,
  encodeOrgRecord,
  encodePendingRecord,
  namespaceKey,
  namespacePrefixesOf,
  orgKey,
  type RegistryResult,
  changeKey,
  refusal,
  valueRefusal,
} from '@vcr/registry';

export interface GovernanceContext {
  policy: RegistryPolicy;
  backend: CryptoBackend;
  /** The request's signer (hex public key). */
  clientId: string;
  /** Certified block time of the block executing the request. */
  nowMs: bigint;
  /** Organizations of the epoch's membership (replicas and governance), in genesis order: a refusal names the signer by one of them. */
  memberOrgs: readonly string[];
}

type Refused = Extract<RegistryResult, { ok: false }>;

/** Records in the state were written by this executor: one that does not decode is a broken invariant. */
function readOrg(map: MapReader, org: string): OrgRecord | undefined {
  const entry = map.get(orgKey(org));
  if (entry === undefined) return undefined;
  const record = decodeOrgRecord(entry.value);
  assert(record !== undefined, `registry: organization record ${org} is corrupt`);
  return record;
}

function readNamespace(map: MapReader, prefix: string): NamespaceRecord | undefined {
  const entry = map.get(namespaceKey(prefix));
  if (entry === undefined) return undefined;
  const record = decodeNamespaceRecord(entry.value);
  assert(record !== undefined, `registry: namespace record ${prefix} is corrupt`);
  return record;
}

/** The namespace a key belongs to: its longest '/'-terminated prefix that is declared. */
export function namespaceOf(map: MapReader, key: string): { prefix: string; record: NamespaceRecord } | undefined {
  let found: { prefix: string; record: NamespaceRecord } | undefined;
  for (const prefix of namespacePrefixesOf(key)) {
    const record = readNamespace(map, prefix);
    if (record !== undefined) found = { prefix, record };
  }
  return found;
}

/** Organizations (of `orgs`, in order) that list the client among their client keys or admin keys. */
function orgsOfClient(map: MapReader, orgs: readonly string[], clientId: string): string[] {
  return orgs.filter((org) => {
    const record = readOrg(map, org);
    return record !== undefined && (record.clients.includes(clientId) || record.admins.includes(clientId));
  });
}

function isRegistryAdmin(ctx: GovernanceContext): boolean {
  return ctx.policy.admins.includes(ctx.clientId);
}

/**
 * The signer as a refusal names it: its organizations among `named` and the
 * epoch's member organizations (the map has no index from client to
 * organization, and these are the ones a reader knows), else its key's first
 * 16 hex digits. Deterministic: read from the state in a fixed order.
 */
export function signerName(map: MapReader, named: readonly string[], ctx: GovernanceContext): string {
  const orgs = orgsOfClient(map, [...new Set([...named, ...ctx.memberOrgs])], ctx.clientId);
  return orgs.length > 0 ? orgs.join(' and ') : `client ${ctx.clientId.slice(0, 16)}`;
}

// ---- governance ops ----

export function applyGovernanceOp(map: MerkleMapDraft, op: GovernanceOp, ctx: GovernanceContext): { ok: true; map: MerkleMapDraft } | Refused {
  if (op.op === 'org') {
    const existing = readOrg(map, op.org);
    // Registry admins create and change any organization; an organization's own admins change it.
    const allowed = isRegistryAdmin(ctx) || (existing !== undefined && existing.admins.includes(ctx.clientId));
    if (!allowed) return refusal('forbidden', `${signerName(map, [op.org], ctx)} may not change organization ${op.org} (its admins or a registry admin may)`);
    const key = orgKey(op.org);
    const revision = (map.get(key)?.revision ?? 0n) + 1n;
    return { ok: true, map: map.with(key, { value: encodeOrgRecord({ clients: op.clients, admins: op.admins }), revision }) };
  }
  const existing = readNamespace(map, op.prefix);
  const allowed = isRegistryAdmin(ctx) || (existing !== undefined && orgsOfClient(map, existing.admins, ctx.clientId).length > 0);
  if (!allowed) {
    const admins = existing === undefined ? 'a registry admin creates it' : `admins: ${existing.admins.join(', ')}`;
    return refusal('forbidden', `${signerName(map, existing?.admins ?? [], ctx)} may not change namespace ${op.prefix} (${admins})`);
  }
  const named = [op.owner, ...op.writers, ...op.admins, ...(op.approvals?.from ?? [])];
  const unknown = named.find((org) => readOrg(map, org) === undefined);
  if (unknown !== undefined) return refusal('unknown-org', `no organization ${unknown}`);
  const key = namespaceKey(op.prefix);
  const revision = (map.get(key)?.revision ?? 0n) + 1n;
  const { op: _op, prefix: _prefix, ...record } = op;
  return { ok: true, map: map.with(key, { value: encodeNamespaceRecord(record), revision }) };
}

// ---- writes to user keys ----

export type WriteDecision =
  | { kind: 'apply' }
  /** The change needs approvals: record this submission and apply only when the threshold is met. */
  | { kind: 'approval'; namespaces: NamespaceRecord[]; prefixes: string[] }
  | { kind: 'refuse'; refused: Refused };

/** May this client make these changes, with these values? And do they need approvals? */
export function decideWrite(map: MapReader, ops: readonly SingleOp[], ctx: GovernanceContext): WriteDecision {
  const needing = new Map<string, NamespaceRecord>();
  // In a transaction the detail says which key; a single op's key is the one the client sent.
  const at = (key: string) => (ops.length > 1 ? `${key}: ` : '');
  for (const op of ops) {
    const ns = namespaceOf(map, op.key);
    if (ns === undefined) {
      if (ctx.policy.rootWrite === 'closed') return { kind: 'refuse', refused: refusal('unknown-namespace', `${op.key} is under no namespace, and the root is closed`) };
      continue;
    }
    if (orgsOfClient(map, ns.record.writers, ctx.clientId).length === 0) {
      return { kind: 'refuse', refused: refusal('forbidden', `${at(op.key)}${signerName(map, ns.record.writers, ctx)} may not write ${ns.prefix} (writers: ${ns.record.writers.join(', ')})`) };
    }
    if (op.op !== 'delete') {
      const refused = valueRefusal(op.value, ns.record.valueType === 'any' ? undefined : ns.record.valueType);
      if (refused !== undefined) return { kind: 'refuse', refused: refusal(refused.error, `${at(op.key)}${refused.detail}`) };
    }
    if (ns.record.approvals !== null) needing.set(ns.prefix, ns.record);
  }
  return needing.size === 0 ? { kind: 'apply' } : { kind: 'approval', namespaces: [...needing.values()], prefixes: [...needing.keys()] };
}

/** What a pending change still waits for, e.g. `approved by org1; demo/flags/critical/ needs 2 of org1, org2, org3`. */
export function pendingDetail(namespaces: readonly NamespaceRecord[], prefixes: readonly string[], approvals: readonly string[]): string {
  const needs = namespaces.map((n, i) => `${prefixes[i] ?? ''} needs ${n.approvals?.threshold ?? 0} of ${n.approvals?.from.join(', ') ?? ''}`);
  return `approved by ${approvals.length > 0 ? approvals.join(', ') : 'no organization yet'}; ${needs.join('; ')}`;
}


/** The open pending changes, in expiry then key order (absent: none). */
function readPendingIndex(map: MapReader): { entries: PendingIndexEntry[]; revision: bigint } {
  const entry = map.get(PENDING_INDEX_KEY);
  if (entry === undefined) return { entries: [], revision: 0n };
  const entries = decodePendingIndex(entry.value);
  assert(entries !== undefined, 'registry: pending index is corrupt');
  return { entries, revision: entry.revision };
}

function writePendingIndex(map: MerkleMapDraft, entries: readonly PendingIndexEntry[], revision: bigint): MerkleMapDraft {
  if (entries.length === 0) return map.without(PENDING_INDEX_KEY);
  const sorted = [...entries].sort((a, b) => (a.expiresAtMs < b.expiresAtMs ? -1 : a.expiresAtMs > b.expiresAtMs ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return map.with(PENDING_INDEX_KEY, { value: encodePendingIndex(sorted), revision: revision + 1n });
}

/** Who a new pending change counts against: the proposer's first organization among the namespaces' writers and approvers. */
function proposerOf(map: MapReader, namespaces: readonly NamespaceRecord[], ctx: GovernanceContext): string {
  const named = [...new Set(namespaces.flatMap((n) => [...n.writers, ...(n.approvals?.from ?? [])]))];
  return orgsOfClient(map, named, ctx.clientId)[0] ?? `client ${ctx.clientId.slice(0, 16)}`;
}

/**
 * The caps on open pending changes (docs/registry.md section 4): a new proposal first drops the
 * expired ones (their records too), then is refused when its proposer's organization already has
 * `pendingPerOrgMax` open, or the registry `pendingTotalMax`. Undefined when it may be recorded.
 */
function pendingCapRefusal(proposer: string, open: readonly PendingIndexEntry[]): Refused | undefined {
  const own = open.filter((e) => e.proposer === proposer);
  const firstExpiry = (list: readonly PendingIndexEntry[]) => list.reduce((min, e) => (e.expiresAtMs < min ? e.expiresAtMs : min), list[0]?.expiresAtMs ?? 0n);
  if (own.length >= governanceLimits.pendingPerOrgMax) {
    return refusal('pending-limit', `${proposer} has ${own.length} pending changes open, at most ${governanceLimits.pendingPerOrgMax} per organization; the first expires at ${firstExpiry(own)} ms`);
  }
  if (open.length >= governanceLimits.pendingTotalMax) {
    return refusal('pending-limit', `${open.length} pending changes open in the registry, at most ${governanceLimits.pendingTotalMax}; the first expires at ${firstExpiry(open)} ms`);
  }
  return undefined;
}

/**
 * Records this client's organization(s) as approving the change and says whether every namespace's
 * threshold is now met. An expired pending change is replaced by a new proposal. A new proposal
 * is refused (`pending-limit`, nothing recorded) past the caps on open pending changes.
 */
export function recordApproval(
  map: MerkleMapDraft,
  ops: readonly SingleOp[],
  namespaces: readonly NamespaceRecord[],
  ctx: GovernanceContext,
): { map: MerkleMapDraft; met: boolean; key: string; approvals: string[] } | { refused: Refused } {
  const key = changeKey(ctx.backend, ops);
  const stored = map.get(key);
  let pending: PendingRecord | undefined = stored === undefined ? undefined : decodePendingRecord(stored.value);
  assert(stored === undefined || pending !== undefined, 'registry: pending record is corrupt');
  if (pending !== undefined && ctx.nowMs > pending.expiresAtMs) pending = undefined;
  const ttl = namespaces.reduce((min, n) => (n.approvals !== null && n.approvals.ttlMs < min ? n.approvals.ttlMs : min), BigInt(Number.MAX_SAFE_INTEGER));
  const approvers = namespaces.flatMap((n) => n.approvals?.from ?? []);
  const mine = orgsOfClient(map, [...new Set(approvers)], ctx.clientId);
  const approvals = [...(pending?.approvals ?? [])];
  for (const org of mine) if (!approvals.includes(org)) approvals.push(org);
  const met = namespaces.every((n) => n.approvals === null || approvals.filter((org) => n.approvals?.from.includes(org)).length >= n.approvals.threshold);
  const record: PendingRecord = { approvals, proposer: pending?.proposer ?? ctx.clientId, expiresAtMs: pending?.expiresAtMs ?? ctx.nowMs + ttl };
  const revision = (stored?.revision ?? 0n) + 1n;
  const index = readPendingIndex(map);
  if (met) {
    const without = stored === undefined ? map : map.without(key);
    const rest = index.entries.filter((e) => e.key !== key);
    return { map: rest.length === index.entries.length ? without : writePendingIndex(without, rest, index.revision), met, key, approvals };
  }
  if (pending !== undefined) return { map: map.with(key, { value: encodePendingRecord(record), revision }), met, key, approvals };
  // A new proposal (or one replacing an expired change): expired changes leave, then the caps apply.
  const open = index.entries.filter((e) => ctx.nowMs <= e.expiresAtMs && e.key !== key);
  const proposer = proposerOf(map, namespaces, ctx);
  const refused = pendingCapRefusal(proposer, open);
  if (refused !== undefined) return { refused };
  let working = map;
  for (const e of index.entries) if (ctx.nowMs > e.expiresAtMs && e.key !== key) working = working.without(e.key);
  working = working.with(key, { value: encodePendingRecord(record), revision });
  return { map: writePendingIndex(working, [...open, { key, proposer, expiresAtMs: record.expiresAtMs }], index.revision), met, key, approvals };
}
