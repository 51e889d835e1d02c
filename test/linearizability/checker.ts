// A linearizability checker for the registry's key-value map (Wing & Gong's
// search with Lowe's memoization, as in Porcupine): find a total order of the
// operations that respects real time (an op that completed before another was
// invoked comes first) and in which every result is what the sequential model
// (./model.ts) answers. The search linearizes one pending operation at a time,
// backtracks when an operation's completion comes before it could be placed,
// and remembers every (set of linearized ops, state) it has seen, so each
// configuration is explored once.
//
// P-compositionality (Herlihy & Wing, "locality"): a history of single-key
// operations is linearizable iff each key's sub-history is, so keys are
// checked one by one. Transactions touch several keys at once and break that
// split, so keys are grouped: any two keys that appear in one transaction are
// in the same component (union-find), and each component is checked jointly
// with its transactions. The fault workload keeps components small by running
// transactions only inside fixed groups of two keys.
//
// Outcomes: a write whose outcome is unknown (timed out, client gave up) has
// no completion: it may be placed anywhere after its invocation, or after
// everything (which is the same as never taking effect, since nothing observes
// it then). A read without an answer says nothing and is dropped.
//
// Work is bounded (CheckLimits): the checker refuses with a CheckerLimitError
// instead of searching for hours on a huge or highly concurrent history.

import { describeOp, describeOutcome, describeState, emptyState, keysOf, type KvOp, type KvOutcome, type KvState, step, stateKey } from './model';

export interface HistoryOp {
  /** Unique in the history. */
  id: number;
  /** The client (process) that ran it; one op at a time per client. */
  client: number;
  op: KvOp;
  /** Monotonic times (ms) of invocation and completion, one clock for the whole history. */
  invokedAt: number;
  /** Undefined exactly when the outcome is unknown. */
  completedAt: number | undefined;
  outcome: KvOutcome;
}

export interface CheckLimits {
  /** Operations in one component (keys checked jointly). */
  opsPerComponentMax: number;
  /** Search steps (attempts to linearize an op, plus backtracks) over the whole history. */
  stepsMax: number;
  /** Memoized configurations times bitset words (memory bound, 4 bytes per word). */
  memoWordsMax: number;
}

export const defaultCheckLimits: CheckLimits = { opsPerComponentMax: 20_000, stepsMax: 20_000_000, memoWordsMax: 32_000_000 };

export class CheckerLimitError extends Error {
  readonly code = 'checker-limit';
  constructor(message: string) {
    super(`linearizability check refused: ${message} (split the history or raise CheckLimits)`);
  }
}

export interface Explanation {
  /** The keys of the component that cannot be linearized. */
  keys: string[];
  /** The operation whose completion came before any legal order could place it. */
  stuck: HistoryOp;
  /** The longest legal prefix the search found before getting stuck (last ops, oldest first). */
  linearizedTail: HistoryOp[];
  /** How many operations that prefix held. */
  linearizedCount: number;
  /** The model state after that prefix. */
  state: string;
  /** The operations that were pending there (concurrent with the stuck one); none of them, in any order, makes it legal. */
  pending: HistoryOp[];
  text: string;
}

export type Verdict =
  | { linearizable: true; components: number; ops: number; steps: number }
  | { linearizable: false; components: number; ops: number; steps: number; failures: Explanation[] };

/** Checks a whole history; the initial state has every key absent unless given. */
export function checkHistory(history: readonly HistoryOp[], limits: CheckLimits = defaultCheckLimits, initial: KvState = emptyState): Verdict {
  const ops = history.filter((h) => !(h.op.kind === 'get' && h.outcome.kind === 'unknown'));
  for (const h of ops) validate(h);
  const components = partition(ops);
  const budget = { steps: 0, limits };
  const failures: Explanation[] = [];
  for (const [keys, member] of components) {
    if (member.length > limits.opsPerComponentMax) throw new CheckerLimitError(`${member.length} operations on keys [${keys.join(', ')}] > ${limits.opsPerComponentMax}`);
    const componentInitial = new Map([...initial].filter(([k]) => keys.includes(k)));
    const failure = checkComponent(keys, member, componentInitial, budget);
    if (failure !== undefined) failures.push(failure);
  }
  const summary = { components: components.length, ops: ops.length, steps: budget.steps };
  return failures.length === 0 ? { linearizable: true, ...summary } : { linearizable: false, ...summary, failures };
}

function validate(h: HistoryOp): void {
  const unknown = h.outcome.kind === 'unknown';
  if (unknown !== (h.completedAt === undefined)) throw new Error(`history op ${h.id}: completedAt must be undefined exactly when the outcome is unknown`);
  if (h.completedAt !== undefined && h.completedAt < h.invokedAt) throw new Error(`history op ${h.id}: completed before it was invoked`);
  if (!unknown && (h.op.kind === 'get') !== (h.outcome.kind === 'read')) throw new Error(`history op ${h.id}: a get has a read outcome and a write has a write outcome`);
}

/** Groups ops by connected keys (keys joined by a transaction), each group in history order. */
function partition(ops: readonly HistoryOp[]): [string[], HistoryOp[]][] {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let root = k;
    while (parent.get(root) !== root) root = parent.get(root) ?? root;
    parent.set(k, root);
    return root;
  };
  for (const h of ops) {
    const keys = keysOf(h.op);
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    for (const k of keys.slice(1)) parent.set(find(k), find(keys[0] as string));
  }
  const groups = new Map<string, { keys: Set<string>; ops: HistoryOp[] }>();
  for (const h of ops) {
    const root = find(keysOf(h.op)[0] as string);
    const group = groups.get(root) ?? { keys: new Set<string>(), ops: [] };
    for (const k of keysOf(h.op)) group.keys.add(k);
    group.ops.push(h);
    groups.set(root, group);
  }
  return [...groups.values()].map((g) => [[...g.keys].sort(), g.ops]);
}

interface Node {
  op: number;
  call: boolean;
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

/** The list of call and return events in time order (calls first on ties: touching ops count as concurrent). */
function buildEvents(ops: readonly HistoryOp[]): Node {
  const events: { node: Node; time: number }[] = [];
  ops.forEach((h, i) => {
    const ret: Node = { op: i, call: false, match: undefined, prev: undefined, next: undefined };
    const call: Node = { op: i, call: true, match: ret, prev: undefined, next: undefined };
    events.push({ node: call, time: h.invokedAt }, { node: ret, time: h.completedAt ?? Number.POSITIVE_INFINITY });
  });
  events.sort((a, b) => a.time - b.time || Number(b.node.call) - Number(a.node.call) || a.node.op - b.node.op);
  const head: Node = { op: -1, call: false, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const { node } of events) {
    last.next = node;
    node.prev = last;
    last = node;
  }
  return head;
}

function lift(entry: Node): void {
  const match = entry.match as Node;
  (entry.prev as Node).next = entry.next;
  (entry.next as Node).prev = entry.prev;
  (match.prev as Node).next = match.next;
  if (match.next !== undefined) match.next.prev = match.prev;
}

function unlift(entry: Node): void {
  const match = entry.match as Node;
  (match.prev as Node).next = match;
  if (match.next !== undefined) match.next.prev = match;
  (entry.prev as Node).next = entry;
  (entry.next as Node).prev = entry;
}

/** FNV-1a of a string, 32 bits. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A fixed pseudo-random 32-bit word per op index (Zobrist hashing of the linearized set). */
function zobrist(i: number): number {
  let x = Math.imul(i + 0x9e3779b9, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function checkComponent(keys: string[], ops: readonly HistoryOp[], initial: KvState, budget: { steps: number; limits: CheckLimits }): Explanation | undefined {
  const head = buildEvents(ops);
  const words = Math.ceil(ops.length / 32) || 1;
  const bits = new Uint32Array(words);
  let setHash = 0;
  const memo = new Map<number, { bits: Uint32Array; state: string }[]>();
  let memoWords = 0;
  const stack: { entry: Node; state: KvState }[] = [];
  let state = initial;
  let deepest: { depth: number; stuck: number; linearized: number[]; state: KvState; pending: number[] } | undefined;

  const seen = (h: number, key: string): boolean => (memo.get(h) ?? []).some((m) => m.state === key && m.bits.every((w, i) => w === bits[i]));

  let entry = head.next;
  while (head.next !== undefined && entry !== undefined) {
    if (++budget.steps > budget.limits.stepsMax) throw new CheckerLimitError(`more than ${budget.limits.stepsMax} search steps (keys [${keys.join(', ')}], ${ops.length} ops)`);
    const h = ops[entry.op] as HistoryOp;
    if (entry.call) {
      const next = step(state, h.op, h.outcome);
      if (next !== undefined) {
        const word = entry.op >>> 5;
        const bit = 1 << (entry.op & 31);
        bits[word] = ((bits[word] as number) | bit) >>> 0;
        const key = stateKey(next);
        const candidateHash = (setHash ^ zobrist(entry.op)) >>> 0;
        const memoHash = (candidateHash ^ hashString(key)) >>> 0;
        if (!seen(memoHash, key)) {
          memoWords += words;
          if (memoWords > budget.limits.memoWordsMax) throw new CheckerLimitError(`memo over ${budget.limits.memoWordsMax} words (keys [${keys.join(', ')}], ${ops.length} ops)`);
          const list = memo.get(memoHash) ?? [];
          list.push({ bits: bits.slice(), state: key });
          memo.set(memoHash, list);
          stack.push({ entry, state });
          state = next;
          setHash = candidateHash;
          lift(entry);
          entry = head.next;
          continue;
        }
        bits[word] = ((bits[word] as number) & ~bit) >>> 0;
      }
      entry = entry.next;
      continue;
    }
    // A completion whose op is not linearized yet: this prefix cannot be extended; backtrack.
    if (deepest === undefined || stack.length > deepest.depth) {
      const pending: number[] = [];
      for (let e: Node | undefined = head.next; e !== undefined && e !== entry; e = e.next) if (e.call) pending.push(e.op);
      deepest = { depth: stack.length, stuck: entry.op, linearized: stack.map((s) => s.entry.op), state, pending };
    }
    const top = stack.pop();
    if (top === undefined) break;
    state = top.state;
    const word = top.entry.op >>> 5;
    bits[word] = ((bits[word] as number) & ~(1 << (top.entry.op & 31))) >>> 0;
    setHash = (setHash ^ zobrist(top.entry.op)) >>> 0;
    unlift(top.entry);
    entry = top.entry.next;
  }
  if (head.next === undefined) return undefined;
  if (deepest === undefined) throw new Error('checker: stuck without a recorded point');
  return explain(keys, ops, deepest);
}

const TAIL_OPS = 6;

function explain(keys: string[], ops: readonly HistoryOp[], d: { stuck: number; linearized: number[]; state: KvState; pending: number[] }): Explanation {
  const at = (i: number) => ops[i] as HistoryOp;
  const stuck = at(d.stuck);
  const linearizedTail = d.linearized.slice(-TAIL_OPS).map(at);
  const pending = d.pending.map(at);
  const text = [
    `keys [${keys.join(', ')}]: cannot order ${describe(stuck)}.`,
    `After the longest legal order found (${d.linearized.length} ops, ending ${linearizedTail.map(describe).join(' → ') || 'nowhere'}) the state is ${describeState(d.state)};`,
    pending.length > 0 ? `no order of the ops still pending then makes it legal: ${pending.map(describe).join('; ')}.` : 'no op was pending then.',
  ].join(' ');
  return { keys, stuck, linearizedTail, linearizedCount: d.linearized.length, state: describeState(d.state), pending, text };
}

export function describe(h: HistoryOp): string {
  const when = h.completedAt === undefined ? `${h.invokedAt.toFixed(1)}..∞` : `${h.invokedAt.toFixed(1)}..${h.completedAt.toFixed(1)}`;
  return `#${h.id} client ${h.client} ${describeOp(h.op)} → ${describeOutcome(h.outcome)} [${when} ms]`;
}
