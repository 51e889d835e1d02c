// The registry's rules through the executor (docs/registry.md): organizations,
// namespaces with write ACLs and value types, k-of-m approvals, and the
// genesis policy. Every refused request leaves the state root as it was
// (apart from the client's own reply-cache entry, which every executed
// request updates).

import { describe, expect, it } from 'vitest';
import { bytesToHex, encodeCanonical, nobleBackend } from '@vcr/proofs';
import type { ClientRequest } from '@vcr/consensus';
import { type NamespaceOp, type RegistryOp, type RegistryPolicy, decodeOp, decodePendingIndex, decodeResult, encodeOp, encodeTypedValue, governanceLimits, PENDING_INDEX_KEY, registryLimits } from '@vcr/registry';
import { testCluster } from '@vcr/proofs/testing';
import { genesisRegistryState, readEntry, registryExecutor, type RegistryState, replyCacheKey } from './state';

const GENESIS = testCluster({ n: 4 }).membership;

const ADMIN = 'aa'.repeat(32);
const ALICE = 'a1'.repeat(32); // org1 client
const BOB = 'b0'.repeat(32); // org2 client
const CAROL = 'c0'.repeat(32); // org3 client
const MALLORY = 'ee'.repeat(32); // in no organization

const FLAG = encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off' });
const OTHER_FLAG = encodeTypedValue({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'on' });
const T0 = 1_700_000_000_000n;
const DAY = 86_400_000n;

let nextId = 1n;
function req(clientId: string, op: RegistryOp | Uint8Array): ClientRequest {
  nextId++;
  return { clientId, requestId: nextId, payload: op instanceof Uint8Array ? op : encodeOp(op), signature: new Uint8Array(64) };
}

function setup(policy: RegistryPolicy = { rootWrite: 'closed', admins: [ADMIN] }) {
  const executor = registryExecutor(nobleBackend, policy);
  let state = genesisRegistryState(nobleBackend, GENESIS);
  let seq = 0n;
  const submit = (clientId: string, op: RegistryOp | Uint8Array, nowMs = T0) => {
    seq++;
    const before = state;
    const exec = executor.apply(state, { seq, batch: [req(clientId, op)], timestampMs: nowMs });
    state = exec.state;
    const decoded = decodeResult((exec.replies[0] as { result: Uint8Array }).result);
    if (!decoded.ok) throw new Error('result does not decode');
    return { result: decoded.result, before, after: state, clientId };
  };
  return { submit, state: () => state };
}

/** The state root as it would be without the client's reply-cache entry: refusals must not change anything else. */
function rootWithoutReply(state: RegistryState, clientId: string): string {
  return bytesToHex(state.map.without(replyCacheKey(clientId)).root);
}

function unchanged(r: { before: RegistryState; after: RegistryState; clientId: string }): boolean {
  return rootWithoutReply(r.before, r.clientId) === rootWithoutReply(r.after, r.clientId);
}

const ns = (prefix: string, extra: Partial<NamespaceOp> = {}): NamespaceOp => ({
  op: 'namespace',
  prefix,
  owner: 'org1',
  writers: ['org1'],
  admins: ['org1'],
  valueType: 'any',
  approvals: null,
  ...extra,
});

function bootstrap() {
  const s = setup();
  expect(s.submit(ADMIN, { op: 'org', org: 'org1', clients: [ALICE], admins: [ADMIN] }).result).toEqual({ ok: true, revisions: [] });
  expect(s.submit(ADMIN, { op: 'org', org: 'org2', clients: [BOB], admins: [ADMIN] }).result.ok).toBe(true);
  expect(s.submit(ADMIN, { op: 'org', org: 'org3', clients: [CAROL], admins: [ADMIN] }).result.ok).toBe(true);
  expect(s.submit(ADMIN, ns('payments/flags/', { valueType: 'flag' })).result.ok).toBe(true);
  expect(s.submit(ADMIN, ns('payments/critical/', { writers: ['org1', 'org2', 'org3'], valueType: 'flag', approvals: { threshold: 2, from: ['org1', 'org2', 'org3'], ttlMs: DAY } })).result.ok).toBe(true);
  return s;
}

describe('registry governance: organizations and namespaces', () => {
  it('only registry admins create organizations and namespaces; an unknown organization is refused', () => {
    const s = setup();
    for (const r of [s.submit(MALLORY, { op: 'org', org: 'evil', clients: [MALLORY], admins: [MALLORY] }), s.submit(MALLORY, ns('x/'))]) {
      expect(r.result).toMatchObject({ ok: false, error: 'forbidden' });
      expect(unchanged(r)).toBe(true);
    }
    const unknown = s.submit(ADMIN, ns('x/', { writers: ['nobody'] }));
    expect(unknown.result).toMatchObject({ ok: false, error: 'unknown-org' });
    expect(unchanged(unknown)).toBe(true);
  });

  it("an organization's admin may change it, nobody else's; a namespace admin org may change its namespace", () => {
    const s = bootstrap();
    expect(s.submit(ADMIN, { op: 'org', org: 'org4', clients: [], admins: [BOB] }).result.ok).toBe(true);
    expect(s.submit(BOB, { op: 'org', org: 'org4', clients: [BOB], admins: [BOB] }).result.ok).toBe(true);
    expect(s.submit(CAROL, { op: 'org', org: 'org4', clients: [CAROL], admins: [CAROL] }).result).toMatchObject({ ok: false, error: 'forbidden' });
    expect(s.submit(ALICE, ns('payments/flags/', { writers: ['org1', 'org2'], valueType: 'flag' })).result.ok).toBe(true);
    expect(s.submit(BOB, ns('payments/flags/', { writers: ['org2'], valueType: 'flag' })).result).toMatchObject({ ok: false, error: 'forbidden' });
  });
});

describe('registry governance: writes', () => {
  it('refuses a key under no namespace when the root is closed, and allows it when open', () => {
    const closed = bootstrap().submit(ALICE, { op: 'put', key: 'elsewhere/k', value: FLAG });
    expect(closed.result).toMatchObject({ ok: false, error: 'unknown-namespace' });
    expect(unchanged(closed)).toBe(true);
    const open = setup({ rootWrite: 'open', admins: [] }).submit(MALLORY, { op: 'put', key: 'elsewhere/k', value: FLAG });
    expect(open.result).toEqual({ ok: true, revisions: [1n] });
  });

  it('enforces the write ACL (longest prefix wins) and the value type, all or nothing in a transaction', () => {
    const s = bootstrap();
    const forbidden = s.submit(BOB, { op: 'put', key: 'payments/flags/a', value: FLAG });
    expect(forbidden.result).toMatchObject({ ok: false, error: 'forbidden' });
    expect(unchanged(forbidden)).toBe(true);
    const stranger = s.submit(MALLORY, { op: 'put', key: 'payments/flags/a', value: FLAG });
    expect(stranger.result).toMatchObject({ ok: false, error: 'forbidden' });
    const wrongType = s.submit(ALICE, { op: 'put', key: 'payments/flags/a', value: new TextEncoder().encode('not a flag') });
    expect(wrongType.result).toMatchObject({ ok: false, error: 'wrong-type' });
    expect(unchanged(wrongType)).toBe(true);
    expect(s.submit(ALICE, { op: 'put', key: 'payments/flags/a', value: FLAG }).result).toEqual({ ok: true, revisions: [1n] });
    // One forbidden op fails the whole transaction.
    const mixed = s.submit(ALICE, { op: 'txn', ops: [{ op: 'put', key: 'payments/flags/b', value: FLAG }, { op: 'put', key: 'nowhere/c', value: FLAG }] });
    expect(mixed.result).toMatchObject({ ok: false, error: 'unknown-namespace' });
    expect(unchanged(mixed)).toBe(true);
    expect(readEntry(s.state(), 'payments/flags/b').ok && (readEntry(s.state(), 'payments/flags/b') as { entry: unknown }).entry).toBeUndefined();
    // A stale revision is still refused with its own error, state unchanged.
    const stale = s.submit(ALICE, { op: 'cas', key: 'payments/flags/a', expectedRevision: 5n, value: OTHER_FLAG });
    expect(stale.result).toMatchObject({ ok: false, error: 'revision-mismatch' });
    expect(unchanged(stale)).toBe(true);
  });

  it('a critical change waits for 2 of 3 organizations and then applies atomically', () => {
    const s = bootstrap();
    const change: RegistryOp = { op: 'txn', ops: [{ op: 'put', key: 'payments/critical/kill', value: FLAG }, { op: 'put', key: 'payments/flags/kill-mirror', value: FLAG }] };
    const first = s.submit(ALICE, change);
    expect(first.result).toMatchObject({ ok: false, error: 'pending-approval' });
    expect((readEntry(s.state(), 'payments/critical/kill') as { entry: unknown }).entry).toBeUndefined();
    // The same organization again does not count twice.
    expect(s.submit(ALICE, change).result).toMatchObject({ ok: false, error: 'pending-approval' });
    // A different change from org2 is a different proposal.
    expect(s.submit(BOB, { op: 'put', key: 'payments/critical/kill', value: OTHER_FLAG }).result).toMatchObject({ ok: false, error: 'pending-approval' });
    // org2 submits the same change... but org2 may not write payments/flags/: the whole change is refused.
    expect(s.submit(BOB, change).result).toMatchObject({ ok: false, error: 'forbidden' });
    const alone: RegistryOp = { op: 'put', key: 'payments/critical/kill', value: FLAG };
    expect(s.submit(ALICE, alone).result).toMatchObject({ ok: false, error: 'pending-approval' });
    const approved = s.submit(CAROL, alone);
    expect(approved.result).toEqual({ ok: true, revisions: [1n] });
    expect((readEntry(s.state(), 'payments/critical/kill') as { entry?: { revision: bigint } }).entry?.revision).toBe(1n);
    // Applied once: the same change submitted again starts a new proposal.
    expect(s.submit(BOB, alone).result).toMatchObject({ ok: false, error: 'pending-approval' });
  });

  it('a pending change expires; an approval after the deadline starts over', () => {
    const s = bootstrap();
    const change: RegistryOp = { op: 'put', key: 'payments/critical/late', value: FLAG };
    expect(s.submit(ALICE, change, T0).result).toMatchObject({ ok: false, error: 'pending-approval' });
    expect(s.submit(BOB, change, T0 + DAY + 1n).result).toMatchObject({ ok: false, error: 'pending-approval' });
    expect(s.submit(CAROL, change, T0 + DAY + 2n).result).toEqual({ ok: true, revisions: [1n] });
  });

  it('pending changes are capped per organization: past the cap a new proposal is refused and changes nothing; approvals and other organizations go on', () => {
    const s = bootstrap();
    const max = governanceLimits.pendingPerOrgMax;
    const proposal = (i: number): RegistryOp => ({ op: 'put', key: `payments/critical/k${i}`, value: FLAG });
    for (let i = 0; i < max; i++) expect(s.submit(ALICE, proposal(i)).result).toMatchObject({ ok: false, error: 'pending-approval' });
    const refused = s.submit(ALICE, proposal(max));
    expect(refused.result).toEqual({ ok: false, error: 'pending-limit', detail: `org1 has ${max} pending changes open, at most ${max} per organization; the first expires at ${T0 + DAY} ms` });
    expect(unchanged(refused)).toBe(true);
    // Approving an open change is no new proposal; another organization has its own allowance.
    expect(s.submit(BOB, proposal(0)).result).toEqual({ ok: true, revisions: [1n] });
    expect(s.submit(ALICE, proposal(max)).result).toMatchObject({ ok: false, error: 'pending-approval' });
    expect(s.submit(BOB, proposal(max + 1)).result).toMatchObject({ ok: false, error: 'pending-approval' });
    const index = decodePendingIndex(s.state().map.get(PENDING_INDEX_KEY)?.value ?? new Uint8Array());
    expect(index?.filter((e) => e.proposer === 'org1')).toHaveLength(max);
    expect(index?.filter((e) => e.proposer === 'org2')).toHaveLength(1);
  });

  it('expired pending changes free their slots: the next proposal removes them from the state', () => {
    const s = bootstrap();
    const max = governanceLimits.pendingPerOrgMax;
    for (let i = 0; i < max; i++) s.submit(ALICE, { op: 'put', key: `payments/critical/k${i}`, value: FLAG }, T0);
    const later = T0 + DAY + 1n;
    expect(s.submit(ALICE, { op: 'put', key: 'payments/critical/new', value: FLAG }, later).result).toMatchObject({ ok: false, error: 'pending-approval' });
    const index = decodePendingIndex(s.state().map.get(PENDING_INDEX_KEY)?.value ?? new Uint8Array());
    expect(index?.map((e) => e.expiresAtMs)).toEqual([later + DAY]);
    const pendingKeys = [...s.state().map.entries()].filter(([k]) => k.startsWith('\u0000pending/'));
    expect(pendingKeys).toHaveLength(1);
  });

  it('pending changes are capped in total across organizations', () => {
    const s = setup();
    const orgs = Array.from({ length: governanceLimits.pendingTotalMax / governanceLimits.pendingPerOrgMax + 1 }, (_, i) => ({ org: `spam${i}`, client: (i + 16).toString(16).padStart(2, '0').repeat(32) }));
    for (const o of orgs) expect(s.submit(ADMIN, { op: 'org', org: o.org, clients: [o.client], admins: [ADMIN] }).result.ok).toBe(true);
    const names = orgs.map((o) => o.org);
    expect(s.submit(ADMIN, ns('spam/', { owner: 'spam0', writers: names, admins: ['spam0'], approvals: { threshold: 2, from: names, ttlMs: DAY } })).result.ok).toBe(true);
    let n = 0;
    for (const o of orgs.slice(0, -1)) for (let i = 0; i < governanceLimits.pendingPerOrgMax; i++) expect(s.submit(o.client, { op: 'put', key: `spam/k${n++}`, value: FLAG }).result).toMatchObject({ ok: false, error: 'pending-approval' });
    const last = orgs[orgs.length - 1] as { client: string };
    const refused = s.submit(last.client, { op: 'put', key: 'spam/one-more', value: FLAG });
    expect(refused.result).toEqual({ ok: false, error: 'pending-limit', detail: `${governanceLimits.pendingTotalMax} pending changes open in the registry, at most ${governanceLimits.pendingTotalMax}; the first expires at ${T0 + DAY} ms` });
    expect(unchanged(refused)).toBe(true);
  });

  it('a change that could not apply is refused, not recorded as pending', () => {
    const s = bootstrap();
    const r = s.submit(ALICE, { op: 'cas', key: 'payments/critical/x', expectedRevision: 3n, value: FLAG });
    expect(r.result).toMatchObject({ ok: false, error: 'revision-mismatch' });
    expect(unchanged(r)).toBe(true);
  });

  it('governance ops round-trip and malformed ones are refused by the decoder', () => {
    const op = ns('a/b/', { approvals: { threshold: 1, from: ['org1'], ttlMs: 5n } });
    expect(decodeOp(encodeOp(op))).toEqual({ ok: true, op });
    const bad = (value: Record<string, unknown>) => decodeOp(encodeCanonical({ ...(op as unknown as Record<string, unknown>), approvals: { threshold: 1, from: ['org1'], ttlMs: 5 }, ...value }));
    expect(bad({ prefix: 'no-slash' })).toEqual({ ok: false, reason: 'bad-prefix' });
    expect(bad({ writers: [] })).toEqual({ ok: false, reason: 'bad-list' });
    expect(bad({ valueType: 'banana' })).toEqual({ ok: false, reason: 'bad-value-type' });
    expect(bad({ approvals: { threshold: 2, from: ['org1'], ttlMs: 5 } })).toEqual({ ok: false, reason: 'bad-approvals' });
    expect(decodeOp(encodeCanonical({ op: 'org', org: 'Org!', clients: [], admins: [ADMIN] }))).toEqual({ ok: false, reason: 'bad-org-id' });
    expect(decodeOp(encodeCanonical({ op: 'txn', ops: [{ op: 'org', org: 'o', clients: [], admins: [ADMIN] }] }))).toEqual({ ok: false, reason: 'unknown-op' });
  });
});


describe('registry governance: determinism', () => {
  it('the same ordered requests give the same state root on independent instances (random sequences, both crypto backends)', async () => {
    const fc = (await import('fast-check')).default;
    const { nodeBackend } = await import('@vcr/crypto-node');
    const who = fc.constantFrom(ADMIN, ALICE, BOB, CAROL, MALLORY);
    const key = fc.constantFrom('payments/flags/a', 'payments/critical/k', 'payments/critical/j', 'free/x', 'none');
    const value = fc.constantFrom(FLAG, OTHER_FLAG, new TextEncoder().encode('opaque'));
    const op: import('fast-check').Arbitrary<RegistryOp> = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key, value }),
      fc.record({ op: fc.constant('delete' as const), key }),
      fc.record({ op: fc.constant('cas' as const), key, expectedRevision: fc.bigInt(0n, 3n), value }),
      fc.constant<RegistryOp>({ op: 'org', org: 'org4', clients: [MALLORY], admins: [BOB] }),
      fc.constant<RegistryOp>(ns('free/', { writers: ['org1', 'org2'] })),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(who, op, fc.bigInt(0n, 2n * DAY)), { maxLength: 30 }), (steps) => {
        const roots = [nobleBackend, nodeBackend].map((backend) => {
          const executor = registryExecutor(backend, { rootWrite: 'closed', admins: [ADMIN] });
          let state = bootstrapState(backend);
          steps.forEach(([client, o, dt], i) => {
            state = executor.apply(state, { seq: BigInt(i + 100), batch: [{ clientId: client, requestId: BigInt(1000 + i), payload: encodeOp(o), signature: new Uint8Array(64) }], timestampMs: T0 + dt }).state;
          });
          return bytesToHex(state.map.root);
        });
        expect(roots[0]).toBe(roots[1]);
      }),
      { numRuns: 40 },
    );
  });
});

/** The bootstrap() organizations and namespaces, built directly on an executor of the given backend. */
function bootstrapState(backend: typeof nobleBackend): RegistryState {
  const executor = registryExecutor(backend, { rootWrite: 'closed', admins: [ADMIN] });
  let state = genesisRegistryState(backend, GENESIS);
  const ops: RegistryOp[] = [
    { op: 'org', org: 'org1', clients: [ALICE], admins: [ADMIN] },
    { op: 'org', org: 'org2', clients: [BOB], admins: [ADMIN] },
    { op: 'org', org: 'org3', clients: [CAROL], admins: [ADMIN] },
    ns('payments/flags/', { valueType: 'flag' }),
    ns('payments/critical/', { writers: ['org1', 'org2', 'org3'], valueType: 'flag', approvals: { threshold: 2, from: ['org1', 'org2', 'org3'], ttlMs: DAY } }),
  ];
  ops.forEach((op, i) => {
    state = executor.apply(state, { seq: BigInt(i + 1), batch: [{ clientId: ADMIN, requestId: BigInt(i + 1), payload: encodeOp(op), signature: new Uint8Array(64) }], timestampMs: T0 }).state;
  });
  return state;
}

describe('registry governance: refusals name the rule and the field', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('a malformed flag in a flag namespace is invalid-value with the field, not wrong-type', () => {
    const s = bootstrap();
    const cases: [string, string][] = [
      ['{"type":"flag","defaultVariant":"on"}', 'variants: required'],
      ['{"type":"flag","variants":{"on":true},"defaultVariant":"off"}', 'defaultVariant: variant "off" is not one of the flag\'s variants'],
      ['{"type":"flag","variants":{"on":true},"defaultVariant":"on","colour":"red"}', '$: unknown field "colour"'],
      ['{"type":"flag","variants":{"on":true},"defaultVariant":"on","enabled":"yes"}', 'enabled: expected boolean'],
    ];
    for (const [value, detail] of cases) {
      const r = s.submit(ALICE, { op: 'put', key: 'payments/flags/a', value: bytes(value) });
      expect(r.result).toEqual({ ok: false, error: 'invalid-value', detail });
      expect(unchanged(r)).toBe(true);
    }
    // Another type, or opaque bytes, is the namespace's rule: wrong-type, saying what it takes and what came.
    const pins = s.submit(ALICE, { op: 'put', key: 'payments/flags/a', value: bytes('{"type":"json","value":1}') });
    expect(pins.result).toEqual({ ok: false, error: 'wrong-type', detail: 'the namespace takes flag, the value is json' });
    const opaque = s.submit(ALICE, { op: 'put', key: 'payments/flags/a', value: bytes('not a flag') });
    expect(opaque.result).toEqual({ ok: false, error: 'wrong-type', detail: 'the namespace takes flag, the value is opaque bytes' });
  });

  it('forbidden names the signer (its organization, or its key) and who may write', () => {
    const s = bootstrap();
    expect(s.submit(ADMIN, { op: 'org', org: 'org4', clients: ['d0'.repeat(32)], admins: [ADMIN] }).result.ok).toBe(true);
    expect(s.submit('d0'.repeat(32), { op: 'put', key: 'payments/flags/a', value: FLAG }).result).toEqual({ ok: false, error: 'forbidden', detail: 'org4 may not write payments/flags/ (writers: org1)' });
    expect(s.submit(BOB, { op: 'put', key: 'payments/flags/a', value: FLAG }).result).toEqual({ ok: false, error: 'forbidden', detail: 'org2 may not write payments/flags/ (writers: org1)' });
    expect(s.submit(MALLORY, { op: 'put', key: 'payments/flags/a', value: FLAG }).result).toEqual({ ok: false, error: 'forbidden', detail: 'client eeeeeeeeeeeeeeee may not write payments/flags/ (writers: org1)' });
    expect(s.submit(CAROL, { op: 'org', org: 'org2', clients: [CAROL], admins: [CAROL] }).result).toEqual({ ok: false, error: 'forbidden', detail: 'org3 may not change organization org2 (its admins or a registry admin may)' });
    expect(s.submit(ADMIN, ns('x/', { writers: ['nobody'] })).result).toEqual({ ok: false, error: 'unknown-org', detail: 'no organization nobody' });
  });

  it('a transaction names the key of the op that failed; state rules name what they found', () => {
    const s = bootstrap();
    const txn = s.submit(ALICE, { op: 'txn', ops: [{ op: 'put', key: 'payments/flags/b', value: FLAG }, { op: 'put', key: 'nowhere/c', value: FLAG }] });
    expect(txn.result).toEqual({ ok: false, error: 'unknown-namespace', detail: 'nowhere/c is under no namespace, and the root is closed' });
    expect(s.submit(ALICE, { op: 'cas', key: 'payments/flags/a', expectedRevision: 5n, value: FLAG }).result).toEqual({ ok: false, error: 'revision-mismatch', detail: 'expected revision 5, the key is at 0' });
    expect(s.submit(ALICE, { op: 'delete', key: 'payments/flags/a' }).result).toEqual({ ok: false, error: 'absent', detail: 'payments/flags/a does not exist' });
    expect(s.submit(ALICE, { op: 'put', key: 'payments/critical/k', value: FLAG }).result).toEqual({ ok: false, error: 'pending-approval', detail: 'approved by org1; payments/critical/ needs 2 of org1, org2, org3' });
  });

  it('the detail is bounded: a long key cannot grow the result past resultDetailCharsMax', () => {
    const s = bootstrap();
    const key = `payments/flags/${'k'.repeat(230)}`;
    const r = s.submit(ALICE, { op: 'txn', ops: [{ op: 'put', key: 'payments/flags/x', value: FLAG }, { op: 'put', key, value: bytes('{"type":"flag","defaultVariant":"on"}') }] });
    expect(r.result).toMatchObject({ ok: false, error: 'invalid-value' });
    const detail = (r.result as { detail: string }).detail;
    expect(detail.length).toBe(registryLimits.resultDetailCharsMax);
    expect(detail).toBe(`${key}: variants…`);
  });
});
