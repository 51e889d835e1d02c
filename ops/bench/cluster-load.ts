// A closed-loop load generator against a fresh local 4-replica cluster of
// real processes: `concurrency` clients each write signed puts one after the
// other (every receipt verified), for `durationMs`. Prints writes/s and
// latency percentiles per concurrency level. First step of the cluster
// benchmark (issue 9); run: npx tsx ops/bench/cluster-load.ts [1,16,64] [seconds]

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utf8 } from '@vcr/proofs';
import { loadGenesis } from '../../apps/replica/src/genesis';
import { prepareLocalCluster, spawnReplica, waitHealthy } from '../local-cluster';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const levels = (process.argv[2] ?? '1,16,64').split(',').map(Number);
  const durationMs = Number(process.argv[3] ?? '10') * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'vcr-load-'));
  const layout = prepareLocalCluster({ dataDir: dir, basePort: 19_000 + Math.floor(Math.random() * 500) * 4, fastKdf: true, chainId: 'vcr-load' });
  const procs = layout.replicas.map((r) => spawnReplica(layout, r.id, () => undefined));
  try {
    await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
    const membership = loadGenesis(layout.genesisFile);
    const urls = layout.replicas.map((r) => r.url);
    console.log('| clients | writes | writes/s | p50 ms | p99 ms | max ms | failed | requests/block |');
    console.log('|---|---|---|---|---|---|---|---|');
    const counters = async () => {
      const text = await (await fetch(`${urls[0]}/metrics`)).text();
      const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
      return { blocks: read('vcr_blocks_committed_total'), requests: read('vcr_requests_committed_total') };
    };
    for (const clients of levels) {
      const latencies: number[] = [];
      let failed = 0;
      const before = await counters();
      const deadline = Date.now() + durationMs;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          // Each client starts at its own replica, so the load is spread over all four.
          const order = [...urls.slice(c % urls.length), ...urls.slice(0, c % urls.length)];
          const client = await RegistryClient.create({ membership, replicas: order, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
          for (let i = 0; Date.now() < deadline; i++) {
            const t0 = performance.now();
            try {
              const r = await client.put(`load/${clients}/${c}/${i}`, utf8('x'.repeat(100)));
              if (r.result.ok) latencies.push(performance.now() - t0);
              else failed++;
            } catch {
              failed++;
            }
          }
        }),
      );
      const elapsed = (Date.now() - started) / 1000;
      const after = await counters();
      const perBlock = (after.requests - before.requests) / Math.max(1, after.blocks - before.blocks);
      latencies.sort((a, b) => a - b);
      console.log(`| ${clients} | ${latencies.length} | ${(latencies.length / elapsed).toFixed(0)} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 99).toFixed(1)} | ${(latencies.at(-1) ?? NaN).toFixed(1)} | ${failed} | ${perBlock.toFixed(1)} |`);
    }
  } finally {
    for (const p of procs) p.process.kill(process.env.VCR_LOAD_STOP === 'INT' ? 'SIGINT' : 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1_500));
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
