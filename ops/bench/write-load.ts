// The write workload, the same for both systems: each client puts a fresh
// key with a 100-byte value, one after the other. Ours: a signed request
// through the client SDK, which verifies the receipt (certificate, leaf,
// log inclusion) before it counts. etcd: `POST /v3/kv/put` on its JSON
// gateway, counted on HTTP 200. Client c starts at replica (or member)
// c mod n, so the load is spread over the cluster.

import { randomBytes } from 'node:crypto';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import type { Membership } from '@vcr/proofs';
import type { Operation } from './closed-loop';
import { benchFetch } from './transport';

export const valueBytes = 100;
const value = 'v'.repeat(valueBytes);

/** Replica URLs starting at index `first`, then the rest in ring order (the SDK's failover order). */
export function rotated(urls: readonly string[], first: number): string[] {
  const i = first % urls.length;
  return [...urls.slice(i), ...urls.slice(0, i)];
}

/** Our writer for client `worker`; keys that committed are added to `written` (the read phase reads them). */
export function vcrWriter(membership: Membership, urls: readonly string[], tag: string, written: string[]): (worker: number) => Promise<Operation> {
  return async (worker) => {
    const client = await RegistryClient.create({ membership, replicas: rotated(urls, worker), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, fetch: benchFetch });
    return async (i) => {
      const key = `bench/${tag}/${worker}/${i}`;
      const receipt = await client.put(key, value);
      if (receipt.result.ok && written.length < 100_000) written.push(key);
      return receipt.result.ok;
    };
  };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** etcd's writer for client `worker` over the v3 JSON gateway. */
export function etcdWriter(clientUrls: readonly string[], tag: string, written: string[]): (worker: number) => Promise<Operation> {
  return async (worker) => {
    const url = `${clientUrls[worker % clientUrls.length]}/v3/kv/put`;
    return async (i) => {
      const key = `bench/${tag}/${worker}/${i}`;
      const res = await benchFetch(url, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.ok && written.length < 100_000) written.push(key);
      return res.ok;
    };
  };
}
