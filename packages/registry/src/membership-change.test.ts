import { describe, expect, it } from 'vitest';
import {
  type CanonicalValue,
  type CryptoBackend,
  type Membership,
  type Signer,
  encodeCanonical,
  membershipHash,
  membershipQuorum,
  nobleBackend,
  signInDomain,
} from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { testCluster, testSigner } from '@vcr/proofs/testing';
import {
  type MembershipAction,
  type MembershipApproval,
  type MembershipChange,
  type MembershipOp,
  membershipChangeToCanonical,
  nextMembershipFor,
  signMembershipApproval,
} from './membership-change';
import { membershipChangeLimits } from './limits';
import { decodeOp, decodeResult, encodeOp, encodeResult, opToCanonical, singleOps } from './ops';

const backend = nobleBackend;
const CURRENT: Membership = testCluster({ n: 4 }).membership; // epoch 0, f 1, governance 2 of org1..org3
const ADMINS = { org1: testSigner('admin-org1'), org2: testSigner('admin-org2'), org3: testSigner('admin-org3') };
type Org = keyof typeof ADMINS;

const key = (name: string): Uint8Array => testSigner(name).publicKey;
const add = (i: number): MembershipAction => ({
  action: 'add-replica',
  replica: { id: `r${i}`, organization: `org${i}`, publicKey: key(`new-r${i}`), address: `http://127.0.0.1:${7000 + i}` },
});
const change = (actions: MembershipAction[], epoch = CURRENT.epoch): MembershipChange => ({ epoch, actions });

function approve(c: MembershipChange, orgs: Org[], chainId = CURRENT.chainId): MembershipApproval[] {
  return orgs.map((org) => ({ organization: org, signature: signMembershipApproval(ADMINS[org], chainId, c) }));
}

function next(c: MembershipChange, approvals: MembershipApproval[] = approve(c, ['org1', 'org2']), current = CURRENT) {
  return nextMembershipFor(backend, current, c, approvals);
}

function nextOk(c: MembershipChange, approvals?: MembershipApproval[], current?: Membership): Membership {
  const result = next(c, approvals, current);
  if (!result.ok) throw new Error(`refused: ${result.error}`);
  return result.next;
}

const ALL_ACTIONS: MembershipAction[] = [
  add(5),
  { action: 'remove-replica', id: 'r2' },
  { action: 'rotate-key', id: 'r1', publicKey: key('rotated-r1') },
  { action: 'set-address', id: 'r3', address: 'https://r3.example:7443' },
  { action: 'set-f', f: 1 },
  { action: 'set-governance', governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key('admin2-org1') }] } },
];

describe('the membership op format', () => {
  it('round-trips every action kind and the approvals; it has no single ops; encodeOp is canonical CBOR of opToCanonical', () => {
    const c = change(ALL_ACTIONS);
    const op: MembershipOp = { op: 'membership', change: c, approvals: approve(c, ['org1', 'org3']) };
    const bytes = encodeOp(op);
    expect(bytes).toEqual(encodeCanonical(opToCanonical(op)));
    const decoded = decodeOp(bytes);
    expect(decoded).toEqual({ ok: true, op });
    expect(decoded.ok && singleOps(decoded.op)).toEqual([]);
  });

  it('accepts a change of 16 actions, an empty approval list and a large epoch', () => {
    const c = change(Array.from({ length: membershipChangeLimits.actionsMax }, () => ({ action: 'set-address', id: 'r1', address: '' }) as const), (1n << 63n) - 1n);
    expect(decodeOp(encodeOp({ op: 'membership', change: c, approvals: [] }))).toEqual({ ok: true, op: { op: 'membership', change: c, approvals: [] } });
  });

  const K = new Uint8Array(32).fill(7);
  const SIG = new Uint8Array(64);
  const chg = (actions: CanonicalValue, epoch: CanonicalValue = 0): CanonicalValue => ({ epoch, actions });
  const op = (c: CanonicalValue, approvals: CanonicalValue = []): CanonicalValue => ({ op: 'membership', change: c, approvals });
  const one = (action: CanonicalValue): CanonicalValue => op(chg([action]));
  const replica = (over: Record<string, CanonicalValue> = {}): CanonicalValue => ({ id: 'r9', organization: 'org9', publicKey: K, address: 'http://x', ...over });
  const refusals: [string, CanonicalValue, string][] = [
    ['an extra op field', { ...(op(chg([{ action: 'remove-replica', id: 'r1' }])) as Record<string, CanonicalValue>), why: 'x' }, 'bad-fields'],
    ['a missing approvals field', { op: 'membership', change: chg([{ action: 'remove-replica', id: 'r1' }]) }, 'bad-fields'],
    ['a change that is not a map', op(['x']), 'bad-change'],
    ['a change with an extra field', op({ epoch: 0, actions: [{ action: 'set-f', f: 0 }], note: 'x' }), 'bad-change'],
    ['a negative epoch', op(chg([{ action: 'set-f', f: 0 }], -1)), 'bad-change-epoch'],
    ['an epoch of 2^63', op(chg([{ action: 'set-f', f: 0 }], 1n << 63n)), 'bad-change-epoch'],
    ['an epoch as text', op(chg([{ action: 'set-f', f: 0 }], '0')), 'bad-change-epoch'],
    ['actions that are not a list', op(chg({ action: 'set-f', f: 0 })), 'bad-actions'],
    ['no actions', op(chg([])), 'actions-empty'],
    ['17 actions', op(chg(Array.from({ length: 17 }, () => ({ action: 'set-f', f: 0 })))), 'actions-too-many'],
    ['an action that is not a map', one('set-f'), 'bad-action'],
    ['an unknown action', one({ action: 'set-n', n: 4 }), 'unknown-action'],
    ['an action name that is an inherited property', one({ action: 'toString' }), 'unknown-action'],
    ['an action with an extra field', one({ action: 'remove-replica', id: 'r1', why: 'x' }), 'bad-action'],
    ['an action with a missing field', one({ action: 'rotate-key', id: 'r1' }), 'bad-action'],
    ['an added replica that is not a map', one({ action: 'add-replica', replica: 'r9' }), 'bad-action'],
    ['an added replica with an extra field', one({ action: 'add-replica', replica: replica({ weight: 1 }) }), 'bad-action'],
    ['an empty replica id', one({ action: 'add-replica', replica: replica({ id: '' }) }), 'bad-replica-id'],
    ['a replica id of 65 bytes', one({ action: 'remove-replica', id: 'r'.repeat(65) }), 'bad-replica-id'],
    ['a replica id that is not text', one({ action: 'set-address', id: 1, address: 'x' }), 'bad-replica-id'],
    ['an empty organization', one({ action: 'add-replica', replica: replica({ organization: '' }) }), 'bad-organization'],
    ['an organization of 257 bytes', one({ action: 'add-replica', replica: replica({ organization: 'é'.repeat(128) + 'x' }) }), 'bad-organization'],
    ['a public key of 31 bytes', one({ action: 'add-replica', replica: replica({ publicKey: new Uint8Array(31) }) }), 'bad-public-key'],
    ['a rotated key as text', one({ action: 'rotate-key', id: 'r1', publicKey: 'ab'.repeat(32) }), 'bad-public-key'],
    ['an address of 257 bytes', one({ action: 'set-address', id: 'r1', address: 'a'.repeat(257) }), 'bad-address'],
    ['an address that is not text', one({ action: 'add-replica', replica: replica({ address: 7 }) }), 'bad-address'],
    ['a negative f', one({ action: 'set-f', f: -1 }), 'bad-f'],
    ['an f above what 64 replicas tolerate', one({ action: 'set-f', f: 22 }), 'bad-f'],
    ['a governance with an extra field', one({ action: 'set-governance', governance: { threshold: 1, admins: [{ organization: 'o', publicKey: K }], x: 1 } }), 'bad-governance'],
    ['a governance threshold of 0', one({ action: 'set-governance', governance: { threshold: 0, admins: [{ organization: 'o', publicKey: K }] } }), 'bad-governance'],
    ['a governance without admins', one({ action: 'set-governance', governance: { threshold: 1, admins: [] } }), 'bad-governance'],
    ['a governance of 65 admins', one({ action: 'set-governance', governance: { threshold: 1, admins: Array.from({ length: 65 }, () => ({ organization: 'o', publicKey: K })) } }), 'bad-governance'],
    ['a governance admin with a short key', one({ action: 'set-governance', governance: { threshold: 1, admins: [{ organization: 'o', publicKey: new Uint8Array(33) }] } }), 'bad-public-key'],
    ['approvals that are not a list', op(chg([{ action: 'set-f', f: 0 }]), { organization: 'org1', signature: SIG }), 'bad-approval-list'],
    ['an approval with an extra field', op(chg([{ action: 'set-f', f: 0 }]), [{ organization: 'org1', signature: SIG, key: K }]), 'bad-approval-list'],
    ['65 approvals', op(chg([{ action: 'set-f', f: 0 }]), Array.from({ length: 65 }, () => ({ organization: 'org1', signature: SIG }))), 'approvals-too-many'],
    ['an approval with an empty organization', op(chg([{ action: 'set-f', f: 0 }]), [{ organization: '', signature: SIG }]), 'bad-organization'],
    ['a signature of 63 bytes', op(chg([{ action: 'set-f', f: 0 }]), [{ organization: 'org1', signature: new Uint8Array(63) }]), 'bad-signature-length'],
  ];
  it.each(refusals)('decodeOp refuses %s', (_, value, reason) => {
    expect(decodeOp(encodeCanonical(value))).toEqual({ ok: false, reason });
  });

  it('encodeOp refuses an op that decodeOp would refuse', () => {
    expect(() => encodeOp({ op: 'membership', change: change([]), approvals: [] })).toThrow(RangeError);
    expect(() => encodeOp({ op: 'membership', change: change([{ action: 'set-f', f: -1 }]), approvals: [] })).toThrow(RangeError);
  });

  it('results carry the membership errors', () => {
    for (const error of ['stale-epoch', 'bad-approval', 'approvals-below-threshold', 'invalid-membership-change', 'epoch-change-pending'] as const) {
      expect(decodeResult(encodeResult({ ok: false, error }))).toEqual({ ok: true, result: { ok: false, error } });
    }
  });

  it('an approval is a membership-approval signature over the canonical change, in the change epoch', () => {
    const c = change([add(5)]);
    expect(signMembershipApproval(ADMINS.org1, CURRENT.chainId, c)).toEqual(
      signInDomain(ADMINS.org1, { kind: 'membership-approval', chainId: CURRENT.chainId, epoch: 0n }, membershipChangeToCanonical(c)),
    );
  });
});

describe('nextMembershipFor: the membership of the next epoch', () => {
  it('adding a fifth replica appends it, keeps f = 1 (quorum 4) and moves to epoch 1 on the same chain', () => {
    const n = nextOk(change([add(5)]));
    expect(n.epoch).toBe(1n);
    expect(n.chainId).toBe(CURRENT.chainId);
    expect(n.replicas.map((r) => r.id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(n.replicas[4]?.publicKey).toEqual(key('new-r5'));
    expect(n.f).toBe(1);
    expect(membershipQuorum(n)).toBe(4);
    expect(n.governance).toEqual(CURRENT.governance);
    expect(membershipHash(backend, n)).toHaveLength(32);
  });

  it('growing to seven replicas raises f to 2 (quorum 5)', () => {
    const n = nextOk(change([add(5), add(6), add(7)]));
    expect(n.replicas).toHaveLength(7);
    expect(n.f).toBe(2);
    expect(membershipQuorum(n)).toBe(5);
  });

  it('set-f chooses a lower f than n allows', () => {
    const n = nextOk(change([add(5), add(6), add(7), { action: 'set-f', f: 1 }]));
    expect(n.f).toBe(1);
    expect(membershipQuorum(n)).toBe(5);
  });

  it('removing a replica drops it and recomputes f (4 -> 3 replicas: f = 0)', () => {
    const n = nextOk(change([{ action: 'remove-replica', id: 'r2' }]));
    expect(n.replicas.map((r) => r.id)).toEqual(['r1', 'r3', 'r4']);
    expect(n.f).toBe(0);
  });

  it('rotate-key and set-address change only that replica', () => {
    const n = nextOk(change([{ action: 'rotate-key', id: 'r3', publicKey: key('rotated-r3') }, { action: 'set-address', id: 'r4', address: 'https://r4.example' }]));
    expect(n.replicas[2]).toEqual({ ...CURRENT.replicas[2], publicKey: key('rotated-r3') });
    expect(n.replicas[3]).toEqual({ ...CURRENT.replicas[3], address: 'https://r4.example' });
    expect(n.replicas.slice(0, 2)).toEqual(CURRENT.replicas.slice(0, 2));
  });

  it('set-governance replaces the policy; the next change needs the new admins', () => {
    const governance = { threshold: 1, admins: [{ organization: 'org9', publicKey: key('admin-org9') }] };
    const n = nextOk(change([{ action: 'set-governance', governance }]));
    expect(n.governance).toEqual(governance);
    const later = change([{ action: 'remove-replica', id: 'r4' }], 1n);
    expect(next(later, approve(later, ['org1', 'org2']), n)).toEqual({ ok: false, error: 'bad-approval' });
    const byNewAdmin = [{ organization: 'org9', signature: signMembershipApproval(testSigner('admin-org9'), CURRENT.chainId, later) }];
    expect(nextOk(later, byNewAdmin, n).epoch).toBe(2n);
  });

  it('does not alias the key bytes of the op it came from', () => {
    const c = change([add(5)]);
    const n = nextOk(c);
    (c.actions[0] as { replica: { publicKey: Uint8Array } }).replica.publicKey.fill(0);
    expect(n.replicas[4]?.publicKey).toEqual(key('new-r5'));
  });

  it('gives the same answer on both crypto backends', () => {
    const c = change(ALL_ACTIONS.slice(0, 4));
    const approvals = approve(c, ['org2', 'org3']);
    const a = nextMembershipFor(nobleBackend, CURRENT, c, approvals);
    const b = nextMembershipFor(nodeBackend, CURRENT, c, approvals);
    expect(a).toEqual(b);
    expect(a.ok && membershipHash(nobleBackend, a.next)).toEqual(b.ok && membershipHash(nodeBackend, b.next));
  });
});

describe('nextMembershipFor refusals', () => {
  const c = change([add(5)]);

  it('stale-epoch: a change proposed for another epoch than the current one', () => {
    const old = change([add(5)], 1n);
    expect(next(old, approve(old, ['org1', 'org2']))).toEqual({ ok: false, error: 'stale-epoch' });
  });

  it('approvals-below-threshold: one organization of a 2-of-3 policy', () => {
    expect(next(c, approve(c, ['org1']))).toEqual({ ok: false, error: 'approvals-below-threshold' });
    expect(next(c, [])).toEqual({ ok: false, error: 'approvals-below-threshold' });
  });

  it('bad-approval: an organization that is not a governance admin', () => {
    expect(next(c, [...approve(c, ['org1', 'org2']), { organization: 'org4', signature: signMembershipApproval(testSigner('admin-org4'), CURRENT.chainId, c) }])).toEqual({
      ok: false,
      error: 'bad-approval',
    });
  });

  it('bad-approval: a signature by a key that is not the organization admin (a replica key)', () => {
    const replicaSigner: Signer = testSigner('replica-r1');
    const forged = { organization: 'org1', signature: signMembershipApproval(replicaSigner, CURRENT.chainId, c) };
    expect(next(c, [forged, ...approve(c, ['org2'])])).toEqual({ ok: false, error: 'bad-approval' });
  });

  it('bad-approval: an approval signed for another epoch, another change, another chain or another kind', () => {
    const sameActionsOtherEpoch = change([add(5)], 1n);
    const other = change([add(6)]);
    const forEpoch1 = { organization: 'org1', signature: signMembershipApproval(ADMINS.org1, CURRENT.chainId, sameActionsOtherEpoch) };
    const forOtherChange = { organization: 'org1', signature: signMembershipApproval(ADMINS.org1, CURRENT.chainId, other) };
    const forOtherChain = { organization: 'org1', signature: signMembershipApproval(ADMINS.org1, 'vcr-other', c) };
    const otherKind = { organization: 'org1', signature: signInDomain(ADMINS.org1, { kind: 'client-request', chainId: CURRENT.chainId, epoch: 0n }, membershipChangeToCanonical(c)) };
    for (const approval of [forEpoch1, forOtherChange, forOtherChain, otherKind]) {
      expect(next(c, [approval, ...approve(c, ['org2'])])).toEqual({ ok: false, error: 'bad-approval' });
    }
  });

  it('an organization counts once: naming it twice is refused, even with two different admin keys of its own', () => {
    expect(next(c, [...approve(c, ['org1']), ...approve(c, ['org1'])])).toEqual({ ok: false, error: 'bad-approval' });
    const second = testSigner('admin2-org1');
    const twoKeys: Membership = { ...CURRENT, governance: { threshold: 2, admins: [...CURRENT.governance.admins, { organization: 'org1', publicKey: second.publicKey }] } };
    const both = [...approve(c, ['org1']), { organization: 'org1', signature: signMembershipApproval(second, CURRENT.chainId, c) }];
    expect(next(c, both, twoKeys)).toEqual({ ok: false, error: 'bad-approval' });
    // Either of org1's keys speaks for org1.
    expect(next(c, [{ organization: 'org1', signature: signMembershipApproval(second, CURRENT.chainId, c) }, ...approve(c, ['org3'])], twoKeys).ok).toBe(true);
  });

  const invalid: [string, MembershipAction[]][] = [
    ['removing an unknown id', [{ action: 'remove-replica', id: 'r9' }]],
    ['rotating the key of an unknown id', [{ action: 'rotate-key', id: 'r9', publicKey: key('x') }]],
    ['moving an unknown id', [{ action: 'set-address', id: 'r9', address: 'http://x' }]],
    ['adding an existing id', [{ action: 'add-replica', replica: { id: 'r1', organization: 'org9', publicKey: key('x'), address: '' } }]],
    ['adding an existing key', [{ action: 'add-replica', replica: { id: 'r9', organization: 'org9', publicKey: key('replica-r2'), address: '' } }]],
    ['adding the same new key twice', [add(5), { action: 'add-replica', replica: { id: 'r6', organization: 'org6', publicKey: key('new-r5'), address: '' } }]],
    ['rotating to another replica key', [{ action: 'rotate-key', id: 'r1', publicKey: key('replica-r2') }]],
    ['rotating to its own key', [{ action: 'rotate-key', id: 'r1', publicKey: key('replica-r1') }]],
    ['giving a removed replica key to a new one', [{ action: 'remove-replica', id: 'r4' }, { action: 'add-replica', replica: { id: 'r9', organization: 'org4', publicKey: key('replica-r4'), address: '' } }]],
    ['removing every replica', ['r1', 'r2', 'r3', 'r4'].map((id) => ({ action: 'remove-replica', id }) as const)],
    ['an f that n cannot tolerate (f 2 with 5 replicas)', [add(5), { action: 'set-f', f: 2 }]],
    ['two set-f actions', [{ action: 'set-f', f: 1 }, { action: 'set-f', f: 0 }]],
    ['an id outside the membership id pattern', [{ action: 'add-replica', replica: { id: 'r 9', organization: 'org9', publicKey: key('x'), address: '' } }]],
    ['a governance threshold above its distinct organizations', [{ action: 'set-governance', governance: { threshold: 2, admins: [{ organization: 'o', publicKey: key('a') }, { organization: 'o', publicKey: key('b') }] } }]],
    ['one governance key for two organizations', [{ action: 'set-governance', governance: { threshold: 1, admins: [{ organization: 'o1', publicKey: key('a') }, { organization: 'o2', publicKey: key('a') }] } }]],
    ['two set-governance actions', [ALL_ACTIONS[5] as MembershipAction, ALL_ACTIONS[5] as MembershipAction]],
  ];
  it.each(invalid)('invalid-membership-change: %s', (_, actions) => {
    const bad = change(actions);
    expect(next(bad, approve(bad, ['org1', 'org2']))).toEqual({ ok: false, error: 'invalid-membership-change' });
  });

  it('invalid-membership-change past the last epoch', () => {
    const last: Membership = { ...CURRENT, epoch: (1n << 63n) - 1n };
    const bad = change([add(5)], last.epoch);
    expect(next(bad, approve(bad, ['org1', 'org2']), last)).toEqual({ ok: false, error: 'invalid-membership-change' });
  });

  it('checks no signature before the cheap checks pass', () => {
    let verified = 0;
    const counting: CryptoBackend = { ...nobleBackend, ed25519VerifyPrechecked: (...args) => (verified++, nobleBackend.ed25519VerifyPrechecked(...args)) };
    const bogus = [{ organization: 'org1', signature: approve(c, ['org1'])[0]?.signature ?? new Uint8Array(64) }, { organization: 'org2', signature: new Uint8Array(64).fill(1) }];
    expect(nextMembershipFor(counting, CURRENT, change([add(5)], 3n), bogus)).toEqual({ ok: false, error: 'stale-epoch' });
    expect(nextMembershipFor(counting, CURRENT, c, bogus.slice(0, 1))).toEqual({ ok: false, error: 'approvals-below-threshold' });
    expect(nextMembershipFor(counting, CURRENT, change([{ action: 'remove-replica', id: 'r9' }]), bogus)).toEqual({ ok: false, error: 'invalid-membership-change' });
    expect(verified).toBe(0);
    expect(nextMembershipFor(counting, CURRENT, c, bogus)).toEqual({ ok: false, error: 'bad-approval' });
  });
});
