// One configuration file per replica, validated at startup: a bad file is a
// clear error naming the field, never a half-started replica.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { assertNever } from '@vcr/proofs';
import type { KeyStoreConfig } from './keystore';

const configSchema = z.strictObject({
  replicaId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  /** Client and peer API listen address. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  /** Directory of this replica's SQLite file; relative paths resolve against the config file. */
  dataDir: z.string().min(1),
  /** The genesis file shared by every replica of the chain. */
  genesisFile: z.string().min(1),
  /**
   * Where the replica's signing key lives (docs/keystore.md). Relative paths
   * resolve against the config file. Secrets are never in this file: the
   * passphrase or PIN comes from the environment, so strict objects refuse a
   * `pin` or `passphrase` field.
   */
  keystore: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('encrypted-file'), dir: z.string().min(1), label: z.string().min(1) }),
    z.strictObject({
      kind: z.literal('pkcs11'),
      /** The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
      module: z.string().min(1),
      /** The token's label (CK_TOKEN_INFO.label): 1 to 32 bytes. */
      tokenLabel: z
        .string()
        .min(1)
        .refine((label) => Buffer.byteLength(label, 'utf8') <= 32 && label === label.trim(), 'a token label is 1-32 bytes without surrounding blanks'),
      /** The key's CKA_LABEL on the token. */
      label: z.string().min(1),
    }),
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
  const secret = misplacedSecret(raw);
  if (secret !== undefined) {
    throw new ConfigError(`invalid config ${path}: keystore.${secret}: secrets never go in the config file; set VCR_PKCS11_PIN(_FILE) or VCR_KEY_PASSPHRASE(_FILE) in the environment`);
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
    keystore: resolveKeyStorePaths(base, c.keystore),
  };
}

function resolveKeyStorePaths(base: string, keystore: KeyStoreConfig): KeyStoreConfig {
  switch (keystore.kind) {
    case 'encrypted-file':
      return { ...keystore, dir: resolve(base, keystore.dir) };
    case 'pkcs11':
      return { ...keystore, module: resolve(base, keystore.module) };
    default:
      return assertNever(keystore, 'keystore kind');
  }
}

/** A PIN or passphrase field in `keystore`, named so the error can say where secrets go instead. */
function misplacedSecret(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || !('keystore' in raw)) return undefined;
  const keystore = raw.keystore;
  if (typeof keystore !== 'object' || keystore === null) return undefined;
  return ['pin', 'soPin', 'passphrase'].find((field) => field in keystore);
}
