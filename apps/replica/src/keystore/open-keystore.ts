// The replica's key as its config file names it (config.ts `keystore`): the
// backend, where it lives, and the label. Secrets never come from the config
// file: the passphrase or PIN is read from the environment here.

import { assertNever, bytesToHex } from '@vcr/proofs';
import { EncryptedFileKeyStore, passphraseFromEnvironment } from './encrypted-file-keystore';
import type { KeyHandle, KeyStore } from './keystore';
import { Pkcs11KeyStore, pkcs11PinFromEnvironment } from './pkcs11-keystore';

export type KeyStoreConfig =
  /** `dir` holds `<label>.key.json`; passphrase from VCR_KEY_PASSPHRASE or VCR_KEY_PASSPHRASE_FILE. */
  | { kind: 'encrypted-file'; dir: string; label: string }
  /** `module` is the PKCS#11 library, `tokenLabel` the token; PIN from VCR_PKCS11_PIN or VCR_PKCS11_PIN_FILE. */
  | { kind: 'pkcs11'; module: string; tokenLabel: string; label: string };

export interface ConfiguredKey {
  readonly key: KeyHandle;
  /**
   * Another key of the same keystore, by public key (key rotation: generated with `ops/membership.ts keygen`
   * while the replica runs, found when the epoch naming it starts). Opens each label until one
   * matches; undefined when none does.
   */
  keyFor(publicKey: Uint8Array): KeyHandle | undefined;
  /** Releases the backend (for PKCS#11: logs out and finalizes). The key stops signing. */
  close(): void;
}

/** Opens the configured keystore and the key labelled in it; throws KeyStoreError on any failure. */
export function openConfiguredKey(config: KeyStoreConfig, env: NodeJS.ProcessEnv): ConfiguredKey {
  switch (config.kind) {
    case 'encrypted-file': {
      const keystore = new EncryptedFileKeyStore(config.dir, passphraseFromEnvironment(env));
      return { key: keystore.open(config.label), keyFor: keyFinder(keystore), close: () => undefined };
    }
    case 'pkcs11': {
      const keystore = new Pkcs11KeyStore({ modulePath: config.module, tokenLabel: config.tokenLabel, pin: pkcs11PinFromEnvironment(env) });
      try {
        return { key: keystore.open(config.label), keyFor: keyFinder(keystore), close: () => keystore.close() };
      } catch (error) {
        keystore.close();
        throw error;
      }
    }
    default:
      return assertNever(config, 'keystore kind');
  }
}

/** Finds a key by public key among the store's labels, remembering what it opened. */
function keyFinder(keystore: KeyStore): (publicKey: Uint8Array) => KeyHandle | undefined {
  const opened = new Map<string, KeyHandle>();
  return (publicKey) => {
    const wanted = bytesToHex(publicKey);
    const known = [...opened.values()].find((k) => bytesToHex(k.publicKey) === wanted);
    if (known !== undefined) return known;
    for (const label of keystore.list()) {
      if (opened.has(label)) continue;
      try {
        const handle = keystore.open(label);
        opened.set(label, handle);
        if (bytesToHex(handle.publicKey) === wanted) return handle;
      } catch {
        // A key this passphrase or PIN cannot open is not ours to use.
      }
    }
    return undefined;
  };
}
