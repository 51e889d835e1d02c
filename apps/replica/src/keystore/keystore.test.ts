import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { bytesToHex, hexToBytes, utf8, verifyEd25519 } from '@vcr/proofs';
import { type KeyFile, sealKeyFile } from './encrypted-file-keystore';
import {
  defaultScryptCost,
  EncryptedFileKeyStore,
  type KeyHandle,
  type KeyStore,
  KeyStoreError,
  type KeyStoreErrorCode,
  MemoryKeyStore,
  passphraseFromEnvironment,
  type ScryptCost,
} from './index';

/** 2^12 keeps each derivation to a few milliseconds; production files use defaultScryptCost. */
const testCost: ScryptCost = { N: 2 ** 12, r: 8, p: 1 };
const passphrase = 'correct horse battery staple';

// RFC 8032 section 7.1, TEST 1.
const rfcSeed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const rfcPublicKey = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const rfcEmptySignature =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

function expectKeyStoreError(action: () => unknown, codes: readonly KeyStoreErrorCode[]): KeyStoreError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KeyStoreError);
  const error = caught as KeyStoreError;
  expect(codes).toContain(error.code);
  return error;
}

function expectSignsVerifiably(handle: KeyHandle): void {
  const message = utf8(`a message for ${handle.label}`);
  const signature = handle.sign(message);
  expect(signature).toHaveLength(64);
  expect(verifyEd25519(nodeBackend, signature, message, handle.publicKey)).toBe(true);
  expect(verifyEd25519(nodeBackend, signature, utf8('another message'), handle.publicKey)).toBe(false);
}

function expectOnlyPublicSurface(handle: KeyHandle): void {
  expect(Object.keys(handle).sort()).toEqual(['label', 'publicKey', 'sign']);
  expect(Object.getOwnPropertySymbols(handle)).toEqual([]);
  const json: unknown = JSON.parse(JSON.stringify(handle));
  expect(Object.keys(json as object).sort()).toEqual(['label', 'publicKey']);
  expect(Object.isFrozen(handle)).toBe(true);
}

describe('MemoryKeyStore', () => {
  it('a generated key signs messages that verify under its public key', () => {
    const store: KeyStore = new MemoryKeyStore();
    expect(store.kind).toBe('memory');
    const handle = store.generate('replica-1');
    expect(handle.label).toBe('replica-1');
    expect(handle.publicKey).toHaveLength(32);
    expectSignsVerifiably(handle);
    expect(store.open('replica-1')).toBe(handle);
  });

  it('an imported seed gives the RFC 8032 public key and signature, and the caller may wipe its copy', () => {
    const store = new MemoryKeyStore();
    const seed = hexToBytes(rfcSeed);
    const handle = store.importSeed('vector', seed);
    seed.fill(0);
    expect(bytesToHex(handle.publicKey)).toBe(rfcPublicKey);
    expect(bytesToHex(handle.sign(new Uint8Array(0)))).toBe(rfcEmptySignature);
  });

  it('the handle exposes only label, publicKey and sign, and never the seed', () => {
    const store = new MemoryKeyStore();
    const handle = store.importSeed('vector', hexToBytes(rfcSeed));
    expectOnlyPublicSurface(handle);
    const seedBytes = [...hexToBytes(rfcSeed)].join(',');
    expect(JSON.stringify(handle)).not.toContain(seedBytes);
    expect(JSON.stringify(handle)).not.toContain(rfcSeed);
  });

  it('altering a returned public key does not alter the key the handle reports', () => {
    const handle = new MemoryKeyStore().generate('k');
    const before = bytesToHex(handle.publicKey);
    handle.publicKey.fill(0);
    expect(bytesToHex(handle.publicKey)).toBe(before);
  });

  it('generate on an existing label fails with exists, open on a missing one with not-found', () => {
    const store = new MemoryKeyStore();
    const first = store.generate('k');
    expectKeyStoreError(() => store.generate('k'), ['exists']);
    expectKeyStoreError(() => store.importSeed('k', hexToBytes(rfcSeed)), ['exists']);
    expect(store.open('k')).toBe(first);
    expectKeyStoreError(() => store.open('missing'), ['not-found']);
  });

  it('list returns the labels sorted', () => {
    const store = new MemoryKeyStore();
    store.generate('b');
    store.generate('a');
    store.generate('c.consensus');
    expect(store.list()).toEqual(['a', 'b', 'c.consensus']);
  });

  it('labels that could escape a directory or are empty or too long are refused as config errors', () => {
    const store = new MemoryKeyStore();
    for (const label of ['', '.hidden', '../x', 'a/b', 'a\\b', 'x'.repeat(65), 'space here']) {
      expectKeyStoreError(() => store.generate(label), ['config']);
    }
    expect(store.generate('x'.repeat(64)).label).toHaveLength(64);
  });
});

describe('EncryptedFileKeyStore', () => {
  let directory: string;
  let store: EncryptedFileKeyStore;

  const pathOf = (label: string) => join(directory, `${label}.key.json`);
  const readKeyFile = (label: string) => JSON.parse(readFileSync(pathOf(label), 'utf8')) as Record<string, unknown>;
  const writeKeyFile = (label: string, content: unknown) => writeFileSync(pathOf(label), JSON.stringify(content), { mode: 0o600 });
  const reopen = (label: string, withPassphrase = passphrase) => new EncryptedFileKeyStore(directory, withPassphrase, { scryptCost: testCost }).open(label);

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'vcr-keystore-'));
    store = new EncryptedFileKeyStore(directory, passphrase, { scryptCost: testCost });
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('a generated key signs messages that verify under its public key', () => {
    expect(store.kind).toBe('encrypted-file');
    const handle = store.generate('replica-1');
    expect(handle.label).toBe('replica-1');
    expectSignsVerifiably(handle);
    expect(store.list()).toEqual(['replica-1']);
  });

  it('reopening with the right passphrase gives the same public key and the same signatures', () => {
    const generated = store.generate('replica-1');
    const message = utf8('deterministic');
    const reopened = reopen('replica-1');
    expect(bytesToHex(reopened.publicKey)).toBe(bytesToHex(generated.publicKey));
    expect(bytesToHex(reopened.sign(message))).toBe(bytesToHex(generated.sign(message)));
    expectSignsVerifiably(reopened);
  });

  it('writes the documented format with mode 0600 and leaves no temporary file', () => {
    const handle = store.generate('k');
    const file = readKeyFile('k');
    expect(Object.keys(file).sort()).toEqual(['N', 'cipher', 'ciphertext', 'iv', 'kdf', 'p', 'publicKey', 'r', 'salt', 'tag', 'version']);
    expect(file).toMatchObject({ version: 1, kdf: 'scrypt', N: testCost.N, r: 8, p: 1, cipher: 'aes-256-gcm', publicKey: bytesToHex(handle.publicKey) });
    expect(statSync(pathOf('k')).mode & 0o777).toBe(0o600);
    expect(readdirSync(directory)).toEqual(['k.key.json']);
  });

  it('creates a missing key directory with mode 0700', () => {
    const nested = join(directory, 'nested', 'keys');
    const nestedStore = new EncryptedFileKeyStore(nested, passphrase, { scryptCost: testCost });
    expect(nestedStore.list()).toEqual([]);
    nestedStore.generate('k');
    expect(statSync(nested).mode & 0o777).toBe(0o700);
    expect(nestedStore.list()).toEqual(['k']);
  });

  it('defaults to scrypt N = 2^15, r = 8, p = 1, within the raised memory limit', () => {
    expect(defaultScryptCost).toEqual({ N: 2 ** 15, r: 8, p: 1 });
    const defaultStore = new EncryptedFileKeyStore(directory, passphrase);
    const handle = defaultStore.generate('default-cost');
    expect(readKeyFile('default-cost')).toMatchObject({ N: 2 ** 15, r: 8, p: 1 });
    expect(bytesToHex(new EncryptedFileKeyStore(directory, passphrase).open('default-cost').publicKey)).toBe(bytesToHex(handle.publicKey));
  });

  it('a wrong passphrase is refused with bad-passphrase', () => {
    store.generate('k');
    expectKeyStoreError(() => reopen('k', 'Correct horse battery staple'), ['bad-passphrase']);
  });

  it('the same passphrase in another Unicode normalization opens the key', () => {
    const composed = new EncryptedFileKeyStore(directory, 'caf\u00e9', { scryptCost: testCost });
    const handle = composed.generate('k');
    expect(bytesToHex(reopen('k', 'cafe\u0301').publicKey)).toBe(bytesToHex(handle.publicKey));
  });

  it('flipping any bit of salt, iv, ciphertext, tag or publicKey makes the file refused', () => {
    store.generate('k');
    const original = readKeyFile('k');
    const fields = ['salt', 'iv', 'ciphertext', 'tag', 'publicKey'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.nat(), fc.integer({ min: 0, max: 7 }), (field, position, bit) => {
        const bytes = hexToBytes(original[field] as string);
        const index = position % bytes.length;
        bytes[index] = (bytes[index] ?? 0) ^ (1 << bit);
        writeKeyFile('k', { ...original, [field]: bytesToHex(bytes) });
        expectKeyStoreError(() => reopen('k'), ['bad-passphrase', 'corrupt']);
      }),
      { numRuns: 40 },
    );
    // And each field's first and last byte, whatever the random runs chose.
    for (const field of fields) {
      const length = hexToBytes(original[field] as string).length;
      for (const index of [0, length - 1]) {
        const bytes = hexToBytes(original[field] as string);
        bytes[index] = (bytes[index] ?? 0) ^ 0x80;
        writeKeyFile('k', { ...original, [field]: bytesToHex(bytes) });
        expectKeyStoreError(() => reopen('k'), ['bad-passphrase', 'corrupt']);
      }
    }
    writeKeyFile('k', original);
    expect(bytesToHex(reopen('k').publicKey)).toBe(original.publicKey);
  });

  it('changing the recorded scrypt cost makes the file refused', () => {
    store.generate('k');
    const original = readKeyFile('k');
    for (const change of [{ N: 2 ** 13 }, { r: 4 }, { p: 2 }]) {
      writeKeyFile('k', { ...original, ...change });
      expectKeyStoreError(() => reopen('k'), ['bad-passphrase']);
    }
  });

  it('key files swapped between labels, or copied to a new label, are refused', () => {
    store.generate('alpha');
    store.generate('beta');
    const alpha = readFileSync(pathOf('alpha'));
    const beta = readFileSync(pathOf('beta'));
    writeFileSync(pathOf('alpha'), beta);
    writeFileSync(pathOf('beta'), alpha);
    writeFileSync(pathOf('gamma'), alpha);
    for (const label of ['alpha', 'beta', 'gamma']) expectKeyStoreError(() => reopen(label), ['bad-passphrase', 'corrupt']);
  });

  it('a file whose public key does not belong to its seed is corrupt', () => {
    const otherPublicKey = createNodeSigner(new Uint8Array(32).fill(7)).publicKey;
    const file: KeyFile = sealKeyFile({ label: 'k', seed: hexToBytes(rfcSeed), publicKey: otherPublicKey, passphrase, cost: testCost });
    writeKeyFile('k', file);
    const error = expectKeyStoreError(() => reopen('k'), ['corrupt']);
    expect(error.message).toContain('public key');
    // The same seal with the right public key opens, so the refusal is about the mismatch alone.
    writeKeyFile('k', sealKeyFile({ label: 'k', seed: hexToBytes(rfcSeed), publicKey: hexToBytes(rfcPublicKey), passphrase, cost: testCost }));
    expect(bytesToHex(reopen('k').publicKey)).toBe(rfcPublicKey);
  });

  it('a file with an extra or a missing field is corrupt', () => {
    store.generate('k');
    const original = readKeyFile('k');
    writeKeyFile('k', { ...original, comment: 'hello' });
    expectKeyStoreError(() => reopen('k'), ['corrupt']);
    for (const field of Object.keys(original)) {
      const { [field]: _removed, ...rest } = original;
      writeKeyFile('k', rest);
      expectKeyStoreError(() => reopen('k'), ['corrupt']);
    }
  });

  it('malformed contents are corrupt: not JSON, wrong literals, wrong hex, unbounded cost, oversized file', () => {
    store.generate('k');
    const original = readKeyFile('k');
    const variants: unknown[] = [
      [original],
      null,
      { ...original, version: 2 },
      { ...original, kdf: 'pbkdf2' },
      { ...original, cipher: 'aes-128-gcm' },
      { ...original, salt: (original.salt as string).toUpperCase() },
      { ...original, iv: `${original.iv as string}00` },
      { ...original, ciphertext: (original.ciphertext as string).slice(2) },
      { ...original, N: 3000 },
      { ...original, N: 2 ** 30 },
      { ...original, r: 0 },
      { ...original, p: 1.5 },
      { ...original, N: String(original.N) },
    ];
    for (const variant of variants) {
      writeKeyFile('k', variant);
      expectKeyStoreError(() => reopen('k'), ['corrupt']);
    }
    writeFileSync(pathOf('k'), '{ not json');
    expectKeyStoreError(() => reopen('k'), ['corrupt']);
    writeFileSync(pathOf('k'), ' '.repeat(5000));
    expectKeyStoreError(() => reopen('k'), ['corrupt']);
  });

  it('generate on an existing label fails with exists and leaves the file untouched', () => {
    store.generate('k');
    const before = readFileSync(pathOf('k'), 'utf8');
    expectKeyStoreError(() => store.generate('k'), ['exists']);
    expect(readFileSync(pathOf('k'), 'utf8')).toBe(before);
    expect(readdirSync(directory)).toEqual(['k.key.json']);
  });

  it('open on a missing label fails with not-found', () => {
    expectKeyStoreError(() => store.open('missing'), ['not-found']);
  });

  it('the handle exposes only label, publicKey and sign', () => {
    const handle = store.generate('k');
    expectOnlyPublicSurface(handle);
    expectOnlyPublicSurface(reopen('k'));
  });

  it('list shows key labels only, sorted, ignoring other files', () => {
    store.generate('b');
    store.generate('a');
    writeFileSync(join(directory, 'notes.txt'), 'x');
    writeFileSync(join(directory, '.a.key.json.0011.tmp'), 'x');
    expect(store.list()).toEqual(['a', 'b']);
  });

  it('an empty passphrase or a scrypt cost out of bounds is a config error', () => {
    expectKeyStoreError(() => new EncryptedFileKeyStore(directory, ''), ['config']);
    for (const scryptCost of [{ N: 2 ** 9, r: 8, p: 1 }, { N: 3000, r: 8, p: 1 }, { N: 2 ** 20, r: 8, p: 1 }, { N: 2 ** 12, r: 8, p: 5 }]) {
      expectKeyStoreError(() => new EncryptedFileKeyStore(directory, passphrase, { scryptCost }), ['config']);
    }
  });
});

describe('passphraseFromEnvironment', () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'vcr-passphrase-'));
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('reads VCR_KEY_PASSPHRASE as it is', () => {
    expect(passphraseFromEnvironment({ VCR_KEY_PASSPHRASE: ' spaced passphrase ' })).toBe(' spaced passphrase ');
  });

  it('reads the file named by VCR_KEY_PASSPHRASE_FILE without its trailing newline', () => {
    const path = join(directory, 'passphrase');
    writeFileSync(path, 'from a file\n');
    expect(passphraseFromEnvironment({ VCR_KEY_PASSPHRASE_FILE: path })).toBe('from a file');
    writeFileSync(path, 'windows\r\n');
    expect(passphraseFromEnvironment({ VCR_KEY_PASSPHRASE_FILE: path })).toBe('windows');
  });

  it('refuses when neither or both are set, when the file is empty, and when it cannot be read', () => {
    const path = join(directory, 'passphrase');
    writeFileSync(path, '\n');
    expect(expectKeyStoreError(() => passphraseFromEnvironment({}), ['config']).message).toContain('VCR_KEY_PASSPHRASE');
    expectKeyStoreError(() => passphraseFromEnvironment({ VCR_KEY_PASSPHRASE: 'a', VCR_KEY_PASSPHRASE_FILE: path }), ['config']);
    expectKeyStoreError(() => passphraseFromEnvironment({ VCR_KEY_PASSPHRASE_FILE: path }), ['config']);
    const error = expectKeyStoreError(() => passphraseFromEnvironment({ VCR_KEY_PASSPHRASE_FILE: join(directory, 'absent') }), ['io']);
    expect(error.cause).toBeInstanceOf(Error);
  });
});
