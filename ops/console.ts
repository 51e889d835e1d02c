// Building and serving the audit console (apps/console, Next.js) for
// `npm start` and the browser tests. The build is reused while nothing it is
// made from changed (the console's and the packages' sources are older than
// its BUILD_ID); otherwise it is rebuilt, offline (~15-40 s on 2 cores).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const consoleDir = join(repoRoot, 'apps/console');
const nextBin = join(repoRoot, 'node_modules/next/dist/bin/next');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === '.next') continue;
    const path = join(dir, entry);
    const s = statSync(path);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(path) : s.mtimeMs);
  }
  return newest;
}

/** Builds the console unless its last build is newer than every source it is made from. */
export function buildConsoleIfStale(log: (line: string) => void = () => undefined): void {
  const buildId = join(consoleDir, '.next/BUILD_ID');
  const sources = [join(consoleDir, 'src'), join(consoleDir, 'next.config.mjs'), ...['proofs', 'registry', 'consensus', 'client-sdk'].map((p) => join(repoRoot, 'packages', p, 'src'))];
  const newest = Math.max(...sources.map((s) => (statSync(s).isDirectory() ? newestMtime(s) : statSync(s).mtimeMs)));
  if (existsSync(buildId) && statSync(buildId).mtimeMs > newest) return;
  log('building the audit console (next build)...');
  execFileSync(process.execPath, [nextBin, 'build'], { cwd: consoleDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
}

export interface ConsoleOptions {
  port: number;
  genesisFile: string;
  replicaUrls: readonly string[];
}

/** Serves the built console on 127.0.0.1:port. */
export function spawnConsole(opts: ConsoleOptions): ChildProcess {
  return spawn(process.execPath, [nextBin, 'start', '-H', '127.0.0.1', '-p', String(opts.port)], {
    cwd: consoleDir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', VCR_CONSOLE_GENESIS_FILE: opts.genesisFile, VCR_CONSOLE_REPLICAS: opts.replicaUrls.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function waitForConsole(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/config`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`console at ${url} did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
