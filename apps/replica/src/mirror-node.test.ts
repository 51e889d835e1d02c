// ReplicaNode as a read-only mirror, without a network: it takes no key,
// refuses writes, follows only its upstream, and stops loudly rather than
// sign when a membership lists its id.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Membership } from '@vcr/proofs';
import { MemoryKeyStore } from './keystore';
import { ReplicaNode } from './replica-node';
import { ReplicaStore } from './storage/replica-store';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const keys = new MemoryKeyStore();
const replicaKey = keys.generate('replica');
const membership: Membership = {
  chainId: 'vcr-unit',
  epoch: 0n,
  f: 0,
  replicas: [{ id: 'r1', organization: 'org1', publicKey: replicaKey.publicKey, address: 'http://127.0.0.1:1' }],
  governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: replicaKey.publicKey }] },
};

function store(): ReplicaStore {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-mirror-node-'));
  dirs.push(dir);
  return new ReplicaStore(join(dir, 'replica.sqlite'));
}

const upstream = ['http://127.0.0.1:1', 'http://127.0.0.1:2'];

describe('a mirror node', () => {
  it('runs without a key, reports its upstream, and refuses writes with read-only-mirror', async () => {
    const node = new ReplicaNode({ membership, replicaId: 'mirror-1', mirror: { upstream }, store: store(), tickMs: 5 });
    expect(node.mirrorUpstream?.map((u) => u.url)).toEqual(upstream);
    expect(node.mirrorUpstream?.every((u) => u.claimedHeight === undefined && u.lastAnswerMs === undefined)).toBe(true);
    const request = { clientId: 'a'.repeat(64), requestId: 1n, payload: new Uint8Array([1]), signature: new Uint8Array(64) };
    await expect(node.submit(request)).rejects.toThrow('read-only-mirror');
    expect(node.connectedPeers()).toEqual([]);
    node.stop();
  });

  it('a replica has no mirror status', () => {
    const node = new ReplicaNode({ membership, replicaId: 'r1', key: replicaKey, store: store(), tickMs: 5 });
    expect(node.mirrorUpstream).toBeUndefined();
    node.stop();
  });

  it('a mirror with a key, or a replica without one, is refused', () => {
    expect(() => new ReplicaNode({ membership, replicaId: 'mirror-1', key: replicaKey, mirror: { upstream }, store: store(), tickMs: 5 })).toThrow('a read-only mirror has no key');
    expect(() => new ReplicaNode({ membership, replicaId: 'r9', store: store(), tickMs: 5 })).toThrow('replica r9 needs a key');
  });

  it('a mirror whose id the membership lists stops before it could sign', () => {
    expect(() => new ReplicaNode({ membership, replicaId: 'r1', mirror: { upstream }, store: store(), tickMs: 5 })).toThrow(/read-only mirror r1 is listed as a replica in the membership: a mirror never signs/);
  });
});
