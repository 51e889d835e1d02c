// The demo registry `npm start` sets up on a new cluster (docs/registry.md):
// four organizations (org1..org4, each administered by its replica
// operator's admin key from the genesis), namespaces with write ACLs and
// value types, and one namespace whose changes need 2 of 3 organizations.
// Every step is a signed request through the client SDK, ordered and
// certified like any write.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { bytesToHex, type Membership, type Signer } from '@vcr/proofs';
import type { NamespaceOp, OrgOp } from '@vcr/registry';
import { type LocalClusterLayout, openOrgAdminKey } from './local-cluster';

const DAY_MS = 24n * 60n * 60n * 1000n;

/** A client key kept in the data folder (created on first use), like the CLI's. */
export function clientSeedSigner(layout: LocalClusterLayout, name: string): Signer {
  const file = join(layout.dataDir, `${name}.seed`);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return createNodeSigner(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
}

export const DEMO_NAMESPACES: Omit<NamespaceOp, 'op'>[] = [
  { prefix: 'demo/flags/', owner: 'org1', writers: ['org1'], admins: ['org1'], valueType: 'flag', approvals: null },
  {
    prefix: 'demo/flags/critical/',
    owner: 'org1',
    writers: ['org1', 'org2', 'org3'],
    admins: ['org1'],
    valueType: 'flag',
    approvals: { threshold: 2, from: ['org1', 'org2', 'org3'], ttlMs: 7n * DAY_MS },
  },
  { prefix: 'demo/pins/', owner: 'org1', writers: ['org1', 'org2'], admins: ['org1'], valueType: 'pins', approvals: null },
  { prefix: 'demo/endpoints/', owner: 'org1', writers: ['org1'], admins: ['org1'], valueType: 'endpoint', approvals: null },
];

/** Creates the demo organizations and namespaces; the demo and CLI clients become org1's clients. */
export async function bootstrapDemoRegistry(layout: LocalClusterLayout, membership: Membership): Promise<void> {
  const admin = await RegistryClient.create({ membership, replicas: layout.replicas.map((r) => r.url), signer: openOrgAdminKey(layout, 1), backend: nodeBackend });
  const members = [clientSeedSigner(layout, 'demo-client'), clientSeedSigner(layout, 'cli-client')].map((s) => bytesToHex(s.publicKey));
  for (const [i] of membership.replicas.entries()) {
    const org: OrgOp = { op: 'org', org: `org${i + 1}`, clients: i === 0 ? members : [], admins: [bytesToHex(openOrgAdminKey(layout, i + 1).publicKey)] };
    const receipt = await admin.submit(org);
    if (!receipt.result.ok) throw new Error(`creating ${org.org} refused: ${receipt.result.error}`);
  }
  for (const ns of DEMO_NAMESPACES) {
    const receipt = await admin.submit({ op: 'namespace', ...ns });
    if (!receipt.result.ok) throw new Error(`creating namespace ${ns.prefix} refused: ${receipt.result.error}`);
  }
}
