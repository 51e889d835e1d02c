// Architecture checks over the source text (DESIGN section 2, STYLE "Boundaries"):
// packages/proofs runs unchanged in browsers, so it imports no Node builtin and
// never touches Buffer; packages/consensus is a pure, synchronous state
// machine, so it has no clock, no randomness, no timers, no async and no
// process; dependencies point one way (proofs <- consensus <- replica).
// A failure lists every offence as "file:line: rule: source line".

import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { blankNonCode, importsOf, type SourceFile, sourceFiles as scanFiles } from './testing/source-scan';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROOFS_SRC = dirname(fileURLToPath(import.meta.url));
const CONSENSUS_SRC = resolve(PROOFS_SRC, '../../consensus/src');
const REGISTRY_SRC = resolve(PROOFS_SRC, '../../registry/src');
const REPO_ROOT = resolve(PROOFS_SRC, '../../..');

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/** `node:x`, or a bare builtin name or a subpath of one (`fs`, `fs/promises`, `crypto`). */
function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0] as string);
}

function isPackage(specifier: string, name: string): boolean {
  return specifier === name || specifier.startsWith(`${name}/`);
}

type ImportRule = { rule: string; forbids: (specifier: string) => boolean };
type CodeRule = { rule: string; pattern: RegExp };

/** Every offence in `files` against the import and code rules, as "file:line: rule: source line". */
function offences(files: readonly SourceFile[], importRules: readonly ImportRule[], codeRules: readonly CodeRule[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const lines = file.text.split('\n');
    const report = (line: number, rule: string) => found.push(`${file.name}:${line}: ${rule}: ${(lines[line - 1] ?? '').trim()}`);
    for (const site of importsOf(file.text)) {
      for (const { rule, forbids } of importRules) if (forbids(site.specifier)) report(site.line, `${rule} ('${site.specifier}')`);
    }
    const codeLines = blankNonCode(file.text, true).split('\n');
    codeLines.forEach((codeLine, index) => {
      for (const { rule, pattern } of codeRules) if (pattern.test(codeLine)) report(index + 1, rule);
    });
  }
  return found;
}

/** A relative import that climbs out of the package's src/ reaches into another package or an app. */
function leavesSrc(root: string, files: readonly SourceFile[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const lines = file.text.split('\n');
    for (const site of importsOf(file.text)) {
      if (!site.specifier.startsWith('.')) continue;
      const target = resolve(REPO_ROOT, dirname(file.name), site.specifier);
      if (relative(root, target).startsWith('..')) {
        found.push(`${file.name}:${site.line}: relative import leaves the package's src/ ('${site.specifier}'): ${(lines[site.line - 1] ?? '').trim()}`);
      }
    }
  }
  return found;
}

const sourceFiles = (dir: string, skipDirs: readonly string[] = []) => scanFiles(dir, REPO_ROOT, skipDirs);
const proofsFiles = sourceFiles(PROOFS_SRC, ['testing']);
const consensusFiles = sourceFiles(CONSENSUS_SRC);
const registryFiles = sourceFiles(REGISTRY_SRC);

describe('packages/proofs/src runs unchanged in browsers', () => {
  it('the scan sees the package (non-test files only, testing/ left out)', () => {
    const names = proofsFiles.map((f) => f.name);
    expect(names).toContain('packages/proofs/src/canonical.ts');
    expect(names).toContain('packages/proofs/src/wire.ts');
    expect(names.some((n) => n.endsWith('.test.ts') || n.includes('/testing/'))).toBe(false);
  });

  it('imports no node: module and no Node builtin, and never uses Buffer', () => {
    const found = offences(
      proofsFiles,
      [{ rule: 'Node builtin import in a browser package', forbids: isNodeBuiltin }],
      [{ rule: 'Buffer is Node-only; use Uint8Array', pattern: /\bBuffer\b/ }],
    );
    expect(found).toEqual([]);
  });

  it('imports nothing from @vcr/ packages or from outside its src/: every other package depends on it, not the reverse', () => {
    const found = offences(proofsFiles, [{ rule: 'proofs imports a @vcr/ package', forbids: (s) => s.startsWith('@vcr/') }], []);
    expect([...found, ...leavesSrc(PROOFS_SRC, proofsFiles)]).toEqual([]);
  });
});

describe('packages/consensus/src is pure and synchronous', () => {
  it('the scan sees the package', () => {
    expect(consensusFiles.length).toBeGreaterThan(0);
    expect(consensusFiles.some((f) => f.name.endsWith('.test.ts'))).toBe(false);
  });

  it('has no node: or Node builtin import, no clock, randomness, timers, async or process', () => {
    const found = offences(
      consensusFiles,
      [{ rule: 'Node builtin import in the pure core', forbids: isNodeBuiltin }],
      [
        { rule: 'Date: time comes in events', pattern: /\bDate\b/ },
        { rule: 'Math.random: randomness is injected', pattern: /\bMath\s*\.\s*random\b/ },
        { rule: 'timer: the host drives time with tick events', pattern: /\b(?:setTimeout|setInterval|setImmediate)\b/ },
        { rule: 'performance.now: time comes in events', pattern: /\bperformance\s*\.\s*now\b/ },
        { rule: 'async/await: step() is synchronous', pattern: /\b(?:async|await)\b/ },
        { rule: 'process: no environment or exit in the core', pattern: /\bprocess\s*\./ },
      ],
    );
    expect(found).toEqual([]);
  });

  it('never imports express, better-sqlite3 or ws, nor any @vcr/ package but @vcr/proofs, nor anything outside its src/', () => {
    const found = offences(
      consensusFiles,
      [
        { rule: 'I/O library in the pure core', forbids: (s) => ['express', 'better-sqlite3', 'ws'].some((name) => isPackage(s, name)) },
        { rule: 'consensus depends only on @vcr/proofs', forbids: (s) => s.startsWith('@vcr/') && !isPackage(s, '@vcr/proofs') },
      ],
      [],
    );
    expect([...found, ...leavesSrc(CONSENSUS_SRC, consensusFiles)]).toEqual([]);
  });
});

describe('packages/registry/src is shared by the replica, the SDK and the browser', () => {
  it('the scan sees the package', () => {
    expect(registryFiles.map((f) => f.name)).toContain('packages/registry/src/ops.ts');
  });

  it('imports no Node builtin, never uses Buffer, has no clock or randomness (execution must be deterministic)', () => {
    const found = offences(
      registryFiles,
      [{ rule: 'Node builtin import in a browser package', forbids: isNodeBuiltin }],
      [
        { rule: 'Buffer is Node-only; use Uint8Array', pattern: /\bBuffer\b/ },
        { rule: 'Date: replicas must agree; time comes from the certified header', pattern: /\bDate\b/ },
        { rule: 'Math.random: replicas must agree', pattern: /\bMath\s*\.\s*random\b/ },
      ],
    );
    expect(found).toEqual([]);
  });

  it('depends only on @vcr/proofs and zod, and on nothing outside its src/', () => {
    const found = offences(
      registryFiles,
      [{ rule: 'registry depends only on @vcr/proofs and zod', forbids: (s) => !s.startsWith('.') && !isPackage(s, '@vcr/proofs') && !isPackage(s, 'zod') }],
      [],
    );
    expect([...found, ...leavesSrc(REGISTRY_SRC, registryFiles)]).toEqual([]);
  });
});

describe('the scanner itself', () => {
  const sample = [
    "import { readFileSync } from 'node:fs';",
    "import type { X } from 'fs/promises';",
    "export * from 'crypto';",
    "const b = await import('path');",
    "// Date.now() and setTimeout in a comment are not uses; neither is import 'os' here",
    "const s = 'Date, Buffer and process.env inside a string are not uses'; const r = /[/*]Date/;",
    'const now = Date.now(); /* Math.random() */',
    "import { utf8 } from './bytes';",
  ].join('\n');

  it('finds imports of every form with their lines, and none inside comments', () => {
    expect(importsOf(sample).map((s) => [s.specifier, s.line])).toEqual([
      ['node:fs', 1],
      ['fs/promises', 2],
      ['crypto', 3],
      ['path', 4],
      ['./bytes', 8],
    ]);
    expect(importsOf(sample).filter((s) => isNodeBuiltin(s.specifier)).map((s) => s.line)).toEqual([1, 2, 3, 4]);
    expect(isNodeBuiltin('@noble/hashes/sha2.js')).toBe(false);
    expect(isNodeBuiltin('zod')).toBe(false);
  });

  it('reports a use in code with file and line, and ignores comments, strings and regex literals', () => {
    const found = offences([{ name: 'sample.ts', text: sample }], [], [
      { rule: 'Date', pattern: /\bDate\b/ },
      { rule: 'Math.random', pattern: /\bMath\s*\.\s*random\b/ },
      { rule: 'Buffer', pattern: /\bBuffer\b/ },
    ]);
    expect(found).toEqual(['sample.ts:7: Date: const now = Date.now(); /* Math.random() */']);
  });
});
