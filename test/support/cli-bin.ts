// The compiled `vcr` bin as a user runs it: built once per test file into a
// folder of its own (ops/build/cli.mjs), then run with plain `node`, no
// TypeScript loader, so what is tested is what ships.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/** A preload that reports, when the process exits, its own CPU time (user + system) and whether it loaded undici (Node's fetch), as the last stderr line. */
const cpuReport = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\ncpu-ms '+((u.user+u.system)/1000).toFixed(1)+' undici '+process.moduleLoadList.some((m)=>m.includes('undici'))+'\\n')})`;

/** What a run with `measureCpu` reported: its CPU milliseconds, whether it loaded undici, and its stderr without that line. */
export function cpuOf(run: ScriptRun): { cpuMs: number; loadedUndici: boolean; stderr: string } {
  const match = /\ncpu-ms ([0-9.]+) undici (true|false)\n$/.exec(run.stderr);
  if (!match?.[1]) throw new Error(`no CPU report in ${JSON.stringify(run.stderr)}`);
  return { cpuMs: Number(match[1]), loadedUndici: match[2] === 'true', stderr: run.stderr.slice(0, match.index) };
}

/** The CPU milliseconds of Node's own start (`node -e ''`) on this machine now, measured like a CLI run: the floor under any command. */
export async function emptyNodeCpuMs(): Promise<number> {
  const run = await spawnTimed(['--import', cpuReport, '-e', ''], {}, tmpdir());
  return cpuOf(run).cpuMs;
}

/**
 * The bytes of JavaScript a `get` loads: the bin, the chunk with the commands (run-*.js) and every
 * chunk they import statically (not those imported on demand, like verify's or the keystore's).
 */
export function getPathBytes(bin: string): { bytes: number; files: string[] } {
  const files = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*"(\.\.?\/[^"]+\.js)"/g)) visit(join(dirname(file), m[1] as string));
  };
  visit(bin);
  const run = /import\("(\.\/chunks\/run-[A-Z0-9]+\.js)"\)/.exec(readFileSync(bin, 'utf8'))?.[1];
  if (run === undefined) throw new Error('the bin does not load a run-*.js chunk');
  visit(join(dirname(bin), run));
  return { bytes: [...files].reduce((sum, f) => sum + statSync(f).size, 0), files: [...files] };
}

function spawnTimed(args: readonly string[], env: Record<string, string>, cwd: string): Promise<TimedRun> {
  return new Promise((done, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr, wallMs: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
}

/** Runs `node <bin> ...args` from `cwd` with `env` added. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}, cwd = tmpdir(), opts: { measureCpu?: boolean } = {}): Promise<TimedRun> {
  const bin = await buildCliOnce();
  return spawnTimed([...(opts.measureCpu ? ['--import', cpuReport] : []), bin, ...args], env, cwd);
}
