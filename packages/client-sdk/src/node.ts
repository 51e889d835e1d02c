// Node-only helpers (entry "@vcr/client-sdk/node"): trust state persisted in
// a file, written atomically (temporary file, fsync, rename) so a crash never
// leaves half a state; and nodeFetch, a cheaper transport than global fetch.

import { open, readFile, rename } from 'node:fs/promises';
import type { TrustStorage } from './storage';

export { nodeFetch, type NodeFetchOptions, nodeTransport } from './node-fetch';

export class FileStorage implements TrustStorage {
  constructor(private readonly path: string) {}

  async load(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async save(text: string): Promise<void> {
    const temporary = `${this.path}.tmp`;
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.path);
  }
}
