// The replica host without a network: a one-replica membership (n = 1, f = 0)
// commits on its own, so admission control, receipts and recovery can be
// checked deterministically against a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex, hashLeaf, type Membership, signInDomain, signingBytes, verifyCertificate, verifyInclusion } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { type ClientRequest, requestSigningMessage } from '@vcr/consensus';
import { createGuardedSigner, MemoryKeyStore } from './keystore';
import { encodeOp, leafForRequest } from './registry';
import { signMembershipApproval, type MembershipChange } from '@vcr/registry';
import { SignerRefusal } from './keystore';
import { ReplicaNode } from './replica-node';
import { ReplicaStore } from './storage/replica-store';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(othersCount = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-node-'));
  dirs.push(dir);
  const keys = new MemoryKeyStore();
  const key = keys.generate('replica');
  const membership: Membership = {
    chainId: 'vcr-unit',
    epoch: 0n,
    f: othersCount >= 3 ? 1 : 0,
    replicas: [
      { id: 'r1', organization: 'org1', publicKey: key.publicKey, address: 'http://127.0.0.1:1' },
      // Peers that never answer: with them, nothing can commit and requests stay waiting.
      ...Array.from({ length: othersCount }, (_, i) => ({ id: `r${i + 2}`, organization: `org${i + 2}`, publicKey: keys.generate(`other${i}`).publicKey, address: 'http://127.0.0.1:1' })),
    ],
    governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key.publicKey }] },
  };
  const path = join(dir, 'replica.sqlite');
  const open = () => new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(path), tickMs: 5 });
  return { membership, open, key, path };
}

const client = createNodeSigner(new Uint8Array(32).fill(9));
const clientId = bytesToHex(client.publicKey);

function request(membership: Membership, requestId: bigint, key = `k/${requestId}`): ClientRequest {
  const unsigned = { clientId, requestId, payload: encodeOp({ op: 'put', key, value: new TextEncoder().encode('v') }) };
  return { ...unsigned, signature: signInDomain(client, { kind: 'client-request', chainId: membership.chainId, epoch: 0n }, requestSigningMessage(unsigned)) };
}

describe('replica node', () => {
  it('a vote the guard journaled just before a crash is known to the core after restart', () => {
    const { membership, open, key, path } = setup(3);
    const store = new ReplicaStore(path);
    const guarded = createGuardedSigner(key, store, { chainId: membership.chainId });
    guarded.sign(signingBytes({ kind: 'prepare', chainId: membership.chainId, epoch: 0n }, { view: 3n, seq: 1n, headerHash: new Uint8Array(32).fill(1) }));
    store.close();
    const node = open();
    // It resumes at least in the journaled view (waiting for its NEW-VIEW), never below it.
    expect(node.status.view).toBe(3);
    node.stop();
  });

  it('refuses a bad client signature and a ninth waiting request from one client, before any ordering', async () => {
    const { membership, open } = setup(3);
    const node = open();
    const waiting = Array.from({ length: 8 }, (_, i) => node.submit(request(membership, BigInt(i + 1))).catch((e: Error) => e.message));
    await expect(node.submit(request(membership, 100n))).rejects.toThrow('overloaded');
    const stranger = { ...request(membership, 1n), clientId: 'ab'.repeat(32) };
    await expect(node.submit(stranger)).rejects.toThrow('bad-signature');
    node.stop();
    expect(await Promise.all(waiting)).toEqual(Array(8).fill('replica stopping'));
  });

  it('answers with a receipt whose certificate and inclusion proof verify, and recovers it after a restart', async () => {
    const { membership, open } = setup();
    const node = open();
    node.start();
    const req = request(membership, 1n);
    const receipt = await node.submit(req);
    node.stop();
    expect(verifyCertificate(nodeBackend, membership, receipt.block.certificate).ok).toBe(true);
    const leaf = leafForRequest(nodeBackend, { seq: receipt.block.header.height, request: req, result: receipt.reply.result });
    expect(bytesToHex(leaf)).toBe(bytesToHex(receipt.leafData));
    expect(verifyInclusion(nodeBackend, { leafHash: hashLeaf(nodeBackend, leaf), index: receipt.logIndex, size: receipt.block.header.logSize, proof: receipt.inclusionProof, root: receipt.block.header.logRoot }).ok).toBe(true);
    // A restarted node rebuilds state from its file and answers the retried request from it, not by executing again.
    const again = open();
    expect(again.status.committed).toBeGreaterThanOrEqual(Number(receipt.block.header.height));
    const replay = await again.submit(req);
    expect(replay.logIndex).toBe(receipt.logIndex);
    expect(bytesToHex(replay.block.header.stateRoot)).toBe(bytesToHex(receipt.block.header.stateRoot));
  });

  it('a membership change that removes it while it runs: the removal is recorded durably, then onRemoved is called once, and its guard refuses to sign', async () => {
    const { membership, key, path } = setup();
    // One change hands the chain from r1 to r2: r1 certifies the block alone (quorum 1 of epoch 0) and finds itself removed in epoch 1.
    const r2 = new MemoryKeyStore().generate('r2');
    const change: MembershipChange = { epoch: 0n, actions: [{ action: 'add-replica', replica: { id: 'r2', organization: 'org2', publicKey: r2.publicKey, address: 'http://127.0.0.1:1' } }, { action: 'remove-replica', id: 'r1' }] };
    const approvals = [{ organization: 'org1', signature: signMembershipApproval(key, membership.chainId, change) }];
    const calls: bigint[] = [];
    const lines: Record<string, unknown>[] = [];
    const store = new ReplicaStore(path);
    const node = new ReplicaNode({ membership, replicaId: 'r1', key, store, tickMs: 5, log: (l) => lines.push(l), onRemoved: (epoch) => calls.push(epoch) });
    node.start();
    const unsigned = { clientId, requestId: 1n, payload: encodeOp({ op: 'membership', change, approvals }) };
    const receipt = await node.submit({ ...unsigned, signature: signInDomain(client, { kind: 'client-request', chainId: membership.chainId, epoch: 0n }, requestSigningMessage(unsigned)) });
    expect(receipt.block.header.nextMembershipHash).not.toBeNull();
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([1n]);
    expect(store.removedAtEpoch()).toBe(1n);
    expect(lines.filter((l) => l.event === 'removed')).toHaveLength(1);
    expect(await node.metrics.render({ replica: 'r1', view: 0, height: 1 })).toContain('vcr_replica_removed{replica="r1"} 1');
    const guard = createGuardedSigner(key, store, { chainId: membership.chainId });
    expect(() => guard.sign(signingBytes({ kind: 'prepare', chainId: membership.chainId, epoch: 1n }, { view: 0n, seq: 2n, headerHash: new Uint8Array(32) }))).toThrow(SignerRefusal);
    node.stop();
    store.close();

    // After a restart it says so again once, and calls onRemoved at start (config onRemoval 'exit' stops there).
    const again: bigint[] = [];
    const reopened = new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(path), tickMs: 5, onRemoved: (epoch) => again.push(epoch) });
    reopened.start();
    expect(again).toEqual([1n]);
    expect(reopened.status.epoch).toBe(1);
    expect(reopened.status.member).toBe(0);
    reopened.stop();
  });
});
