// The PKCS#11 keystore against a real SoftHSM2 token; no mocks. Each test makes
// its own token directory and softhsm2.conf, and points SOFTHSM2_CONF at it
// before the first keystore initializes the module (SoftHSM2 reads it at
// C_Initialize; the last keystore to close finalizes, so the next test's token
// is read afresh). Without SoftHSM2 every test fails and says to install it.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Pkcs11Js from 'pkcs11js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeBackend } from '@vcr/crypto-node';
import { signingPayload } from '@vcr/consensus';
import { bytesToHex, checkEd25519, equalBytes, nobleBackend, signingBytes, utf8, verifyEd25519 } from '@vcr/proofs';
import { initSoftHsmToken, requireSoftHsm, SOFTHSM2_MODULE } from '../../../../ops/pkcs11-setup';
import {
  createGuardedSigner,
  type KeyHandle,
  KeyStoreError,
  type KeyStoreErrorCode,
  MemorySignerJournal,
  openConfiguredKey,
  Pkcs11KeyStore,
  pkcs11PinFromEnvironment,
  SignerRefusal,
} from './index';
import { decodeEd25519EcPoint, ED25519_CURVE_NAME_DER, ED25519_EC_PARAMS_DER, encodeEd25519EcPoint, isEd25519EcParams } from './pkcs11-der';
import { ck } from './pkcs11-token';

const repoRoot = resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
const modulePath = SOFTHSM2_MODULE;
const soPin = 'so-pin-1234';
const pin = 'user-pin-5678';

let root = '';
let tokenCount = 0;
const openStores: Pkcs11KeyStore[] = [];

interface TestToken {
  tokenLabel: string;
  confPath: string;
}

/** A fresh token in its own directory, and SOFTHSM2_CONF pointing at it. */
function makeToken(): TestToken {
  tokenCount += 1;
  const tokenLabel = `vcr-test-${tokenCount}`;
  const { confPath } = initSoftHsmToken({ dir: join(root, tokenLabel), tokenLabel, soPin, pin });
  process.env.SOFTHSM2_CONF = confPath;
  return { tokenLabel, confPath };
}

function connect(token: TestToken, userPin = pin): Pkcs11KeyStore {
  const store = new Pkcs11KeyStore({ modulePath, tokenLabel: token.tokenLabel, pin: userPin });
  openStores.push(store);
  return store;
}

function expectKeyStoreError(action: () => unknown, code: KeyStoreErrorCode, message: RegExp): KeyStoreError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KeyStoreError);
  const error = caught as KeyStoreError;
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  return error;
}

/**
 * A session of the test's own on the token, straight through pkcs11js, for
 * inspecting and tampering with objects. Only while no keystore is open, so the
 * test owns C_Initialize and C_Finalize.
 */
function withRawSession<T>(token: TestToken, action: (library: Pkcs11Js.PKCS11, session: Buffer) => T): T {
  expect(openStores.every((store) => !isOpen(store))).toBe(true);
  process.env.SOFTHSM2_CONF = token.confPath;
  const pkcs11js = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Js;
  const library = new pkcs11js.PKCS11();
  library.load(modulePath);
  library.C_Initialize();
  try {
    const slot = library.C_GetSlotList(true).find((s) => library.C_GetTokenInfo(s).label.trim() === token.tokenLabel);
    if (slot === undefined) throw new Error(`test token ${token.tokenLabel} not found`);
    const session = library.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
    library.C_Login(session, ck.CKU_USER, pin);
    try {
      return action(library, session);
    } finally {
      library.C_Logout(session);
      library.C_CloseSession(session);
    }
  } finally {
    library.C_Finalize();
    library.close();
  }
}

function isOpen(store: Pkcs11KeyStore): boolean {
  try {
    store.list();
    return true;
  } catch {
    return false;
  }
}

function findByLabel(library: Pkcs11Js.PKCS11, session: Buffer, objectClass: number, label: string): Buffer {
  library.C_FindObjectsInit(session, [
    { type: ck.CKA_CLASS, value: objectClass },
    { type: ck.CKA_LABEL, value: label },
  ]);
  const found = library.C_FindObjects(session, 2);
  library.C_FindObjectsFinal(session);
  expect(found).toHaveLength(1);
  const [handle] = found;
  if (handle === undefined) throw new Error('unreachable');
  return handle;
}

function expectSignsStrictly(handle: KeyHandle): void {
  const message = utf8(`a vote signed by ${handle.label}`);
  const signature = handle.sign(message);
  expect(signature).toHaveLength(64);
  expect(checkEd25519(nodeBackend, signature, message, handle.publicKey)).toBeUndefined();
  expect(checkEd25519(nobleBackend, signature, message, handle.publicKey)).toBeUndefined();
  expect(verifyEd25519(nodeBackend, signature, utf8('another message'), handle.publicKey)).toBe(false);
  expect(verifyEd25519(nobleBackend, signature, utf8('another message'), handle.publicKey)).toBe(false);
}

beforeAll(() => {
  // Fails (does not skip) every test below when SoftHSM2 is absent: CI installs it in .ci/run.
  requireSoftHsm(modulePath);
  root = mkdtempSync(join(tmpdir(), 'vcr-pkcs11-'));
});

afterEach(() => {
  for (const store of openStores.splice(0)) store.close();
});

afterAll(() => {
  if (root !== '') rmSync(root, { recursive: true, force: true });
});

describe('Pkcs11KeyStore on SoftHSM2', () => {
  it('a key generated on the token opens by label and signs under the strict rule, checked by node:crypto and noble', () => {
    const token = makeToken();
    const store = connect(token);
    expect(store.kind).toBe('pkcs11');
    const generated = store.generate('replica-1');
    expect(generated.publicKey).toHaveLength(32);
    const opened = store.open('replica-1');
    expect(opened.label).toBe('replica-1');
    expect(bytesToHex(opened.publicKey)).toBe(bytesToHex(generated.publicKey));
    expectSignsStrictly(opened);
    expectSignsStrictly(generated);
    // Ed25519 is deterministic: the token gives the same signature for the same message.
    expect(bytesToHex(opened.sign(utf8('m')))).toBe(bytesToHex(generated.sign(utf8('m'))));
  });

  it('a handle exposes only label, publicKey and sign, frozen', () => {
    const store = connect(makeToken());
    const handle = store.generate('replica-1');
    expect(Object.keys(handle).sort()).toEqual(['label', 'publicKey', 'sign']);
    expect(Object.isFrozen(handle)).toBe(true);
    const json = JSON.parse(JSON.stringify(handle)) as object;
    expect(Object.keys(json).sort()).toEqual(['label', 'publicKey']);
    handle.publicKey.fill(0);
    expect(handle.publicKey.some((byte) => byte !== 0)).toBe(true);
  });

  it('the private key never leaves the token: CKA_VALUE is refused, it is sensitive, never extractable, a token object', () => {
    const token = makeToken();
    const store = connect(token);
    const publicKey = store.generate('replica-1').publicKey;
    store.close();
    withRawSession(token, (library, session) => {
      const privateKey = findByLabel(library, session, ck.CKO_PRIVATE_KEY, 'replica-1');
      const publicObject = findByLabel(library, session, ck.CKO_PUBLIC_KEY, 'replica-1');
      let refusal: unknown;
      try {
        library.C_GetAttributeValue(session, privateKey, [{ type: ck.CKA_VALUE }]);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toMatchObject({ name: 'Pkcs11Error', code: ck.CKR_ATTRIBUTE_SENSITIVE });
      const CKA_NEVER_EXTRACTABLE = 0x164;
      const CKA_ALWAYS_SENSITIVE = 0x165;
      const flags = library.C_GetAttributeValue(session, privateKey, [
        { type: ck.CKA_SENSITIVE },
        { type: ck.CKA_EXTRACTABLE },
        { type: CKA_ALWAYS_SENSITIVE },
        { type: CKA_NEVER_EXTRACTABLE },
        { type: ck.CKA_TOKEN },
        { type: ck.CKA_PRIVATE },
        { type: ck.CKA_SIGN },
      ]);
      expect(flags.map((attribute) => attribute.value[0])).toEqual([1, 0, 1, 1, 1, 1, 1]);
      const [privateId] = library.C_GetAttributeValue(session, privateKey, [{ type: ck.CKA_ID }]);
      const [publicId, point] = library.C_GetAttributeValue(session, publicObject, [{ type: ck.CKA_ID }, { type: ck.CKA_EC_POINT }]);
      expect(privateId?.value).toHaveLength(16);
      expect(privateId?.value.equals(publicId?.value ?? Buffer.alloc(0))).toBe(true);
      expect(bytesToHex(point?.value ?? new Uint8Array(0))).toBe(bytesToHex(encodeEd25519EcPoint(publicKey)));
    });
  });

  it('a second keystore (its own session) opens the same key; closing one leaves the other signing', () => {
    const token = makeToken();
    const first = connect(token);
    const generated = first.generate('replica-1');
    const second = connect(token);
    const opened = second.open('replica-1');
    expect(bytesToHex(opened.publicKey)).toBe(bytesToHex(generated.publicKey));
    first.close();
    expectSignsStrictly(opened);
    expectKeyStoreError(() => generated.sign(utf8('m')), 'config', /is closed/);
    expectKeyStoreError(() => first.open('replica-1'), 'config', /is closed/);
  });

  it('the key outlives the process state: after every keystore closed and the module finalized, a new one opens it', () => {
    const token = makeToken();
    const store = connect(token);
    const publicKey = store.generate('replica-1').publicKey;
    store.close();
    const again = connect(token);
    const handle = again.open('replica-1');
    expect(bytesToHex(handle.publicKey)).toBe(bytesToHex(publicKey));
    expectSignsStrictly(handle);
  });

  it('a wrong PIN is a config error that says so', () => {
    const token = makeToken();
    const error = expectKeyStoreError(() => connect(token, 'not-the-pin'), 'config', /wrong PIN/);
    expect(error.message).toMatch(/CKR_PIN_INCORRECT/);
    expect(error.message).toMatch(/VCR_PKCS11_PIN/);
    // The failed attempt left nothing half-open: the right PIN still works.
    connect(token).generate('replica-1');
  });

  it('a wrong PIN is refused even while another keystore of this process is logged in (where C_Login would not check it)', () => {
    const token = makeToken();
    connect(token).generate('replica-1');
    expectKeyStoreError(() => connect(token, 'not-the-pin'), 'config', /wrong PIN/);
  });

  it('an unknown key label is not-found; an invalid one is config', () => {
    const store = connect(makeToken());
    store.generate('replica-1');
    expectKeyStoreError(() => store.open('replica-2'), 'not-found', /no key labelled 'replica-2'/);
    expectKeyStoreError(() => store.open('../x'), 'config', /invalid key label/);
  });

  it('generate on a taken label is exists, and the existing key is untouched', () => {
    const store = connect(makeToken());
    const first = store.generate('replica-1');
    expectKeyStoreError(() => store.generate('replica-1'), 'exists', /already exists/);
    expect(bytesToHex(store.open('replica-1').publicKey)).toBe(bytesToHex(first.publicKey));
    expect(store.list()).toEqual(['replica-1']);
  });

  it('list gives the labels of the token\'s Ed25519 keys, sorted', () => {
    const store = connect(makeToken());
    expect(store.list()).toEqual([]);
    for (const label of ['replica-b', 'replica-a', 'replica-c']) store.generate(label);
    expect(store.list()).toEqual(['replica-a', 'replica-b', 'replica-c']);
  });

  it('an unknown token label is a config error naming the tokens present', () => {
    const token = makeToken();
    expectKeyStoreError(() => connect({ ...token, tokenLabel: 'no-such-token' }), 'config', new RegExp(`no PKCS#11 token labelled 'no-such-token'.*'${token.tokenLabel}'.*SOFTHSM2_CONF`));
  });

  it('a missing module is a config error that says how to install SoftHSM2', () => {
    makeToken();
    expectKeyStoreError(() => new Pkcs11KeyStore({ modulePath: join(root, 'no-such-module.so'), tokenLabel: 'x', pin }), 'config', /does not exist.*apt-get install softhsm2/);
    const notALibrary = join(root, 'not-a-library.so');
    writeFileSync(notALibrary, 'not ELF');
    expectKeyStoreError(() => new Pkcs11KeyStore({ modulePath: notALibrary, tokenLabel: 'x', pin }), 'config', /cannot load PKCS#11 module/);
  });

  it('a private key without its public key object is corrupt', () => {
    const token = makeToken();
    const store = connect(token);
    store.generate('replica-1');
    store.close();
    withRawSession(token, (library, session) => library.C_DestroyObject(session, findByLabel(library, session, ck.CKO_PUBLIC_KEY, 'replica-1')));
    expectKeyStoreError(() => connect(token).open('replica-1'), 'corrupt', /no public key object/);
  });

  it('a signature that does not verify under the public key is never released (a public object of another key, relabelled)', () => {
    const token = makeToken();
    const store = connect(token);
    store.generate('replica-1');
    store.generate('replica-2');
    store.close();
    withRawSession(token, (library, session) => {
      const ownPublic = findByLabel(library, session, ck.CKO_PUBLIC_KEY, 'replica-1');
      const otherPublic = findByLabel(library, session, ck.CKO_PUBLIC_KEY, 'replica-2');
      const [id] = library.C_GetAttributeValue(session, ownPublic, [{ type: ck.CKA_ID }]);
      library.C_SetAttributeValue(session, ownPublic, [{ type: ck.CKA_LABEL, value: 'parked' }]);
      // Same label and same CKA_ID as replica-1's private key: only the signature check can tell.
      library.C_SetAttributeValue(session, otherPublic, [
        { type: ck.CKA_LABEL, value: 'replica-1' },
        { type: ck.CKA_ID, value: id?.value ?? Buffer.alloc(0) },
      ]);
    });
    expectKeyStoreError(() => connect(token).open('replica-1'), 'corrupt', /does not verify under its public key \(equation-failed\); it was not released/);
  });

  it('the guarded signer works on a PKCS#11 handle: same vote re-signed identically, a conflicting vote refused', () => {
    const chainId = 'vcr-test';
    const noSignature = new Uint8Array(64);
    const prepare = (headerHash: Uint8Array) =>
      signingBytes({ kind: 'prepare', chainId, epoch: 0n }, signingPayload(nodeBackend, { type: 'prepare', epoch: 0n, from: 'r1', view: 0n, seq: 1n, headerHash, signature: noSignature }));
    const handle = connect(makeToken()).generate('replica-1');
    const journal = new MemorySignerJournal();
    const guarded = createGuardedSigner(handle, journal, { chainId, backend: nodeBackend });
    expect(bytesToHex(guarded.publicKey)).toBe(bytesToHex(handle.publicKey));
    const votes = prepare(new Uint8Array(32).fill(0xaa));
    const signature = guarded.sign(votes);
    expect(verifyEd25519(nodeBackend, signature, votes, handle.publicKey)).toBe(true);
    expect(equalBytes(guarded.sign(votes), signature)).toBe(true);
    let refusal: unknown;
    try {
      guarded.sign(prepare(new Uint8Array(32).fill(0xbb)));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(SignerRefusal);
    expect((refusal as SignerRefusal).code).toBe('conflicting');
    expect(journal.lastEntry()?.index).toBe(0n);
  });

  it('openConfiguredKey opens a pkcs11 key with the PIN from the environment, never from the config', () => {
    const token = makeToken();
    const publicKey = connect(token).generate('replica-1').publicKey;
    const config = { kind: 'pkcs11', module: modulePath, tokenLabel: token.tokenLabel, label: 'replica-1' } as const;
    expectKeyStoreError(() => openConfiguredKey(config, {}), 'config', /no PKCS#11 user PIN/);
    const opened = openConfiguredKey(config, { VCR_PKCS11_PIN: pin });
    try {
      expect(bytesToHex(opened.key.publicKey)).toBe(bytesToHex(publicKey));
      expectSignsStrictly(opened.key);
    } finally {
      opened.close();
    }
    expectKeyStoreError(() => opened.key.sign(utf8('m')), 'config', /is closed/);
    expectKeyStoreError(() => openConfiguredKey({ ...config, label: 'replica-2' }, { VCR_PKCS11_PIN: pin }), 'not-found', /replica-2/);
  });

  it('key rotation: a key generated on the token while the replica runs is found by its public key, and signs on the token', () => {
    const token = makeToken();
    connect(token).generate('replica-1');
    const opened = openConfiguredKey({ kind: 'pkcs11', module: modulePath, tokenLabel: token.tokenLabel, label: 'replica-1' }, { VCR_PKCS11_PIN: pin });
    try {
      // The rotation key is made after the replica opened its keystore, by another session (the operator's keygen).
      const rotated = connect(token).generate('replica-1-epoch-2').publicKey;
      const found = opened.keyFor(rotated);
      expect(found?.label).toBe('replica-1-epoch-2');
      expect(bytesToHex(found?.publicKey ?? new Uint8Array())).toBe(bytesToHex(rotated));
      expectSignsStrictly(found as NonNullable<typeof found>);
      expect(opened.keyFor(new Uint8Array(32).fill(7))).toBeUndefined();
    } finally {
      opened.close();
    }
  });

  it('ops/pkcs11-setup.ts makes a token and a key in another process; this process opens it with the printed public key', () => {
    const dir = join(root, 'from-ops');
    const output = execFileSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'ops/pkcs11-setup.ts'), '--dir', dir, '--token-label', 'ops-token', '--label', 'replica-9'], {
      env: { ...process.env, VCR_PKCS11_PIN: pin, VCR_PKCS11_SO_PIN: soPin, SOFTHSM2_CONF: '' },
      encoding: 'utf8',
    });
    const printed = JSON.parse(output) as { softhsm2Conf: string; tokenLabel: string; label: string; publicKey: string };
    expect(printed).toMatchObject({ softhsm2Conf: join(dir, 'softhsm2.conf'), tokenLabel: 'ops-token', label: 'replica-9' });
    const token = { tokenLabel: 'ops-token', confPath: printed.softhsm2Conf };
    process.env.SOFTHSM2_CONF = token.confPath;
    const handle = connect(token).open('replica-9');
    expect(bytesToHex(handle.publicKey)).toBe(printed.publicKey);
    expectSignsStrictly(handle);
  });
});

describe('pkcs11PinFromEnvironment', () => {
  it('reads VCR_PKCS11_PIN, or the file named by VCR_PKCS11_PIN_FILE without trailing newlines; both or neither is config', () => {
    expect(pkcs11PinFromEnvironment({ VCR_PKCS11_PIN: '1234' })).toBe('1234');
    const file = join(root, 'pin.txt');
    writeFileSync(file, '5678\n');
    expect(pkcs11PinFromEnvironment({ VCR_PKCS11_PIN_FILE: file })).toBe('5678');
    expectKeyStoreError(() => pkcs11PinFromEnvironment({ VCR_PKCS11_PIN: '1', VCR_PKCS11_PIN_FILE: file }), 'config', /set only one/);
    expectKeyStoreError(() => pkcs11PinFromEnvironment({}), 'config', /no PKCS#11 user PIN/);
    expectKeyStoreError(() => pkcs11PinFromEnvironment({ VCR_PKCS11_PIN_FILE: join(root, 'missing') }), 'io', /cannot read/);
  });
});

describe('PKCS#11 DER values', () => {
  const publicKey = new Uint8Array(32).map((_, i) => i + 1);

  it('CKA_EC_POINT is exactly 04 20 and 32 bytes; every other shape is refused', () => {
    const good = encodeEd25519EcPoint(publicKey);
    expect(bytesToHex(good.subarray(0, 2))).toBe('0420');
    const decoded = decodeEd25519EcPoint(good);
    expect(decoded.ok && bytesToHex(decoded.publicKey)).toBe(bytesToHex(publicKey));
    expect(decodeEd25519EcPoint(publicKey)).toEqual({ ok: false, reason: 'bad-length' });
    expect(decodeEd25519EcPoint(Uint8Array.of(0x04, 0x81, 0x20, ...publicKey))).toEqual({ ok: false, reason: 'bad-length' });
    expect(decodeEd25519EcPoint(Uint8Array.of(0x03, 0x20, ...publicKey))).toEqual({ ok: false, reason: 'not-octet-string' });
    expect(decodeEd25519EcPoint(Uint8Array.of(0x04, 0x21, ...publicKey))).toEqual({ ok: false, reason: 'bad-der-length' });
    expect(decodeEd25519EcPoint(Uint8Array.of(...good, 0))).toEqual({ ok: false, reason: 'bad-length' });
  });

  it('CKA_EC_PARAMS is Ed25519 as OID 1.3.101.112 or as curve name edwards25519, and nothing else', () => {
    expect(bytesToHex(ED25519_EC_PARAMS_DER)).toBe('06032b6570');
    expect(bytesToHex(ED25519_CURVE_NAME_DER)).toBe(`130c${Buffer.from('edwards25519').toString('hex')}`);
    expect(isEd25519EcParams(ED25519_EC_PARAMS_DER)).toBe(true);
    expect(isEd25519EcParams(ED25519_CURVE_NAME_DER)).toBe(true);
    expect(isEd25519EcParams(Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x71))).toBe(false); // Ed448
    expect(isEd25519EcParams(Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x70, 0x00))).toBe(false);
  });
});
