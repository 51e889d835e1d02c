import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

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
