// The compiled `vcr` bin as a user runs it: built once per test file into a
// folder of its own (ops/build/cli.mjs), then run with plain `node`, no
// TypeScript loader, so what is tested is what ships.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../../ops/build/cli.mjs';
import type { ScriptRun } from './run-script';

let built: Promise<string> | undefined;

/** Builds the bin once for this test file; returns its path. */
export function buildCliOnce(): Promise<string> {
  built ??= buildCli(join(mkdtempSync(join(tmpdir(), 'vcr-cli-bin-')), 'cli'));
  return built;
}

export interface TimedRun extends ScriptRun {
  /** The whole process, start to exit. */
  wallMs: number;
}

/** A preload that reports the process's own CPU time (user + system) when it exits, as the last stderr line. */
const cpuReport = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\ncpu-ms '+((u.user+u.system)/1000).toFixed(1)+'\\n')})`;

/** The CPU milliseconds a run with `measureCpu` reported, and its stderr without that line. */
export function cpuOf(run: ScriptRun): { cpuMs: number; stderr: string } {
  const match = /\ncpu-ms ([0-9.]+)\n$/.exec(run.stderr);
  if (!match?.[1]) throw new Error(`no CPU report in ${JSON.stringify(run.stderr)}`);
  return { cpuMs: Number(match[1]), stderr: run.stderr.slice(0, match.index) };
}

/** Runs `node <bin> ...args` from `cwd` with `env` added. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}, cwd = tmpdir(), opts: { measureCpu?: boolean } = {}): Promise<TimedRun> {
  const bin = await buildCliOnce();
  return new Promise((done, reject) => {
    const started = process.hrtime.bigint();
    const nodeArgs = opts.measureCpu ? ['--import', cpuReport] : [];
    const child = spawn(process.execPath, [...nodeArgs, bin, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr, wallMs: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
}
