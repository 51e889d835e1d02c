// The dependency picture as a test (docs/design.md, "Dependencies"), in the
// spirit of packages/proofs/src/purity.test.ts: arrows point one way,
//   proofs <- registry, proofs <- consensus <- replica,
//   proofs <- registry <- client-sdk <- console, crypto-node <- (node hosts),
// nothing outside apps/ imports apps/ (launching a process by path is not an
// import), and the console imports no consensus code. A failure lists every
// offence as "file:line: rule ('specifier')".

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importsOf, importTarget, type SourceFile, sourceFiles } from '../packages/proofs/src/testing/source-scan';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const APPS = resolve(REPO_ROOT, 'apps');

/** Which @vcr/ packages each package's sources (not its tests) may import. */
const ALLOWED: Record<string, readonly string[]> = {
  proofs: [],
  'crypto-node': ['@vcr/proofs'],
  registry: ['@vcr/proofs'],
  consensus: ['@vcr/proofs'],
  'client-sdk': ['@vcr/proofs', '@vcr/registry'],
};

/**
 * ops/ files that still import replica internals (the genesis loader, the
 * keystores, the replica's config and store, the registry executor): the
 * known debt of issue 21 item 2, listed so that no new arrow into apps/ can
 * appear. Each entry is removed when its import moves to a package.
 */
const OPS_INTO_APPS_KNOWN = new Set([
  'ops/audit/chain.ts',
  'ops/audit/download.ts',
  'ops/audit/journal.ts',
  'ops/audit/verify.ts',
  'ops/backup.ts',
  'ops/bench/cli-get.ts',
  'ops/bench/vcr-cluster.ts',
  'ops/cli/chain.ts',
  'ops/cli/setup.ts',
  'ops/local-cluster.ts',
  'ops/membership.ts',
  'ops/pkcs11-setup.ts',
  'ops/start.ts',
  'ops/witness/cli.ts',
]);

const isVcr = (s: string) => s.startsWith('@vcr/');
const vcrName = (s: string) => s.split('/').slice(0, 2).join('/');

/** Every import of `files` that reaches into apps/ (by a relative path, or by an app's package name). */
function intoApps(files: readonly SourceFile[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const site of importsOf(file.text)) {
      const s = site.specifier;
      const reaches = s.startsWith('.') ? !relative(APPS, importTarget(REPO_ROOT, file, s)).startsWith('..') : s === '@vcr/replica' || s === '@vcr/console' || s.startsWith('@vcr/replica/') || s.startsWith('@vcr/console/');
      if (reaches) found.push(`${file.name}:${site.line}: imports apps/ ('${s}')`);
    }
  }
  return found;
}

/** Every @vcr/ import of `files` not in `allowed`. */
function wrongArrows(files: readonly SourceFile[], allowed: readonly string[], rule: string): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const site of importsOf(file.text)) {
      if (isVcr(site.specifier) && !allowed.includes(vcrName(site.specifier))) found.push(`${file.name}:${site.line}: ${rule} ('${site.specifier}')`);
    }
  }
  return found;
}

describe('dependencies point one way', () => {
  for (const [pkg, allowed] of Object.entries(ALLOWED)) {
    it(`packages/${pkg} imports only ${allowed.length === 0 ? 'no @vcr/ package' : allowed.join(', ')}, and nothing from apps/`, () => {
      const files = sourceFiles(resolve(REPO_ROOT, 'packages', pkg, 'src'), REPO_ROOT, ['testing']);
      expect(files.length).toBeGreaterThan(0);
      expect([...wrongArrows(files, allowed, `packages/${pkg} may import only ${allowed.join(', ') || 'nothing of @vcr/'}`), ...intoApps(files)]).toEqual([]);
    });
  }

  it('the console imports no consensus code (the wire forms it parses are the proofs\')', () => {
    const files = sourceFiles(resolve(APPS, 'console/src'), REPO_ROOT);
    expect(files.some((f) => f.name.endsWith('lib/verify.ts'))).toBe(true);
    expect(wrongArrows(files, ['@vcr/proofs', '@vcr/registry', '@vcr/client-sdk'], 'the console imports only proofs, registry and the SDK')).toEqual([]);
  });

  it('nothing under ops/ imports apps/ beyond the known, listed debt; and every listed file still does (the list shrinks)', () => {
    const files = sourceFiles(resolve(REPO_ROOT, 'ops'), REPO_ROOT);
    const offences = intoApps(files);
    const offending = new Set(offences.map((o) => o.split(':')[0] as string));
    expect(offences.filter((o) => !OPS_INTO_APPS_KNOWN.has(o.split(':')[0] as string))).toEqual([]);
    expect([...OPS_INTO_APPS_KNOWN].filter((f) => !offending.has(f))).toEqual([]);
  });
});

describe('the checker itself', () => {
  it('catches a deliberately wrong import: a package into apps/, and the console into consensus', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vcr-deps-'));
    try {
      writeFileSync(join(dir, 'bad.ts'), "import { ReplicaNode } from '" + relative(dir, resolve(APPS, 'replica/src/replica-node')).split(sep).join('/') + "';\nimport { batchHash } from '@vcr/consensus';\n// import { x } from '@vcr/consensus' in a comment is not an import\n");
      const files = sourceFiles(dir, REPO_ROOT);
      expect(intoApps(files)).toHaveLength(1);
      expect(wrongArrows(files, ['@vcr/proofs'], 'rule')).toEqual([expect.stringMatching(/bad\.ts:2: rule \('@vcr\/consensus'\)$/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(existsSync(dir)).toBe(false);
  });
});
