// One configuration file per replica, validated at startup: a bad file is a
// clear error naming the field, never a half-started replica.

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { assertNever } from '@vcr/proofs';
import type { KeyStoreConfig } from './keystore';

/**
 * Where the replica's signing key lives (docs/keystore.md). Relative paths
 * resolve against the config file. Secrets are never in this file: the
 * passphrase or PIN comes from the environment, so strict objects refuse a
 * `pin` or `passphrase` field.
 */
const keyStoreSchema = z.discriminatedUnion('kind', [
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
]);

/** Upstreams a mirror follows at most (each is asked in turn). */
export const MIRROR_UPSTREAMS_MAX = 16;

/** A replica's or a mirror's client API base URL: http(s), a host, nothing after the path. */
function isUpstreamUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
}

/**
 * A read-only mirror (docs/mirror.md): no keystore, no vote, no peer links;
 * it follows `upstream` (replicas' or other mirrors' client API URLs, asked in
 * turn) by state transfer, verifying every block, and serves reads.
 */
const mirrorSchema = z.strictObject({
  upstream: z
    .array(
      z.string().max(2_048).refine(isUpstreamUrl, 'an upstream is the http:// or https:// base URL of a replica or a mirror, without credentials, query or fragment'),
      { error: 'a mirror needs upstream: the list of replica or mirror URLs it follows' },
    )
    .min(1, 'a mirror needs at least one upstream URL (a replica or another mirror)')
    .max(MIRROR_UPSTREAMS_MAX, `at most ${MIRROR_UPSTREAMS_MAX} upstream URLs`)
    .transform((urls) => urls.map((u) => u.replace(/\/+$/, '')))
    .refine((urls) => new Set(urls).size === urls.length, 'upstream lists a URL twice'),
  /**
   * PEM CA bundle for https:// upstreams when the mirror itself serves plain
   * HTTP (no `tls` section; its answers carry their own proofs). With a `tls`
   * section, use `tls.ca`. Resolves against the config file.
   */
  ca: z.string().min(1).optional(),
});

const configSchema = z.strictObject({
  replicaId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  /** Client and peer API listen address. */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  /** Directory of this replica's SQLite file; relative paths resolve against the config file. */
  dataDir: z.string().min(1),
  /** The genesis file shared by every replica of the chain. */
  genesisFile: z.string().min(1),
  /** Required for a replica; a mirror has none (it never signs). */
  keystore: keyStoreSchema.optional(),
  /** Present for a read-only mirror, absent for a replica. */
  mirror: mirrorSchema.optional(),
  tickMs: z.number().int().min(5).max(1000).default(20),
  /**
   * What a replica does once it has verified that a membership change removed it
   * (docs/replica.md, "Removal"): `mirror` (default) keeps following the chain and
   * serving verified reads, refusing writes and signing nothing; `exit` stops the
   * process with status 0, and again at every later start.
   */
  onRemoval: z.enum(['mirror', 'exit']).default('mirror'),
  /**
   * TLS for the client API and the peer links (docs/replica.md, TLS). With it
   * the replica serves HTTPS on `port`; peers whose genesis address is
   * https:// are dialed over wss:// and https:// and their certificates are
   * verified against `ca` (PEM bundle), or against the system roots without
   * one. A mirror verifies its https:// upstreams the same way. Paths resolve
   * against the config file; the key file must not be readable by others.
   */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional() }).optional(),
});

type ParsedConfig = z.infer<typeof configSchema>;
type CommonConfig = Omit<ParsedConfig, 'keystore' | 'mirror'>;
export type MirrorSection = z.infer<typeof mirrorSchema>;
/** A replica's config: it signs, so it has a keystore. */
export type ReplicaConfig = CommonConfig & { keystore: KeyStoreConfig };
/** A read-only mirror's config: upstream URLs instead of a keystore. */
export type MirrorConfig = CommonConfig & { mirror: MirrorSection };
/** What a config file starts: a replica or a mirror. */
export type NodeConfig = ({ mode: 'replica' } & ReplicaConfig) | ({ mode: 'mirror' } & MirrorConfig);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A replica's config file (the keystore is required); a mirror's config is refused here (ops that need a key). */
export function loadConfig(path: string): ReplicaConfig {
  const config = loadNodeConfig(path);
  if (config.mode === 'mirror') throw new ConfigError(`invalid config ${path}: mirror: this is a read-only mirror's config; it has no keystore and no vote (docs/mirror.md)`);
  const { mode: _mode, ...replica } = config;
  return replica;
}

/** A replica's or a mirror's config file: a mirror has a `mirror` section and no keystore, a replica the reverse. */
export function loadNodeConfig(path: string): NodeConfig {
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
  const { tls, keystore, mirror, ...rest } = parsed.data;
  const common: CommonConfig = { ...rest, dataDir: resolve(base, rest.dataDir), genesisFile: resolve(base, rest.genesisFile) };
  if (tls !== undefined) {
    const resolved: TlsPaths = { cert: resolve(base, tls.cert), key: resolve(base, tls.key), ...(tls.ca === undefined ? {} : { ca: resolve(base, tls.ca) }) };
    // Read and checked now, so a wrong path, a world-readable key or a key that is not the certificate's stops startup with its name.
    loadTlsMaterial(resolved, path);
    common.tls = resolved;
  }
  if (mirror !== undefined) {
    if (keystore !== undefined) throw new ConfigError(`invalid config ${path}: keystore: a mirror never signs, so it has no keystore; remove keystore, or remove mirror to run a replica`);
    if (mirror.ca === undefined) return { mode: 'mirror', ...common, mirror };
    if (tls !== undefined) throw new ConfigError(`invalid config ${path}: mirror.ca: this mirror has a tls section; give the upstreams' CA as tls.ca instead`);
    const ca = resolve(base, mirror.ca);
    loadCaBundle(ca, 'mirror.ca', path);
    return { mode: 'mirror', ...common, mirror: { ...mirror, ca } };
  }
  if (keystore === undefined) throw new ConfigError(`invalid config ${path}: keystore: required (a replica signs its votes with it); a read-only mirror has a mirror section instead (docs/mirror.md)`);
  return { mode: 'replica', ...common, keystore: resolveKeyStorePaths(base, keystore) };
}

/**
 * A mirror's id must not be a replica id of the membership it starts from: the
 * id names a voter in certificates, logs and metrics, and a mirror never votes.
 */
export function checkMirrorId(config: MirrorConfig, membership: { epoch: bigint; replicas: readonly { id: string }[] }, path = 'config'): void {
  if (!membership.replicas.some((r) => r.id === config.replicaId)) return;
  throw new ConfigError(`invalid config ${path}: replicaId: ${JSON.stringify(config.replicaId)} is a replica of epoch ${membership.epoch}; a mirror needs an id no replica has (e.g. "mirror-1")`);
}

export type TlsPaths = NonNullable<CommonConfig['tls']>;

/** PEM bytes for node:https and node:tls: the certificate chain, its private key, and the CA bundle peers are verified against. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/**
 * Reads the TLS files of a config and checks them: each readable, the
 * certificate chain parses, the key parses, is not readable by others, and
 * matches the first certificate; the CA bundle parses. A ConfigError names
 * the field and the file.
 */
export function loadTlsMaterial(tls: TlsPaths, configPath = 'config'): TlsMaterial {
  const fail = (field: string, file: string, why: string) => new ConfigError(`invalid config ${configPath}: tls.${field} (${file}): ${why}`);
  const read = (field: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (cause) {
      throw fail(field, file, `cannot read: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  };
  const cert = read('cert', tls.cert);
  const key = read('key', tls.key);
  // Checked after the read, so a missing file says so rather than failing a stat.
  const mode = statSync(tls.key).mode;
  if ((mode & 0o004) !== 0) {
    throw fail('key', tls.key, `the private key is readable by every user (mode ${(mode & 0o777).toString(8)}); restrict it, e.g. chmod 600 (or 640 with a dedicated group)`);
  }
  const leaf = firstCertificate(cert);
  if (leaf === undefined) throw fail('cert', tls.cert, 'not a PEM X.509 certificate');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (cause) {
    throw fail('key', tls.key, `not a PEM private key: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw fail('key', tls.key, `does not match the certificate in ${tls.cert}`);
  if (tls.ca === undefined) return { cert, key };
  return { cert, key, ca: loadCaBundle(tls.ca, 'tls.ca', configPath) };
}

/** A PEM CA bundle file, read and checked; a ConfigError names the field and the file. */
export function loadCaBundle(file: string, field: string, configPath = 'config'): Buffer {
  let ca: Buffer;
  try {
    ca = readFileSync(file);
  } catch (cause) {
    throw new ConfigError(`invalid config ${configPath}: ${field} (${file}): cannot read: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  if (firstCertificate(ca) === undefined) throw new ConfigError(`invalid config ${configPath}: ${field} (${file}): not a PEM X.509 certificate bundle`);
  return ca;
}

/** The first certificate of a PEM bundle, or undefined if there is none that parses. */
function firstCertificate(pem: Buffer): X509Certificate | undefined {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem.toString('utf8'));
  if (!block) return undefined;
  try {
    return new X509Certificate(block[0]);
  } catch {
    return undefined;
  }
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
