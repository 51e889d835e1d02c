// The SDK runs in browsers: no node: imports, no Buffer, nothing from apps/
// or the consensus core in its sources (node.ts is the Node-only entry, node-fetch.ts its transport).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'node.ts' && name !== 'node-fetch.ts' ? [path] : [];
  });
}

describe('client-sdk purity', () => {
  const files = sources(new URL('.', import.meta.url).pathname);
  it('scans its own sources', () => expect(files.length).toBeGreaterThan(8));
  for (const file of files) {
    it(`${file.split('/src/')[1]} has no node: import, no Buffer, nothing from apps/ or @vcr/consensus`, () => {
      const text = readFileSync(file, 'utf8');
      expect(text).not.toMatch(/from\s+['"]node:|require\(['"]node:|import\(['"]node:/);
      expect(text).not.toMatch(/\bBuffer\b/);
      expect(text).not.toMatch(/from\s+['"][./]*apps\/|from\s+['"]@vcr\/(consensus|crypto-node|replica)/);
    });
  }
});
