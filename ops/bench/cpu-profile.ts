// Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and adds up self
// time per function, per file and per area of the code, counting only the
// samples inside the given time windows (the write phase), so start-up and
// the other phases do not blur the write path. Sample times and
// process.hrtime share the monotonic clock, in microseconds. Several runs'
// profiles pool into one summary. Also finds the largest function that is
// not node:crypto's sign, verify or hash (issue 16's 5 % criterion).

import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time in the windows. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  busyMs: number;
  idleMs: number;
  samples: number;
  byFunction: SelfTime[];
  byFile: SelfTime[];
  byArea: SelfTime[];
  /** The function with the most self time that is neither crypto (isCryptoFrame) nor a V8 pseudo-frame. */
  largestNonCrypto: SelfTime | undefined;
  /** The crypto built-ins' self time, largest first. */
  crypto: SelfTime[];
  /** V8's pseudo-frames ("(garbage collector)", "(program)"), largest first. */
  pseudoFrames: SelfTime[];
}

const idleNames = new Set(['(idle)']);

/** Where the code lives: a workspace package or app, a dependency, Node's own modules, or V8 pseudo-frames. */
function areaOf(url: string, functionName: string, repoRoot: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node: built-ins';
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dep) return `dependency ${dep[1]}`;
  const rel = relative(repoRoot, path);
  const ws = /^(packages|apps|ops)\/([^/]+)/.exec(rel);
  return ws ? `${ws[1]}/${ws[2]}` : rel;
}

function fileOf(url: string, functionName: string, repoRoot: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const dep = /node_modules\/(.*)$/.exec(path);
  return dep ? `node_modules/${dep[1]}` : relative(repoRoot, path);
}

function top(map: Map<string, number>, busyMs: number, count: number): SelfTime[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, ms, pct: busyMs > 0 ? (ms / busyMs) * 100 : NaN }));
}

/** The main thread's profile among those one process wrote (thread id 0 in the name, else the largest). */
export function pickMainThreadProfile(files: readonly string[]): string | undefined {
  return files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(basename(f))) ?? files[0];
}

/** One profile file and the windows (process.hrtime, microseconds) whose samples count. */
export interface ProfileInput {
  file: string;
  windowsUs: readonly { start: bigint; end: bigint }[];
}

/**
 * Issue 16's "no single non-crypto function above 5 % of busy time": a frame
 * is crypto when it is one of node:crypto's sign, verify or hash built-ins
 * (the one-shot signOneShot and verifyOneShot, the one-shot hash, and the
 * Hash object's constructor and digest), in a node:internal/crypto/ module.
 * Everything else, ours, a dependency's or Node's, is not.
 */
export const cryptoFunctionNames: ReadonlySet<string> = new Set(['verifyOneShot', 'signOneShot', 'digest', 'Hash', 'hash']);

export function isCryptoFrame(functionName: string, url: string): boolean {
  return url.startsWith('node:internal/crypto/') && cryptoFunctionNames.has(functionName);
}

/** V8's pseudo-frames: not functions, so not candidates for the largest function (reported apart). */
export function isPseudoFrame(functionName: string, url: string): boolean {
  return url === '' && functionName.startsWith('(');
}

export function summarizeProfile(file: string, windowsUs: readonly { start: bigint; end: bigint }[], repoRoot: string, count = 15): ProfileSummary {
  return summarizeProfiles([{ file, windowsUs }], repoRoot, count);
}

/** Self time pooled over several profiles (one per run), each cut to its own windows. */
export function summarizeProfiles(inputs: readonly ProfileInput[], repoRoot: string, count = 15): ProfileSummary {
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  const areas = new Map<string, number>();
  const cryptoNames = new Set<string>();
  const pseudoNames = new Set<string>();
  let busyMs = 0;
  let idleMs = 0;
  let samples = 0;
  let windowMs = 0;
  for (const { file, windowsUs } of inputs) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const inWindow = (t: number) => windowsUs.some((w) => t >= Number(w.start) && t <= Number(w.end));
    windowMs += windowsUs.reduce((sum, w) => sum + Number(w.end - w.start) / 1000, 0);
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      // A sample stands for the interval until the next one.
      const next = profile.timeDeltas[i + 1] ?? 0;
      if (!inWindow(t)) continue;
      const node = byId.get(profile.samples[i] as number);
      if (node === undefined) continue;
      const ms = next / 1000;
      samples++;
      const { functionName, url, lineNumber } = node.callFrame;
      if (idleNames.has(functionName)) {
        idleMs += ms;
        continue;
      }
      busyMs += ms;
      const fileName = fileOf(url, functionName, repoRoot);
      // Frames without a URL are V8 pseudo-frames ("(garbage collector)") or native code (a C++ binding such as writeBuffer).
      // tsx compiles some modules onto one line, so a line number of 1 says nothing and is left out.
      const where = lineNumber > 0 ? `${fileName}:${lineNumber + 1}` : fileName;
      const name = url === '' ? (functionName.startsWith('(') ? functionName : `${functionName || '(anonymous)'}  (native)`) : `${functionName || '(anonymous)'}  ${where}`;
      if (isCryptoFrame(functionName, url)) cryptoNames.add(name);
      if (isPseudoFrame(functionName, url)) pseudoNames.add(name);
      fn.set(name, (fn.get(name) ?? 0) + ms);
      files.set(fileName, (files.get(fileName) ?? 0) + ms);
      const area = areaOf(url, functionName, repoRoot);
      areas.set(area, (areas.get(area) ?? 0) + ms);
    }
  }
  const functions = top(fn, busyMs, fn.size);
  return {
    file: inputs.map((i) => i.file).join(', '),
    windowMs,
    busyMs,
    idleMs,
    samples,
    byFunction: functions.slice(0, count),
    byFile: top(files, busyMs, count),
    byArea: top(areas, busyMs, 10),
    largestNonCrypto: functions.find((f) => !cryptoNames.has(f.name) && !pseudoNames.has(f.name)),
    crypto: functions.filter((f) => cryptoNames.has(f.name)),
    pseudoFrames: functions.filter((f) => pseudoNames.has(f.name)),
  };
}
