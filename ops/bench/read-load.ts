// The read workload: each client reads random keys written earlier in the
// run. Ours: RegistryClient.get (one RegistryClient per starting replica,
// shared by the workers that start there), which checks the map proof against the
// certified state root and the certificate (cached by header hash after the
// first) before it counts. etcd: `POST /v3/kv/range` with serializable
// true, answered by the member alone like ours (a linearizable etcd read
// would go through the leader), counted on HTTP 200 with one key.

import { RegistryClient } from '@vcr/client-sdk';
import { nodeBackend } from '@vcr/crypto-node';
import type { Membership } from '@vcr/proofs';
import type { Operation } from './closed-loop';
import { rotated } from './write-load';
import { benchFetch } from './transport';

function pick(keys: readonly string[]): string {
  const key = keys[Math.floor(Math.random() * keys.length)];
  if (key === undefined) throw new Error('no keys to read: the write phase committed none');
  return key;
}

/**
 * Our reader: `urls` is one replica (reads from one) or all of them (client c starts at replica c mod n).
 * `epochReplicas` (default `urls`) are the replicas the SDK asks for the newest epoch before it trusts a
 * certificate: f+1 must tell it, so a client reading from one replica still asks the others that once
 * (as a service reading one replica does); otherwise every verified read from one replica fails.
 */
export function vcrReader(membership: Membership, urls: readonly string[], keys: readonly string[], epochReplicas: readonly string[] = urls): (worker: number) => Promise<Operation> {
  // One client per starting replica, shared by every worker that starts there: a service reads through one
  // client, whose trust state (certificates verified, the newest epoch learned, the trusted head) serves all
  // of its concurrent reads, so a block's certificate is verified once, not once per worker.
  const clients = new Map<number, Promise<RegistryClient>>();
  return async (worker) => {
    const first = worker % urls.length;
    let shared = clients.get(first);
    if (shared === undefined) {
      shared = RegistryClient.create({ membership, replicas: rotated(urls, first), epochReplicas, backend: nodeBackend, fetch: benchFetch });
      clients.set(first, shared);
    }
    const client = await shared;
    return async () => {
      const read = await client.get(pick(keys));
      return read.entry !== undefined;
    };
  };
}

/** The same GET without any verification: what the replica can serve, apart from the client's checks. */
export function rawReader(urls: readonly string[], keys: readonly string[]): (worker: number) => Promise<Operation> {
  return async (worker) => {
    const url = urls[worker % urls.length] as string;
    return async () => {
      const res = await benchFetch(`${url}/v1/keys/${encodeURIComponent(pick(keys))}`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      return res.ok;
    };
  };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export function etcdReader(clientUrls: readonly string[], keys: readonly string[]): (worker: number) => Promise<Operation> {
  return async (worker) => {
    const url = `${clientUrls[worker % clientUrls.length]}/v3/kv/range`;
    return async () => {
      const res = await benchFetch(url, { method: 'POST', body: JSON.stringify({ key: b64(pick(keys)), serializable: true }), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { kvs?: unknown[] };
      return res.ok && body.kvs?.length === 1;
    };
  };
}
