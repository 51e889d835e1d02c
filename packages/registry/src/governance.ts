// Who may write what (docs/registry.md): organizations with their client
// keys, namespaces owned by organizations with write ACLs, a value type and
// optionally k-of-m approvals from distinct organizations. The rules are data
// in the registry itself, under reserved keys, changed by signed requests, so
// they are replicated, certified and audited like every other entry. The
// genesis file only names who may create the first ones (RegistryPolicy).
//
// This file holds the formats (ops, records, policy); the replica's executor
// enforces them (apps/replica/src/registry/governance.ts).

import { type CanonicalValue, decodeCanonical, encodeCanonical, isWellFormedText } from '@vcr/proofs';
import { RESERVED_KEY_PREFIX, checkUserKey } from './keys';
import { governanceLimits, prefixIndexLimits } from './limits';
import { TYPED_VALUE_TYPES } from './values';


const ORG_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const CLIENT_ID = /^[0-9a-f]{64}$/;

/** The value types a namespace may require; 'any' accepts opaque and typed values alike. */
export const NAMESPACE_VALUE_TYPES = ['any', ...TYPED_VALUE_TYPES] as const;
export type NamespaceValueType = (typeof NAMESPACE_VALUE_TYPES)[number];

export interface ApprovalRule {
  /** Distinct organizations, among `from`, that must submit the same change. */
  threshold: number;
  from: string[];
  /** A pending change expires this long after its first proposal (certified block time). */
  ttlMs: bigint;
}

/** `{ op: 'org' }`: creates or replaces an organization's client keys and admin keys. */
export type OrgOp = { op: 'org'; org: string; clients: string[]; admins: string[] };

/** `{ op: 'namespace' }`: creates or replaces the namespace of a key prefix (ending in '/'). */
export type NamespaceOp = {
  op: 'namespace';
  prefix: string;
  owner: string;
  writers: string[];
  admins: string[];
  valueType: NamespaceValueType;
  approvals: ApprovalRule | null;
};

export type GovernanceOp = OrgOp | NamespaceOp;

export interface OrgRecord {
  clients: string[];
  admins: string[];
}

export type NamespaceRecord = Omit<NamespaceOp, 'op' | 'prefix'>;

export interface PendingRecord {
  /** Organizations that submitted this exact change so far, in order. */
  approvals: string[];
  proposer: string;
  expiresAtMs: bigint;
}

/**
 * One open pending change in the pending index: its pending key, the organization (or `client
 * <16 hex>` for a signer of none) that proposed it, and when it expires. The index is kept in
 * expiry order, then key order, so every replica builds the same bytes.
 */
export interface PendingIndexEntry {
  key: string;
  proposer: string;
  expiresAtMs: bigint;
}

/** From the genesis file: who may create organizations and namespaces, and what happens outside any namespace. */
export interface RegistryPolicy {
  /** Keys under no declared namespace: 'open' (any signed client may write) or 'closed' (refused: unknown-namespace). */
  rootWrite: 'open' | 'closed';
  /** Client ids (hex Ed25519 public keys) allowed to create and change any organization or namespace. */
  admins: string[];
  /**
   * Segments of the prefix index (prefix-index.ts, docs/merkle-map.md section 8): 0 keeps no index
   * (what a genesis without the field means, so an existing chain keeps its state roots); views
   * need it at least as deep as their prefix.
   */
  prefixIndexDepth?: number;
}

export const defaultRegistryPolicy: RegistryPolicy = { rootWrite: 'open', admins: [], prefixIndexDepth: 0 };

// ---- reserved keys ----

export const orgKey = (org: string): string => `${RESERVED_KEY_PREFIX}org/${org}`;
export const namespaceKey = (prefix: string): string => `${RESERVED_KEY_PREFIX}ns/${prefix}`;
export const pendingKey = (changeHashHex: string): string => `${RESERVED_KEY_PREFIX}pending/${changeHashHex}`;
/** The one record listing every open pending change (PendingIndexEntry), for the caps. */
export const PENDING_INDEX_KEY = `${RESERVED_KEY_PREFIX}pending-index`;

/** The '/'-terminated prefixes of a key, shortest first: the namespaces it may belong to. */
export function namespacePrefixesOf(key: string): string[] {
  const prefixes: string[] = [];
  for (let i = key.indexOf('/'); i >= 0; i = key.indexOf('/', i + 1)) prefixes.push(key.slice(0, i + 1));
  return prefixes;
}

// ---- validation of untrusted ops (called by ops.ts validateOp) ----

type Fields = Record<string, CanonicalValue>;
export type GovernanceRejection = 'bad-fields' | 'bad-org-id' | 'bad-client-id' | 'bad-list' | 'bad-prefix' | 'bad-value-type' | 'bad-approvals';

function hasExactly(fields: Fields, names: readonly string[]): boolean {
  const present = Object.keys(fields);
  return present.length === names.length && names.every((name) => Object.hasOwn(fields, name));
}

function readList(value: CanonicalValue | undefined, pattern: RegExp, min: number, max: number): string[] | undefined {
  if (!Array.isArray(value) || value.length < min || value.length > max) return undefined;
  const out: string[] = [];
  for (const item of value as readonly CanonicalValue[]) {
    if (typeof item !== 'string' || !pattern.test(item) || out.includes(item)) return undefined;
    out.push(item);
  }
  return out;
}

function readInteger(value: CanonicalValue | undefined): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

function readApprovals(value: CanonicalValue | undefined): ApprovalRule | null | undefined {
  if (value === null) return null;
  if (typeof value !== 'object' || value === undefined || Array.isArray(value) || value instanceof Uint8Array) return undefined;
  const fields = value as Fields;
  if (!hasExactly(fields, ['threshold', 'ttlMs', 'from'])) return undefined;
  const threshold = readInteger(fields.threshold);
  const from = readList(fields.from, ORG_ID, 1, governanceLimits.approvalsThresholdMax);
  const ttlMs = readInteger(fields.ttlMs);
  if (threshold === undefined || from === undefined || ttlMs === undefined) return undefined;
  if (threshold < 1n || threshold > BigInt(from.length) || ttlMs < 1n || ttlMs > BigInt(governanceLimits.approvalTtlMsMax)) return undefined;
  return { threshold: Number(threshold), from, ttlMs };
}

export function validateGovernanceOp(fields: Fields): { ok: true; op: GovernanceOp } | { ok: false; reason: GovernanceRejection } {
  if (fields.op === 'org') {
    if (!hasExactly(fields, ['op', 'org', 'clients', 'admins'])) return { ok: false, reason: 'bad-fields' };
    if (typeof fields.org !== 'string' || !ORG_ID.test(fields.org)) return { ok: false, reason: 'bad-org-id' };
    const clients = readList(fields.clients, CLIENT_ID, 0, governanceLimits.clientsPerOrgMax);
    const admins = readList(fields.admins, CLIENT_ID, 1, governanceLimits.adminsMax);
    if (clients === undefined || admins === undefined) return { ok: false, reason: 'bad-client-id' };
    return { ok: true, op: { op: 'org', org: fields.org, clients, admins } };
  }
  if (!hasExactly(fields, ['op', 'prefix', 'owner', 'writers', 'admins', 'valueType', 'approvals'])) return { ok: false, reason: 'bad-fields' };
  const prefix = fields.prefix;
  if (typeof prefix !== 'string' || !prefix.endsWith('/') || checkUserKey(prefix) !== undefined || new TextEncoder().encode(prefix).length > governanceLimits.prefixBytesMax) {
    return { ok: false, reason: 'bad-prefix' };
  }
  if (typeof fields.owner !== 'string' || !ORG_ID.test(fields.owner)) return { ok: false, reason: 'bad-org-id' };
  const writers = readList(fields.writers, ORG_ID, 1, governanceLimits.orgsPerListMax);
  const admins = readList(fields.admins, ORG_ID, 1, governanceLimits.adminsMax);
  if (writers === undefined || admins === undefined) return { ok: false, reason: 'bad-list' };
  const valueType = NAMESPACE_VALUE_TYPES.find((t) => t === fields.valueType);
  if (valueType === undefined) return { ok: false, reason: 'bad-value-type' };
  const approvals = readApprovals(fields.approvals);
  if (approvals === undefined) return { ok: false, reason: 'bad-approvals' };
  return { ok: true, op: { op: 'namespace', prefix, owner: fields.owner, writers, admins, valueType, approvals } };
}

export function governanceOpToCanonical(op: GovernanceOp): CanonicalValue {
  if (op.op === 'org') return { op: 'org', org: op.org, clients: op.clients, admins: op.admins };
  return {
    op: 'namespace',
    prefix: op.prefix,
    owner: op.owner,
    writers: op.writers,
    admins: op.admins,
    valueType: op.valueType,
    approvals: op.approvals === null ? null : { threshold: op.approvals.threshold, from: op.approvals.from, ttlMs: op.approvals.ttlMs },
  };
}

// ---- records in the state (written by the executor; decoded from certified state) ----

export function encodeOrgRecord(r: OrgRecord): Uint8Array {
  return encodeCanonical({ clients: r.clients, admins: r.admins });
}

export function encodeNamespaceRecord(r: NamespaceRecord): Uint8Array {
  const canonical = governanceOpToCanonical({ op: 'namespace', prefix: 'x/', ...r }) as Fields;
  const { op: _op, prefix: _prefix, ...record } = canonical;
  return encodeCanonical(record);
}

export function encodePendingRecord(r: PendingRecord): Uint8Array {
  return encodeCanonical({ approvals: r.approvals, proposer: r.proposer, expiresAtMs: r.expiresAtMs });
}

function decodeFields(bytes: Uint8Array): Fields | undefined {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok || typeof decoded.value !== 'object' || decoded.value === null || Array.isArray(decoded.value) || decoded.value instanceof Uint8Array) return undefined;
  return decoded.value as Fields;
}

/** Decodes a record read from (certified) state; undefined when it is not one. Never throws. */
export function decodeOrgRecord(bytes: Uint8Array): OrgRecord | undefined {
  const f = decodeFields(bytes);
  const clients = f && readList(f.clients, CLIENT_ID, 0, governanceLimits.clientsPerOrgMax);
  const admins = f && readList(f.admins, CLIENT_ID, 1, governanceLimits.adminsMax);
  return clients && admins ? { clients, admins } : undefined;
}

export function decodeNamespaceRecord(bytes: Uint8Array): NamespaceRecord | undefined {
  const f = decodeFields(bytes);
  if (!f) return undefined;
  const parsed = validateGovernanceOp({ ...f, op: 'namespace', prefix: 'x/' });
  if (!parsed.ok || parsed.op.op !== 'namespace') return undefined;
  const { op: _op, prefix: _prefix, ...record } = parsed.op;
  return record;
}

export function decodePendingRecord(bytes: Uint8Array): PendingRecord | undefined {
  const f = decodeFields(bytes);
  const approvals = f && readList(f.approvals, ORG_ID, 0, governanceLimits.orgsPerListMax);
  const expiresAtMs = f && readInteger(f.expiresAtMs);
  if (!f || !approvals || expiresAtMs === undefined || typeof f.proposer !== 'string' || !CLIENT_ID.test(f.proposer)) return undefined;
  return { approvals, proposer: f.proposer, expiresAtMs };
}

export function encodePendingIndex(entries: readonly PendingIndexEntry[]): Uint8Array {
  return encodeCanonical({ entries: entries.map((e) => ({ key: e.key, proposer: e.proposer, expiresAtMs: e.expiresAtMs })) });
}

export function decodePendingIndex(bytes: Uint8Array): PendingIndexEntry[] | undefined {
  const f = decodeFields(bytes);
  if (!f || !Array.isArray(f.entries) || f.entries.length > governanceLimits.pendingTotalMax) return undefined;
  const out: PendingIndexEntry[] = [];
  for (const item of f.entries as readonly CanonicalValue[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item) || item instanceof Uint8Array) return undefined;
    const e = item as Fields;
    const expiresAtMs = readInteger(e.expiresAtMs);
    if (typeof e.key !== 'string' || typeof e.proposer !== 'string' || expiresAtMs === undefined) return undefined;
    out.push({ key: e.key, proposer: e.proposer, expiresAtMs });
  }
  return out;
}

/** Parses the genesis file's optional `registry` section (JSON); refuses anything unexpected. */
export function parseRegistryPolicy(untrusted: unknown): { ok: true; policy: RegistryPolicy } | { ok: false; reason: string } {
  if (untrusted === undefined) return { ok: true, policy: defaultRegistryPolicy };
  if (typeof untrusted !== 'object' || untrusted === null || Array.isArray(untrusted)) return { ok: false, reason: 'registry must be an object' };
  const { rootWrite, admins, prefixIndexDepth, ...rest } = untrusted as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return { ok: false, reason: `unknown registry fields: ${Object.keys(rest).join(', ')}` };
  if (rootWrite !== 'open' && rootWrite !== 'closed') return { ok: false, reason: 'registry.rootWrite must be "open" or "closed"' };
  if (!Array.isArray(admins) || admins.length > governanceLimits.adminsMax || !admins.every((a) => typeof a === 'string' && CLIENT_ID.test(a) && isWellFormedText(a))) {
    return { ok: false, reason: 'registry.admins must be a list of client ids (64 lowercase hex characters)' };
  }
  const depth = prefixIndexDepth ?? 0;
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0 || depth > prefixIndexLimits.depthMax) {
    return { ok: false, reason: `registry.prefixIndexDepth must be an integer 0..${prefixIndexLimits.depthMax}` };
  }
  return { ok: true, policy: { rootWrite, admins: [...new Set(admins as string[])], prefixIndexDepth: depth } };
}
