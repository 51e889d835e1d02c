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
});
