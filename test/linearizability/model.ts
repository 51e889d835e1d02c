// The sequential specification the checker linearizes against: the registry's
// key-value map as apps/replica/src/registry/state.ts executes it. Each key is
// absent (revision 0) or holds a value at a revision; put and a matching CAS
// set revision + 1, delete removes the key (so its revision is 0 again), and a
// transaction applies its ops in order, all or nothing, failing with the first
// failing op's error. The model is deterministic: a state and an operation give
// one result, so an operation whose outcome is unknown has one possible effect.

export type SingleKvOp =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'cas'; key: string; expectedRevision: bigint; value: string }
  | { kind: 'delete'; key: string };

export type KvOp = SingleKvOp | { kind: 'get'; key: string } | { kind: 'txn'; ops: SingleKvOp[] };

/** The errors that depend on the state; state-independent refusals (malformed, invalid value) change nothing and are left out of histories. */
export type KvRefusal = 'revision-mismatch' | 'absent';

export type KvOutcome =
  /** A write that took effect: one revision per single op, 0 after a delete. */
  | { kind: 'written'; revisions: bigint[] }
  /** A write that was refused by the state (it took no effect). */
  | { kind: 'refused'; error: KvRefusal }
  /** A read: `value` undefined and revision 0 when the key was absent. */
  | { kind: 'read'; value: string | undefined; revision: bigint }
  /** A write whose outcome was never learned (timeout, crash): it may or may not have taken effect, at any time after its invocation. */
  | { kind: 'unknown' };

export interface Cell {
  value: string;
  revision: bigint;
}

/** The state of the keys of one component, keys absent from the map are absent from the registry. */
export type KvState = ReadonlyMap<string, Cell>;

export const emptyState: KvState = new Map();

export function keysOf(op: KvOp): string[] {
  return op.kind === 'txn' ? [...new Set(op.ops.map((o) => o.key))] : [op.key];
}

export function isWrite(op: KvOp): boolean {
  return op.kind !== 'get';
}

type Applied = { ok: true; state: KvState; revisions: bigint[] } | { ok: false; error: KvRefusal };

/** Runs single ops in order on a copy of `state` (registry applyOps). */
export function applyOps(state: KvState, ops: readonly SingleKvOp[]): Applied {
  const working = new Map(state);
  const revisions: bigint[] = [];
  for (const op of ops) {
    const current = working.get(op.key)?.revision ?? 0n;
    switch (op.kind) {
      case 'put':
        working.set(op.key, { value: op.value, revision: current + 1n });
        revisions.push(current + 1n);
        break;
      case 'cas':
        if (current !== op.expectedRevision) return { ok: false, error: 'revision-mismatch' };
        working.set(op.key, { value: op.value, revision: current + 1n });
        revisions.push(current + 1n);
        break;
      case 'delete':
        if (current === 0n) return { ok: false, error: 'absent' };
        working.delete(op.key);
        revisions.push(0n);
        break;
    }
  }
  return { ok: true, state: working, revisions };
}

/**
 * One step of the specification: the state after `op` if `outcome` is what the
 * specification answers in `state`, else undefined.
 */
export function step(state: KvState, op: KvOp, outcome: KvOutcome): KvState | undefined {
  if (op.kind === 'get') {
    if (outcome.kind !== 'read') return undefined;
    const cell = state.get(op.key);
    const matches = cell === undefined ? outcome.value === undefined && outcome.revision === 0n : cell.value === outcome.value && cell.revision === outcome.revision;
    return matches ? state : undefined;
  }
  const applied = applyOps(state, op.kind === 'txn' ? op.ops : [op]);
  switch (outcome.kind) {
    case 'unknown':
      return applied.ok ? applied.state : state;
    case 'written':
      return applied.ok && sameRevisions(applied.revisions, outcome.revisions) ? applied.state : undefined;
    case 'refused':
      return !applied.ok && applied.error === outcome.error ? state : undefined;
    case 'read':
      return undefined;
  }
}

function sameRevisions(a: readonly bigint[], b: readonly bigint[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/** A canonical string of a state, for memoization (keys sorted). */
export function stateKey(state: KvState): string {
  if (state.size === 0) return '';
  if (state.size === 1) {
    const [[key, cell]] = [...state] as [[string, Cell]];
    return `${JSON.stringify(key)}=${cell.revision}:${JSON.stringify(cell.value)}`;
  }
  return [...state.keys()]
    .sort()
    .map((k) => `${JSON.stringify(k)}=${state.get(k)?.revision}:${JSON.stringify(state.get(k)?.value)}`)
    .join(',');
}

export function describeOp(op: KvOp): string {
  switch (op.kind) {
    case 'put':
      return `put ${op.key}=${op.value}`;
    case 'cas':
      return `cas ${op.key}@${op.expectedRevision}=${op.value}`;
    case 'delete':
      return `delete ${op.key}`;
    case 'get':
      return `get ${op.key}`;
    case 'txn':
      return `txn [${op.ops.map((o) => describeOp(o)).join('; ')}]`;
  }
}

export function describeOutcome(outcome: KvOutcome): string {
  switch (outcome.kind) {
    case 'written':
      return `ok rev ${outcome.revisions.join(',')}`;
    case 'refused':
      return outcome.error;
    case 'read':
      return outcome.value === undefined ? 'absent' : `${outcome.value} @${outcome.revision}`;
    case 'unknown':
      return 'unknown';
  }
}

export function describeState(state: KvState): string {
  if (state.size === 0) return '{} (every key absent)';
  return `{ ${[...state.keys()].sort().map((k) => `${k}: ${state.get(k)?.value} @${state.get(k)?.revision}`).join(', ')} }`;
}
