// Membership changes through the executor (docs/registry.md "Membership
// changes"): the first change a block executes ends the epoch (the result
// names the next membership and the new state is in it), a second one in the
// same block is refused, and a refused change is an ordinary failed request.

import { describe, expect, it } from 'vitest';
import { type Membership, bytesToHex, membershipHash, membershipQuorum, nobleBackend, utf8 } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { testCluster, testSigner } from '@vcr/proofs/testing';
import type { ClientRequest, ExecutionResult } from '@vcr/consensus';
import { type MembershipAction, type MembershipChange, type RegistryOp, type RegistryResult, decodeResult, encodeOp, signMembershipApproval } from '@vcr/registry';
import { type RegistryState, genesisRegistryState, registryExecutor, replyCacheKey } from './state';

const backend = nobleBackend;
const executor = registryExecutor(backend);
const GENESIS: Membership = testCluster({ n: 4 }).membership; // governance: 2 of org1..org3
const ADMINS = { org1: testSigner('admin-org1'), org2: testSigner('admin-org2'), org3: testSigner('admin-org3') };
const T0 = 1_700_000_000_000n;

const addReplica = (i: number): MembershipAction => ({
  action: 'add-replica',
  replica: { id: `r${i}`, organization: `org${i}`, publicKey: testSigner(`new-r${i}`).publicKey, address: `http://127.0.0.1:${7000 + i}` },
});

function membershipOp(actions: MembershipAction[], epoch = 0n, orgs: (keyof typeof ADMINS)[] = ['org1', 'org2'], chainId = GENESIS.chainId): RegistryOp {
  const change: MembershipChange = { epoch, actions };
  return { op: 'membership', change, approvals: orgs.map((org) => ({ organization: org, signature: signMembershipApproval(ADMINS[org], chainId, change) })) };
}

function request(clientId: string, requestId: bigint, op: RegistryOp): ClientRequest {
  return { clientId, requestId, payload: encodeOp(op), signature: new Uint8Array(64) };
}

function run(state: RegistryState, batch: ClientRequest[], seq = 1n, ex = executor): ExecutionResult<RegistryState> {
  return ex.apply(state, { seq, batch, timestampMs: T0 });
}

function results(exec: ExecutionResult<RegistryState>): RegistryResult[] {
  return exec.replies.map((reply) => {
    const decoded = decodeResult(reply.result);
    if (!decoded.ok) throw new Error(decoded.reason);
    return decoded.result;
  });
}

const put = (key: string): RegistryOp => ({ op: 'put', key, value: utf8('v') });

describe('the executor and membership changes', () => {
  it('a block with a membership change reports the next membership, and its new state is in it', () => {
    const genesis = genesisRegistryState(backend, GENESIS);
    const exec = run(genesis, [request('c1', 1n, membershipOp([addReplica(5)]))]);
    expect(results(exec)).toEqual([{ ok: true, revisions: [] }]);
    const next = exec.nextMembership;
    expect(next).toBeDefined();
    expect(next).toEqual({ ...GENESIS, epoch: 1n, replicas: [...GENESIS.replicas, (addReplica(5) as { replica: Membership['replicas'][number] }).replica] });
    expect(next?.f).toBe(1);
    expect(next && membershipQuorum(next)).toBe(4);
    expect(exec.state.membership).toBe(next);
    expect(genesis.membership).toBe(GENESIS);
    // Hash-able, and the same bytes on either backend.
    const onNode = run(genesisRegistryState(nodeBackend, GENESIS), [request('c1', 1n, membershipOp([addReplica(5)]))], 1n, registryExecutor(nodeBackend));
    expect(onNode.nextMembership && bytesToHex(membershipHash(nodeBackend, onNode.nextMembership))).toBe(next && bytesToHex(membershipHash(backend, next)));
  });

  it('a block without a membership change has no nextMembership and stays in its epoch', () => {
    const genesis = genesisRegistryState(backend, GENESIS);
    const exec = run(genesis, [request('c1', 1n, put('a'))]);
    expect('nextMembership' in exec).toBe(false);
    expect(exec.state.membership).toBe(GENESIS);
  });

  it('a second membership change in the same block is refused with epoch-change-pending; other requests still run', () => {
    const genesis = genesisRegistryState(backend, GENESIS);
    const exec = run(genesis, [
      request('c1', 1n, membershipOp([addReplica(5)])),
      request('c2', 1n, membershipOp([addReplica(6)])),
      request('c3', 1n, put('after')),
    ]);
    expect(results(exec)).toMatchObject([{ ok: true, revisions: [] }, { ok: false, error: 'epoch-change-pending' }, { ok: true, revisions: [1n] }]);
    expect(exec.nextMembership?.replicas.map((r) => r.id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(exec.state.map.get('after')?.revision).toBe(1n);
    expect(exec.logSize).toBe(3n);
  });

  it('a refused change before an accepted one does not block it', () => {
    const genesis = genesisRegistryState(backend, GENESIS);
    const exec = run(genesis, [request('c1', 1n, membershipOp([addReplica(5)], 0n, ['org1'])), request('c2', 1n, membershipOp([addReplica(6)]))]);
    expect(results(exec)).toEqual([{ ok: false, error: 'approvals-below-threshold' }, { ok: true, revisions: [] }]);
    expect(exec.nextMembership?.replicas.map((r) => r.id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r6']);
  });

  it('the same batch applied twice to the same state gives the same roots and the same next membership', () => {
    const genesis = genesisRegistryState(backend, GENESIS);
    const batch = [request('c1', 1n, put('a')), request('c2', 1n, membershipOp([addReplica(5), addReplica(6), addReplica(7)])), request('c3', 1n, membershipOp([addReplica(8)]))];
    const first = run(genesis, batch);
    const second = run(genesis, batch);
    expect(second.stateRoot).toEqual(first.stateRoot);
    expect(second.logRoot).toEqual(first.logRoot);
    expect(second.replies).toEqual(first.replies);
    expect(second.nextMembership).toEqual(first.nextMembership);
    expect(first.nextMembership?.f).toBe(2);
    expect(first.nextMembership && membershipQuorum(first.nextMembership)).toBe(5);
  });

  it('a refused change changes the roots exactly as any failed request: its reply-cache entry and its log leaf', () => {
    const genesis = genesisRegistryState(backend, GENESIS);
    const refusals: [RegistryOp, string][] = [
      [membershipOp([addReplica(5)], 1n), 'stale-epoch'],
      [membershipOp([addReplica(5)], 0n, ['org1']), 'approvals-below-threshold'],
      [membershipOp([addReplica(5)], 0n, ['org1', 'org2'], 'vcr-other'), 'bad-approval'],
      [membershipOp([{ action: 'remove-replica', id: 'r9' }]), 'invalid-membership-change'],
    ];
    for (const [op, error] of refusals) {
      const refused = run(genesis, [request('c1', 1n, op)]);
      expect(results(refused)).toEqual([{ ok: false, error }]);
      expect('nextMembership' in refused).toBe(false);
      expect(refused.state.membership).toBe(GENESIS);
      expect(refused.logSize).toBe(1n);
      // Without the client's reply-cache entry, the map is the genesis map.
      expect(refused.state.map.without(replyCacheKey('c1')).root).toEqual(genesis.map.root);
      // The same as a failed delete whose reply cache holds the same result.
      const failedDelete = run(genesis, [request('c1', 1n, { op: 'delete', key: 'absent' })]);
      expect(refused.state.map.without(replyCacheKey('c1')).root).toEqual(failedDelete.state.map.without(replyCacheKey('c1')).root);
      expect(executor.replyFor(refused.state, 'c1', 1n)).toEqual(refused.replies[0]);
    }
  });

  it('after the epoch ends, changes are approved by the new epoch: an old-epoch change is stale, a new one applies', () => {
    const governance = { threshold: 1, admins: [{ organization: 'org9', publicKey: testSigner('admin-org9').publicKey }] };
    const first = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, membershipOp([{ action: 'set-governance', governance }]))]);
    const epoch1 = first.state;
    expect(epoch1.membership.epoch).toBe(1n);
    expect(results(run(epoch1, [request('c1', 2n, membershipOp([addReplica(5)]))], 2n))).toEqual([{ ok: false, error: 'stale-epoch' }]);
    expect(results(run(epoch1, [request('c1', 2n, membershipOp([addReplica(5)], 1n))], 2n))).toEqual([{ ok: false, error: 'bad-approval' }]);
    const change: MembershipChange = { epoch: 1n, actions: [addReplica(5)] };
    const byNewAdmin: RegistryOp = { op: 'membership', change, approvals: [{ organization: 'org9', signature: signMembershipApproval(testSigner('admin-org9'), GENESIS.chainId, change) }] };
    const second = run(epoch1, [request('c1', 2n, byNewAdmin)], 2n);
    expect(results(second)).toEqual([{ ok: true, revisions: [] }]);
    expect(second.nextMembership?.epoch).toBe(2n);
    expect(second.state.membership.replicas).toHaveLength(5);
  });

  it('a replayed membership request is skipped like any other (exactly once)', () => {
    const op = membershipOp([addReplica(5)]);
    const first = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, op)]);
    const replay = run(first.state, [request('c1', 1n, op)], 2n);
    expect(replay.replies).toEqual([]);
    expect('nextMembership' in replay).toBe(false);
    expect(replay.stateRoot).toEqual(first.stateRoot);
  });
});
