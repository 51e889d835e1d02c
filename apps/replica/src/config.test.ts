import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkMirrorId, ConfigError, loadConfig, loadNodeConfig, type MirrorConfig } from './config';

let dir = '';
const base = { replicaId: 'r1', port: 7001, dataDir: 'data', genesisFile: 'genesis.json' };

function write(config: unknown): string {
  const path = join(dir, 'replica.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function loadError(config: unknown): string {
  try {
    loadConfig(write(config));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('the config loaded');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('replica config: onRemoval', () => {
  const keystore = { kind: 'encrypted-file', dir: 'keys', label: 'replica' };
  it("is 'mirror' by default (a removed replica keeps serving verified reads), or 'exit'; anything else is refused by name", () => {
    expect(loadConfig(write({ ...base, keystore })).onRemoval).toBe('mirror');
    expect(loadConfig(write({ ...base, keystore, onRemoval: 'exit' })).onRemoval).toBe('exit');
    expect(loadError({ ...base, keystore, onRemoval: 'restart' })).toMatch(/onRemoval: /);
  });
});

describe('replica config: keystore', () => {
  it('an encrypted-file keystore resolves its directory against the config file', () => {
    const config = loadConfig(write({ ...base, keystore: { kind: 'encrypted-file', dir: 'keys', label: 'replica' } }));
    expect(config.keystore).toEqual({ kind: 'encrypted-file', dir: join(dir, 'keys'), label: 'replica' });
  });

  it('a pkcs11 keystore names the module, the token and the key; a relative module resolves against the config file', () => {
    const absolute = loadConfig(write({ ...base, keystore: { kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'replica-token', label: 'replica' } }));
    expect(absolute.keystore).toEqual({ kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'replica-token', label: 'replica' });
    const relative = loadConfig(write({ ...base, keystore: { kind: 'pkcs11', module: 'lib/p11.so', tokenLabel: 't', label: 'replica' } }));
    expect(relative.keystore).toMatchObject({ module: join(dir, 'lib/p11.so') });
  });

  it('a PIN or passphrase in the config file is refused, pointing at the environment', () => {
    expect(loadError({ ...base, keystore: { kind: 'pkcs11', module: '/m.so', tokenLabel: 't', label: 'replica', pin: '1234' } })).toMatch(
      /keystore\.pin: secrets never go in the config file; set VCR_PKCS11_PIN/,
    );
    expect(loadError({ ...base, keystore: { kind: 'encrypted-file', dir: 'keys', label: 'replica', passphrase: 'x' } })).toMatch(/keystore\.passphrase/);
  });

  it('a token label over 32 bytes, a missing field or an unknown kind is refused by name', () => {
    expect(loadError({ ...base, keystore: { kind: 'pkcs11', module: '/m.so', tokenLabel: 'x'.repeat(33), label: 'replica' } })).toMatch(/keystore\.tokenLabel/);
    expect(loadError({ ...base, keystore: { kind: 'pkcs11', module: '/m.so', label: 'replica' } })).toMatch(/keystore\.tokenLabel/);
    expect(loadError({ ...base, keystore: { kind: 'hsm', label: 'replica' } })).toMatch(/keystore\.kind/);
  });
});

describe('replica config: tls', () => {
  const keystore = { kind: 'encrypted-file', dir: 'keys', label: 'replica' };

  /** A self-signed certificate and its key (openssl), written beside the config; the key owner-only. */
  function selfSigned(name: string): void {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' });
    chmodSync(join(dir, `${name}.key`), 0o600);
  }

  it('resolves cert, key and ca against the config file', () => {
    selfSigned('a');
    const config = loadConfig(write({ ...base, keystore, tls: { cert: 'a.crt', key: 'a.key', ca: 'a.crt' } }));
    expect(config.tls).toEqual({ cert: join(dir, 'a.crt'), key: join(dir, 'a.key'), ca: join(dir, 'a.crt') });
    expect(loadConfig(write({ ...base, keystore })).tls).toBeUndefined();
  });

  it('a key file readable by every user is refused', () => {
    selfSigned('a');
    chmodSync(join(dir, 'a.key'), 0o644);
    expect(loadError({ ...base, keystore, tls: { cert: 'a.crt', key: 'a.key' } })).toMatch(/tls\.key .*readable by every user \(mode 644\)/);
  });

  it('a missing file, a key that is not the certificate\'s, a non-PEM file or an unknown field is refused by name', () => {
    selfSigned('a');
    selfSigned('b');
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
    expect(loadError({ ...base, keystore, tls: { cert: 'missing.crt', key: 'a.key' } })).toMatch(/tls\.cert .*missing\.crt.*cannot read/);
    expect(loadError({ ...base, keystore, tls: { cert: 'a.crt', key: 'b.key' } })).toMatch(/tls\.key .*does not match the certificate/);
    expect(loadError({ ...base, keystore, tls: { cert: 'junk.pem', key: 'a.key' } })).toMatch(/tls\.cert .*not a PEM X\.509 certificate/);
    expect(loadError({ ...base, keystore, tls: { cert: 'a.crt', key: 'a.key', ca: 'junk.pem' } })).toMatch(/tls\.ca .*not a PEM/);
    expect(loadError({ ...base, keystore, tls: { cert: 'a.crt' } })).toMatch(/tls\.key/);
    expect(loadError({ ...base, keystore, tls: { cert: 'a.crt', key: 'a.key', verify: false } })).toMatch(/tls.*verify/);
  });
});

describe('mirror config', () => {
  const upstream = ['http://127.0.0.1:7001', 'https://replica-2.example.org/'];

  function nodeError(config: unknown): string {
    try {
      loadNodeConfig(write(config));
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    throw new Error('the config loaded');
  }

  it('a mirror section and no keystore is a mirror; upstream URLs lose their trailing slash', () => {
    const config = loadNodeConfig(write({ ...base, replicaId: 'mirror-1', mirror: { upstream } }));
    expect(config.mode).toBe('mirror');
    expect(config).toMatchObject({ replicaId: 'mirror-1', dataDir: join(dir, 'data'), mirror: { upstream: ['http://127.0.0.1:7001', 'https://replica-2.example.org'] } });
    expect('keystore' in config).toBe(false);
  });

  it('a replica config still loads as a replica, and loadConfig (what needs a key) refuses a mirror config', () => {
    const keystore = { kind: 'encrypted-file', dir: 'keys', label: 'replica' };
    expect(loadNodeConfig(write({ ...base, keystore })).mode).toBe('replica');
    expect(loadError({ ...base, replicaId: 'mirror-1', mirror: { upstream } })).toMatch(/mirror: this is a read-only mirror's config/);
  });

  it('a missing or empty upstream is refused, saying what a mirror needs', () => {
    expect(nodeError({ ...base, replicaId: 'm', mirror: {} })).toMatch(/mirror\.upstream: a mirror needs upstream: the list of replica or mirror URLs it follows/);
    expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream: [] } })).toMatch(/mirror\.upstream: a mirror needs at least one upstream URL/);
  });

  it('an upstream that is not a plain http(s) base URL, or listed twice, is refused by name', () => {
    for (const bad of ['ftp://x.example', 'not a url', 'http://user:pw@x.example', 'http://x.example/?q=1', 'http://x.example/#f']) {
      expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream: [bad] } })).toMatch(/mirror\.upstream\.0: an upstream is the http:\/\/ or https:\/\/ base URL/);
    }
    expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream: ['http://a.example', 'http://a.example/'] } })).toMatch(/upstream lists a URL twice/);
    expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream: Array.from({ length: 17 }, (_, i) => `http://a${i}.example`) } })).toMatch(/at most 16 upstream URLs/);
  });

  it('a mirror with a keystore, or a replica with neither, is refused with the reason', () => {
    expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream }, keystore: { kind: 'encrypted-file', dir: 'keys', label: 'replica' } })).toMatch(/keystore: a mirror never signs, so it has no keystore/);
    expect(nodeError({ ...base })).toMatch(/keystore: required .*a read-only mirror has a mirror section instead/);
  });

  it('mirror.ca: a plain-HTTP mirror verifies https:// upstreams against a CA bundle, resolved beside the config; not with a tls section, not a non-PEM file', () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=ca', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')], { stdio: 'ignore' });
    const config = loadNodeConfig(write({ ...base, replicaId: 'm', mirror: { upstream, ca: 'ca.crt' } }));
    expect(config).toMatchObject({ mode: 'mirror', mirror: { ca: join(dir, 'ca.crt') } });
    expect(config.tls).toBeUndefined();
    writeFileSync(join(dir, 'not-a-ca.txt'), 'hello');
    expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream, ca: 'not-a-ca.txt' } })).toMatch(/mirror\.ca \(.*not-a-ca\.txt\): not a PEM X\.509 certificate bundle/);
    expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream, ca: 'missing.crt' } })).toMatch(/mirror\.ca \(.*missing\.crt\): cannot read/);
    chmodSync(join(dir, 'ca.key'), 0o600);
    expect(nodeError({ ...base, replicaId: 'm', mirror: { upstream, ca: 'ca.crt' }, tls: { cert: 'ca.crt', key: 'ca.key' } })).toMatch(/mirror\.ca: this mirror has a tls section; give the upstreams' CA as tls\.ca instead/);
  });

  it('a mirror whose id is a replica id of the membership is refused', () => {
    const config = loadNodeConfig(write({ ...base, replicaId: 'r2', mirror: { upstream } })) as { mode: 'mirror' } & MirrorConfig;
    const membership = { epoch: 0n, replicas: [{ id: 'r1' }, { id: 'r2' }] };
    expect(() => checkMirrorId(config, membership, 'm.json')).toThrow(/invalid config m\.json: replicaId: "r2" is a replica of epoch 0; a mirror needs an id no replica has/);
    expect(() => checkMirrorId({ ...config, replicaId: 'mirror-1' }, membership)).not.toThrow();
  });
});
