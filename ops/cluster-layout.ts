// Where a local cluster's files and replicas are, computed from its data
// folder and base port without touching the disk. `prepareLocalCluster`
// (local-cluster.ts) creates what is missing; the CLI only reads, and refuses
// a folder that is not there (ops/cli/setup.ts) instead of creating a genesis.

import { join, resolve } from 'node:path';

export interface LocalClusterLayout {
  dataDir: string;
  passphraseFile: string;
  genesisFile: string;
  replicas: { id: string; url: string; configFile: string }[];
}

export function localClusterLayout(opts: { dataDir: string; basePort: number; n?: number }): LocalClusterLayout {
  const n = opts.n ?? 4;
  const dataDir = resolve(opts.dataDir);
  const replicas = Array.from({ length: n }, (_, i) => {
    const id = `r${i + 1}`;
    return { id, url: `http://127.0.0.1:${opts.basePort + i}`, configFile: join(dataDir, id, 'config.json') };
  });
  return { dataDir, passphraseFile: join(dataDir, 'dev-passphrase.txt'), genesisFile: join(dataDir, 'genesis.json'), replicas };
}
