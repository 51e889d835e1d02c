// How long `vcr get` takes on this machine (issue 20: under 0.3 s of wall
// time): starts a real 4-replica cluster (random ports, a temporary folder),
// writes one flag through the compiled CLI, then runs `vcr get` N times and
// `node -e ''` N times in alternation, and prints the median and range of
// the wall time and of the CPU time (user + system) of each, with the load
// average before and after. The machine is shared: read `node -e ''` as the
// floor of that minute.
//
//   npx tsx ops/bench/cli-get.ts [runs, default 15]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGenesis } from '../../apps/replica/src/genesis';
import { buildCli, cliOutDir } from '../build/cli.mjs';
import { bootstrapDemoRegistry } from '../demo-registry';
import { prepareLocalCluster, spawnReplica, waitHealthy } from '../local-cluster';
import { freePortRange } from './ports';

// Reports the process's own CPU time as its last stderr line.
const cpuReport = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\ncpu-ms '+((u.user+u.system)/1000).toFixed(1)+'\\n')})`;

function timed(args: string[], env: Record<string, string>): Promise<{ wallMs: number; cpuMs: number; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', cpuReport, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      const wallMs = performance.now() - start;
      const cpuMs = Number(/\ncpu-ms ([0-9.]+)\n$/.exec(stderr)?.[1] ?? NaN);
      resolve({ wallMs, cpuMs, code, stderr });
    });
  });
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  return `median ${median.toFixed(0)} ms (${(sorted[0] as number).toFixed(0)} to ${(sorted[sorted.length - 1] as number).toFixed(0)})`;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 15);
  const dir = mkdtempSync(join(tmpdir(), 'vcr-cli-get-'));
  const basePort = await freePortRange(4);
  const layout = prepareLocalCluster({ dataDir: join(dir, 'data'), basePort, fastKdf: true, chainId: 'vcr-cli-get' });
  const replicas = layout.replicas.map((r) => spawnReplica(layout, r.id));
  try {
    await Promise.all([buildCli(), ...layout.replicas.map((r) => waitHealthy(r.url, 60_000))]);
    await bootstrapDemoRegistry(layout, loadGenesis(layout.genesisFile));
    const env = { VCR_DATA_DIR: layout.dataDir, VCR_BASE_PORT: String(basePort) };
    const bin = join(cliOutDir, 'vcr.js');
    const key = 'demo/flags/cli-get';
    const put = await timed([bin, 'put', key, '{"type":"flag","variants":{"on":true,"off":false},"defaultVariant":"off","rules":[]}'], env);
    if (put.code !== 0) throw new Error(`put failed: ${put.stderr}`);
    const before = loadavg()[0] as number;
    const get: { wallMs: number; cpuMs: number }[] = [];
    const empty: { wallMs: number; cpuMs: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await timed([bin, 'get', key], env);
      if (r.code !== 0) throw new Error(`get failed (exit ${r.code}): ${r.stderr}`);
      get.push(r);
      empty.push(await timed(['-e', ''], {}));
    }
    console.log(`load average ${before.toFixed(2)} before, ${(loadavg()[0] as number).toFixed(2)} after; ${runs} runs each, alternated`);
    console.log(`vcr get     wall ${summary(get.map((r) => r.wallMs))}, CPU ${summary(get.map((r) => r.cpuMs))}`);
    console.log(`node -e ''  wall ${summary(empty.map((r) => r.wallMs))}, CPU ${summary(empty.map((r) => r.cpuMs))}`);
  } finally {
    for (const r of replicas) r.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
