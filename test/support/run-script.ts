// Runs one of the project's TypeScript commands (ops/...) as its own Node
// process, as an operator or auditor would, and collects its exit code and
// output. Asynchronous, so the test's replicas keep draining their pipes.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `script` relative to the repository root, e.g. 'ops/audit/cli.ts'. */
export function runScript(script: string, args: readonly string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
