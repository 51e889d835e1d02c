// The audit console's Next build for the browser tests, one at a time across
// test processes: vitest runs test files in parallel, and two `next build`s
// writing one .next folder break each other. The first test file to get here
// builds (if the build is stale, ops/console.ts decides); the others wait for
// it and then find the build fresh. A lock left by a dead process is taken over.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsoleIfStale } from '../../ops/console';
import { repoRoot } from './run-script';

const LOCK_WAIT_MS_MAX = 300_000;
const lockDir = join(tmpdir(), `vcr-console-build-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}.lock`);

function holderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
  } catch {
    return true; // just created, pid not written yet
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function buildConsoleOnce(): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS_MAX;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!holderAlive()) rmSync(lockDir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`the console build lock ${lockDir} is still held after ${LOCK_WAIT_MS_MAX} ms`);
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    writeFileSync(join(lockDir, 'pid'), String(process.pid));
    buildConsoleIfStale();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
