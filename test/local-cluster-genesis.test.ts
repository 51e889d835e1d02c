// New genesis files close the root (docs/registry.md, "The genesis policy"):
// the local cluster `npm start` creates refuses keys under no namespace unless
// its caller opens the root explicitly.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRegistryPolicy } from '@vcr/registry';
import { prepareLocalCluster } from '../ops/local-cluster';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function genesisPolicy(opts: { rootWrite?: 'open' | 'closed' }) {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-genesis-'));
  dirs.push(dir);
  const layout = prepareLocalCluster({ dataDir: dir, basePort: 7001, fastKdf: true, ...opts });
  const genesis = JSON.parse(readFileSync(layout.genesisFile, 'utf8')) as { registry?: unknown };
  const parsed = parseRegistryPolicy(genesis.registry);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.policy;
}

describe('the local cluster genesis', () => {
  it('closes the root by default, with the four organizations admin keys as registry admins', () => {
    const policy = genesisPolicy({});
    expect(policy.rootWrite).toBe('closed');
    expect(policy.admins).toHaveLength(4);
  });

  it('keeps a prefix index 4 segments deep (local views need it), and a policy refuses a depth past 8', () => {
    expect(genesisPolicy({}).prefixIndexDepth).toBe(4);
    expect(parseRegistryPolicy({ rootWrite: 'open', admins: [], prefixIndexDepth: 9 })).toMatchObject({ ok: false });
    expect(parseRegistryPolicy({ rootWrite: 'open', admins: [] })).toMatchObject({ ok: true, policy: { prefixIndexDepth: 0 } });
  });

  it('opens the root only when asked', () => {
    expect(genesisPolicy({ rootWrite: 'open' }).rootWrite).toBe('open');
  });
});
