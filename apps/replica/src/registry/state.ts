// The registry state machine (DESIGN sections 4 and 5), first version: a
// key-value registry with compare-and-set and all-or-nothing transactions.
// A value that claims a typed value type (flag, pins, endpoint, json) must
// satisfy its schema (docs/values.md); other values are opaque bytes.
//
// The state is two immutable values: the authenticated map (user keys, and
// the reply cache under reserved keys so that the cache is certified by the
// state root like everything else) and the compact range of the request log.
// `apply` builds new versions and never touches its input, as the Executor
// contract requires: the core executes speculatively on top of states it may
// later discard.
//
// Execution must be deterministic across replicas: it depends only on the
// state, the sequence number, the block's certified time and the batch; no
// clock, no randomness, no iteration over unordered collections.
//
// The state also carries the membership of its epoch, which approves
// membership changes (DESIGN section 6, docs/registry.md "Membership
// changes"). The first change a block executes ends the epoch with that block:
// the result names the next membership (its hash goes in the header) and the
// returned state is in the next epoch. The state root does not commit to the
// membership: the header's nextMembershipHash and the epoch chain do.

import {
  type CryptoBackend,
  type MapEntry,
  type Membership,
  type MapProof,
  LogFrontier,
  MerkleMapDraft,
  MerkleMapSnapshot,
  assert,
  assertNever,
  checkMembership,
  decodeCanonical,
  encodeCanonical,
  hashLeaf,
  isWellFormedText,
} from '@vcr/proofs';
import { type ClientReply, type ExecutedLeaf, type ExecutionResult, type Executor, isRequestIdAhead } from '@vcr/consensus';
import {
  type KeyRejection,
  type RegistryResult,
  type SingleOp,
  RESERVED_KEY_PREFIX,
  checkUserKey,
  decodeOp,
  encodeResult,
  registryLimits,
  leafForRequest,
  refusal,
  singleOps,
  valueRefusal,
  type RegistryPolicy,
  defaultRegistryPolicy,
  nextMembershipFor,
  PrefixIndexDelta,
  decodePrefixCounts,
  encodePrefixCounts,
  prefixIndexKey,
} from '@vcr/registry';
import { applyGovernanceOp, decideWrite, type GovernanceContext, type MapReader, pendingDetail, recordApproval } from './governance';

export interface RegistryState {
  /** User keys and the reply cache (`replyCacheKey`); its root is the certified state root. */
  readonly map: MerkleMapSnapshot;
  /** One leaf per executed request (`leafForRequest`); its root is the certified log root. */
  readonly log: LogFrontier;
  /** The membership of the epoch this state is in: its governance approves membership changes. */
  readonly membership: Membership;
}

/** The empty registry in epoch `membership.epoch` (the pinned genesis membership). */
export function genesisRegistryState(backend: CryptoBackend, membership: Membership): RegistryState {
  assert(checkMembership(membership) === undefined, 'registry: the genesis membership is not valid');
  return { map: MerkleMapSnapshot.empty(backend), log: LogFrontier.empty(backend), membership };
}

export function registryRoots(state: RegistryState): { stateRoot: Uint8Array; logRoot: Uint8Array; logSize: bigint } {
  return { stateRoot: state.map.root, logRoot: state.log.root(), logSize: state.log.size };
}

// ---- The reply cache ----

const REPLY_KEY_PREFIX = `${RESERVED_KEY_PREFIX}reply/`;

/** The map key holding a client's last reply. */
export function replyCacheKey(clientId: string): string {
  // The core bounds client ids to 128 bytes; a lone surrogate would make two ids share one key.
  assert(clientId.length > 0 && isWellFormedText(clientId), 'registry: client id is not well-formed text');
  return REPLY_KEY_PREFIX + clientId;
}

interface CachedReply {
  requestId: bigint;
  result: Uint8Array;
}

/**
 * Cache entries decoded, by the bytes object the map holds. A client's entry is read three times
 * per request (intake, execution, reply); the map's values are never written in place (a write
 * stores new bytes), so an entry's decoded form stays its own.
 */
const decodedReplies = new WeakMap<Uint8Array, CachedReply>();

function encodeCachedReply(cached: CachedReply): Uint8Array {
  const bytes = encodeCanonical({ requestId: cached.requestId, result: cached.result });
  decodedReplies.set(bytes, { requestId: cached.requestId, result: cached.result });
  return bytes;
}

/** Reads our own state: a cache entry we did not write is a broken invariant. */
function decodeCachedReply(bytes: Uint8Array): CachedReply {
  const known = decodedReplies.get(bytes);
  if (known !== undefined) return known;
  const decoded = decodeCanonical(bytes);
  assert(decoded.ok, 'registry: reply cache entry is not canonical');
  const value = decoded.value;
  assert(typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array), 'registry: reply cache entry is not a map');
  const { requestId, result } = value as { requestId?: unknown; result?: unknown };
  assert(typeof requestId === 'bigint' || typeof requestId === 'number', 'registry: reply cache entry has no request id');
  assert(result instanceof Uint8Array, 'registry: reply cache entry has no result');
  const cached = { requestId: BigInt(requestId), result };
  decodedReplies.set(bytes, cached);
  return cached;
}

function cachedReplyOf(map: MapReader, clientId: string): { cached: CachedReply; revision: bigint } | undefined {
  const entry = map.get(replyCacheKey(clientId));
  return entry === undefined ? undefined : { cached: decodeCachedReply(entry.value), revision: entry.revision };
}

/** The highest request id of `clientId` executed in `state` (undefined before its first): ids at or below it never execute again. */
export function lastExecutedRequestId(state: RegistryState, clientId: string): bigint | undefined {
  return cachedReplyOf(state.map, clientId)?.cached.requestId;
}

// ---- Operations ----

type Refused = Extract<RegistryResult, { ok: false }>;
/** A key an applied request changed, with its presence before and after (the prefix index counts them). */
type TouchedKey = { key: string; wasPresent: boolean; isPresent: boolean };

type OpsOutcome = { ok: true; map: MerkleMapDraft; revisions: bigint[]; touched: TouchedKey[] } | Refused;

function nextRevision(current: bigint): bigint {
  // 2^63 - 1 writes to one key cannot happen; reaching it means the state is corrupt.
  assert(current < registryLimits.revisionMax, 'registry: revision overflow');
  return current + 1n;
}

/**
 * Applies the ops in order on top of `map`; the first failing op fails them all and `map` stays as it was.
 * A value that claims a typed value type must satisfy its schema (docs/values.md): the verdict depends
 * only on the bytes, so every replica agrees; it is checked before the op's state-dependent rules.
 */
function applyOps(map: MerkleMapDraft, ops: readonly SingleOp[]): OpsOutcome {
  let working = map;
  const revisions: bigint[] = [];
  // In a transaction the detail says which key; a single op's key is the one the client sent.
  const at = (key: string) => (ops.length > 1 ? `${key}: ` : '');
  for (const op of ops) {
    const current = working.get(op.key)?.revision ?? 0n;
    if (op.op !== 'delete') {
      const refused = valueRefusal(op.value);
      if (refused !== undefined) return refusal(refused.error, `${at(op.key)}${refused.detail}`);
    }
    switch (op.op) {
      case 'put':
        working = working.with(op.key, { value: op.value, revision: nextRevision(current) });
        revisions.push(current + 1n);
        break;
      case 'cas':
        if (current !== op.expectedRevision) return refusal('revision-mismatch', `${at(op.key)}expected revision ${op.expectedRevision}, the key is at ${current}`);
        working = working.with(op.key, { value: op.value, revision: nextRevision(current) });
        revisions.push(current + 1n);
        break;
      case 'delete':
        if (current === 0n) return refusal('absent', `${op.key} does not exist`);
        working = working.without(op.key);
        revisions.push(0n);
        break;
      default:
        assertNever(op, 'registry op');
    }
  }
  // One change per distinct key, as the key index and the change stream count them (key-index.ts).
  const touched = [...new Set(ops.map((o) => o.key))].map((key) => ({ key, wasPresent: map.has(key), isPresent: working.has(key) }));
  return { ok: true, map: working, revisions, touched };
}

/** The epoch a request executes in: its membership, and the next one if a change earlier in the block already ended it. */
interface EpochContext {
  current: Membership;
  next: Membership | undefined;
}

type PayloadOutcome = { map: MerkleMapDraft; result: RegistryResult; nextMembership?: Membership; touched?: TouchedKey[] };

/**
 * Executes one payload: the new map (unchanged on any error, except a
 * recorded approval), the result, and the next membership when the payload
 * is the membership change that ends the epoch.
 */
function executePayload(map: MerkleMapDraft, payload: Uint8Array, ctx: GovernanceContext, epoch: EpochContext): PayloadOutcome {
  const decoded = decodeOp(payload);
  if (!decoded.ok) {
    if (decoded.reason === 'txn-too-large') return { map, result: refusal('txn-too-large', `at most ${registryLimits.txnOpsMax} ops in a transaction`) };
    return { map, result: refusal('malformed-op', decoded.reason) };
  }
  const op = decoded.op;
  if (op.op === 'membership') {
    // One epoch change per block: the block that executes it is the last of its epoch.
    if (epoch.next !== undefined) return { map, result: refusal('epoch-change-pending', 'an earlier membership change in this block ends the epoch; resubmit for the next one') };
    const changed = nextMembershipFor(ctx.backend, epoch.current, op.change, op.approvals);
    return changed.ok ? { map, result: { ok: true, revisions: [] }, nextMembership: changed.next } : { map, result: { ok: false, error: changed.error } };
  }
  if (op.op === 'org' || op.op === 'namespace') {
    const governed = applyGovernanceOp(map, op, ctx);
    return governed.ok ? { map: governed.map, result: { ok: true, revisions: [] } } : { map, result: governed };
  }
  const ops = singleOps(op);
  const decision = decideWrite(map, ops, ctx);
  if (decision.kind === 'refuse') return { map, result: decision.refused };
  if (decision.kind === 'approval') {
    // Checked before recording: a change that could not apply is not worth approving.
    const preview = applyOps(map, ops);
    if (!preview.ok) return { map, result: preview };
    const approval = recordApproval(map, ops, decision.namespaces, ctx);
    if ('refused' in approval) return { map, result: approval.refused };
    if (!approval.met) return { map: approval.map, result: refusal('pending-approval', pendingDetail(decision.namespaces, decision.prefixes, approval.approvals)) };
    const outcome = applyOps(approval.map, ops);
    if (!outcome.ok) return { map, result: outcome };
    return { map: outcome.map, result: { ok: true, revisions: outcome.revisions }, touched: outcome.touched };
  }
  const outcome = applyOps(map, ops);
  if (!outcome.ok) return { map, result: outcome };
  return { map: outcome.map, result: { ok: true, revisions: outcome.revisions }, touched: outcome.touched };
}

/**
 * Adds a batch's prefix index deltas to the index leaves (docs/merkle-map.md
 * section 8): one map update per prefix the batch touched.
 */
function applyIndexDelta(map: MerkleMapDraft, delta: PrefixIndexDelta): MerkleMapDraft {
  let working = map;
  for (const [prefix, d] of delta.entries()) {
    const key = prefixIndexKey(prefix);
    const entry = working.get(key);
    const before = entry === undefined ? { keys: 0n, changes: 0n } : decodePrefixCounts(entry.value);
    assert(before !== undefined, 'registry: a prefix index leaf does not decode');
    const after = { keys: before.keys + d.keys, changes: before.changes + d.changes };
    assert(after.keys >= 0n, 'registry: a prefix index would count fewer than zero keys');
    working = working.with(key, { value: encodePrefixCounts(after), revision: nextRevision(entry?.revision ?? 0n) });
  }
  return working;
}

// ---- The executor ----

/** The organizations of a membership, replicas then governance admins, each once, in genesis order. */
function memberOrgsOf(membership: Membership): string[] {
  return [...new Set([...membership.replicas.map((r) => r.organization), ...membership.governance.admins.map((a) => a.organization)])];
}

/**
 * The registry as a consensus Executor. Requests run in batch order. A
 * request whose id is not above its client's cached one was executed before
 * (or superseded) and is skipped without a reply; so is one whose id is
 * beyond the request id window at the block's time (@vcr/consensus
 * request-ids.ts), which would otherwise lock its client out. Every executed request,
 * failed or not, updates its client's reply cache and appends one log leaf,
 * so `replies[i]` of a result belongs to log leaf `logSize_before + i`.
 * A membership op is checked against `state.membership`; the first that
 * applies sets the result's `nextMembership` (and the new state's
 * membership), and any later one in the same batch is refused with
 * `epoch-change-pending`.
 */
export function registryExecutor(backend: CryptoBackend, policy: RegistryPolicy = defaultRegistryPolicy): Executor<RegistryState> {
  return {
    apply(state, { seq, batch, timestampMs }): ExecutionResult<RegistryState> {
      // The block's writes go to a draft; its root is computed once, at the end (merkle-map-draft.ts).
      let map = MerkleMapDraft.over(state.map);
      let log = state.log;
      let nextMembership: Membership | undefined;
      const replies: ClientReply[] = [];
      const leaves: ExecutedLeaf[] = [];
      const memberOrgs = memberOrgsOf(state.membership);
      const indexDelta = new PrefixIndexDelta(policy.prefixIndexDepth ?? 0);
      for (const request of batch) {
        assert(typeof request.requestId === 'bigint' && request.requestId >= 0n, 'registry: request id must be a non-negative bigint');
        const previous = cachedReplyOf(map, request.clientId);
        if (previous !== undefined && request.requestId <= previous.cached.requestId) continue; // exactly once
        if (isRequestIdAhead(request.requestId, timestampMs)) continue; // outside the window: no state change
        const executed = executePayload(
          map,
          request.payload,
          { policy, backend, clientId: request.clientId, nowMs: timestampMs, memberOrgs },
          { current: state.membership, next: nextMembership },
        );
        if (executed.nextMembership !== undefined) nextMembership = executed.nextMembership;
        for (const t of executed.touched ?? []) indexDelta.add(t.key, t.wasPresent, t.isPresent);
        const result = encodeResult(executed.result);
        map = executed.map.with(replyCacheKey(request.clientId), {
          value: encodeCachedReply({ requestId: request.requestId, result }),
          revision: nextRevision(previous?.revision ?? 0n),
        });
        const data = leafForRequest(backend, { seq, request, result });
        const hash = hashLeaf(backend, data);
        log = log.append(hash);
        leaves.push({ data, hash });
        replies.push({ clientId: request.clientId, requestId: request.requestId, result });
      }
      if (indexDelta.size > 0) map = applyIndexDelta(map, indexDelta);
      // The block ends the epoch: the state after it is in the next one.
      const next: RegistryState = { map: map.toSnapshot(), log, membership: nextMembership ?? state.membership };
      const result: ExecutionResult<RegistryState> = { state: next, ...registryRoots(next), replies, leaves };
      return nextMembership === undefined ? result : { ...result, nextMembership };
    },

    replyFor(state, clientId, requestId) {
      const previous = cachedReplyOf(state.map, clientId);
      if (previous === undefined || previous.cached.requestId < requestId) return 'unknown';
      if (previous.cached.requestId > requestId) return 'superseded';
      return { clientId, requestId, result: previous.cached.result.slice() };
    },
  };
}

// ---- Reads ----

export type ReadEntryResult = { ok: true; entry: MapEntry | undefined; proof: MapProof } | { ok: false; reason: KeyRejection };

/**
 * A user key's entry (undefined when absent) and its membership or
 * non-membership proof against `state.map.root`. The key is untrusted
 * (it comes from an HTTP query) and is checked by the same rule as writes.
 */
export function readEntry(state: RegistryState, untrustedKey: string): ReadEntryResult {
  const rejection = checkUserKey(untrustedKey);
  if (rejection !== undefined) return { ok: false, reason: rejection };
  return { ok: true, ...state.map.read(untrustedKey) };
}
