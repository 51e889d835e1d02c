// A replica without peers for tests through the real API: a one-replica
// membership (n = 1, f = 0) commits on its own, with a real SQLite file and
// a real HTTP server on a random port.

import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Membership } from '@vcr/proofs';
import type { RegistryPolicy } from '@vcr/registry';
import { createListener } from '../../apps/replica/src/http/server';
import { MemoryKeyStore } from '../../apps/replica/src/keystore';
import { ReplicaNode } from '../../apps/replica/src/replica-node';
import { ReplicaStore } from '../../apps/replica/src/storage/replica-store';

export interface OneReplica {
  membership: Membership;
  node: ReplicaNode;
  url: string;
  /** Stops the node and the server and removes its folder. */
  stop: () => void;
}

export async function startOneReplica(opts: { chainId: string; registryPolicy: RegistryPolicy }): Promise<OneReplica> {
  const dir = mkdtempSync(join(tmpdir(), `${opts.chainId}-`));
  const key = new MemoryKeyStore().generate('replica');
  const membership: Membership = {
    chainId: opts.chainId,
    epoch: 0n,
    f: 0,
    replicas: [{ id: 'r1', organization: 'org1', publicKey: key.publicKey, address: 'http://127.0.0.1:1' }],
    governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key.publicKey }] },
  };
  const node = new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(join(dir, 'replica.sqlite')), tickMs: 5, registryPolicy: opts.registryPolicy });
  const server = createListener(node).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  node.start();
  const stop = () => {
    node.stop();
    server.close();
    node.store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { membership, node, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stop };
}
