// One configuration file per replica, validated at startup: a bad file is a
// clear error naming the field, never a half-started replica.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

const configSchema = z.strictObject({
  replicaId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  /** Client and peer API listen address. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  /** Directory of this replica's SQLite file; relative paths resolve against the config file. */
  dataDir: z.string().min(1),
  /** The genesis file shared by every replica of the chain. */
  genesisFile: z.string().min(1),
  keystore: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('encrypted-file'), dir: z.string().min(1), label: z.string().min(1) }),
  ]),
  tickMs: z.number().int().min(5).max(1000).default(20),
});

export type ReplicaConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(path: string): ReplicaConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`cannot read config ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`invalid config ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}`);
  }
  const base = dirname(resolve(path));
  const c = parsed.data;
  return {
    ...c,
    dataDir: resolve(base, c.dataDir),
    genesisFile: resolve(base, c.genesisFile),
    keystore: { ...c.keystore, dir: resolve(base, c.keystore.dir) },
  };
}
