// A backup forwards a client request to the primary only, and to every peer
// if it has not committed after a second (docs/protocol.md section 3). Real
// processes: r1, the primary of view 0, censors (it never proposes a batch
// that holds a request); a client that talks only to r2 must still get its
// write committed, which takes the other backups holding the request, timing
// r1 out and moving to a view with an honest primary.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@vcr/client-sdk';
import { nodeFetch } from '@vcr/client-sdk/node';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { FaultCluster } from './faults/cluster';

let cluster: FaultCluster;

beforeAll(async () => {
  cluster = await FaultCluster.start({ byzantine: { id: 'r1', strategy: 'censoring-primary', seed: 1 } });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('client requests reach the backups when the primary ignores them', () => {
  it('a write sent only to a backup commits past a censoring primary, in a later view', async () => {
    const client = await RegistryClient.create({
      membership: cluster.membership,
      // Writes go to r2 alone; the newest epoch is learned from f+1 replicas as always.
      replicas: [cluster.urlOf('r2')],
      epochReplicas: cluster.urls,
      signer: createNodeSigner(randomBytes(32)),
      backend: nodeBackend,
      fetch: nodeFetch(),
      writeTimeoutMs: 10_000,
      writeDeadlineMs: 40_000,
    });
    const receipt = await client.put('demo/forwarded', 'through r2');
    expect(receipt.result.ok).toBe(true);
    const probe = await cluster.probe('r2');
    // r1 never proposed it: only a view change to an honest primary ordered it.
    expect(probe?.view).toBeGreaterThan(0n);
    // r2 sent it to r1 alone first, then (not proposed in time) to every peer, which is what let
    // r3 and r4 time r1 out. Without that relay the write took about 30 s, through retries.
    const metrics = await (await fetch(`${cluster.urlOf('r2')}/metrics`)).text();
    const forwarded = (to: string) => Number(new RegExp(`^vcr_requests_forwarded_total\\{[^}]*to="${to}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    expect(forwarded('primary')).toBeGreaterThanOrEqual(1);
    expect(forwarded('all')).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
