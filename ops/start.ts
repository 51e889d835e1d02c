// `npm start`: the local 4-replica cluster on embedded SQLite under ./data
// (VCR_DATA_DIR and VCR_BASE_PORT override), seeded with a small demo
// namespace. Ctrl-C stops every replica cleanly; starting again resumes from disk.
// The audit console is not built yet (see the open issues).

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '@vcr/proofs';
import { loadGenesis } from '../apps/replica/src/genesis';
import { prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from './local-cluster';
import { RegistryClient } from './registry-client';

const dataDir = process.env.VCR_DATA_DIR ?? 'data';
const basePort = Number(process.env.VCR_BASE_PORT ?? 7001);

const DEMO: [string, string][] = [
  ['demo/flags/new-checkout', '{"type":"flag","enabled":false,"rollout":10}'],
  ['demo/flags/dark-mode', '{"type":"flag","enabled":true}'],
  ['demo/pins/api.example.com', '{"type":"pins","sha256":["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]}'],
  ['demo/endpoints/ledger', '{"type":"endpoint","url":"https://ledger.example.internal","region":"eu"}'],
];

async function main(): Promise<void> {
  const layout = prepareLocalCluster({ dataDir, basePort });
  const running: RunningReplica[] = layout.replicas.map((r) => spawnReplica(layout, r.id, (line) => process.env.VCR_VERBOSE ? console.log(`[${r.id}] ${line}`) : undefined));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping replicas...');
    for (const r of running) r.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2_500).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  for (const r of running) {
    r.process.on('exit', (code) => {
      if (!stopping) console.log(`replica ${r.id} exited with code ${code}`);
    });
  }
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));

  const seedFile = join(layout.dataDir, 'demo-client.seed');
  if (!existsSync(seedFile)) writeFileSync(seedFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const membership = loadGenesis(layout.genesisFile);
  const client = new RegistryClient(membership, layout.replicas.map((r) => r.url), Buffer.from(readFileSync(seedFile, 'utf8').trim(), 'hex'));
  const first = await client.read(DEMO[0]![0]);
  if (first.ok && first.value.entry === undefined) {
    const written = await client.write({ op: 'txn', ops: DEMO.map(([key, value]) => ({ op: 'put' as const, key, value: utf8(value) })) });
    console.log(written.ok ? `seeded ${DEMO.length} demo keys at height ${written.value.height} (receipt verified)` : `seeding failed: ${written.reason}`);
  }

  console.log('\nLocal cluster is up (4 replicas, PBFT, f = 1):');
  for (const r of layout.replicas) console.log(`  ${r.id}  ${r.url}   (health ${r.url}/healthz, metrics ${r.url}/metrics)`);
  console.log(`\nData and keys: ${layout.dataDir} (delete it to start from a new genesis)`);
  console.log('Try:  npm run cli -- get demo/flags/new-checkout');
  console.log('      npm run cli -- put demo/flags/dark-mode \'{"type":"flag","enabled":false}\'');
  console.log('The audit console is not built yet. Ctrl-C stops the cluster.');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
