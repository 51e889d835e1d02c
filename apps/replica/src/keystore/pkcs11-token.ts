// A logged-in session on one PKCS#11 token, for the PKCS#11 keystore.
//
// PKCS#11 state is per process, not per object: C_Initialize may run once per
// loaded module (a second call answers CKR_CRYPTOKI_ALREADY_INITIALIZED), and
// the login state of a token is shared by every session this process has on it
// (PKCS#11 2.40 section 5.6: C_Login on a second session answers
// CKR_USER_ALREADY_LOGGED_IN, and C_Logout logs all of them out). So two
// keystores on one module must not finalize or log out under each other. This
// file counts users per module and logins per token, and the last one out
// logs out and finalizes.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pkcs11Js from 'pkcs11js';
import { KeyStoreError } from './keystore';

/** PKCS#11 numbers the keystore uses (pkcs11t.h; the Edwards ones are PKCS#11 3.0, which pkcs11js has no names for). */
export const ck = {
  CKF_RW_SESSION: 0x2,
  CKF_SERIAL_SESSION: 0x4,
  CKU_USER: 1,
  CKO_PUBLIC_KEY: 2,
  CKO_PRIVATE_KEY: 3,
  CKK_EC_EDWARDS: 0x40,
  CKA_CLASS: 0x0,
  CKA_TOKEN: 0x1,
  CKA_PRIVATE: 0x2,
  CKA_LABEL: 0x3,
  CKA_VALUE: 0x11,
  CKA_KEY_TYPE: 0x100,
  CKA_ID: 0x102,
  CKA_SENSITIVE: 0x103,
  CKA_SIGN: 0x108,
  CKA_VERIFY: 0x10a,
  CKA_EXTRACTABLE: 0x162,
  CKA_EC_PARAMS: 0x180,
  CKA_EC_POINT: 0x181,
  CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  CKM_EDDSA: 0x1057,
  CKR_ATTRIBUTE_SENSITIVE: 0x11,
  CKR_MECHANISM_INVALID: 0x70,
  CKR_PIN_INCORRECT: 0xa0,
  CKR_PIN_INVALID: 0xa1,
  CKR_PIN_LEN_RANGE: 0xa2,
  CKR_PIN_EXPIRED: 0xa3,
  CKR_PIN_LOCKED: 0xa4,
  CKR_USER_ALREADY_LOGGED_IN: 0x100,
  CKR_USER_NOT_LOGGED_IN: 0x101,
  CKR_USER_PIN_NOT_INITIALIZED: 0x102,
  CKR_CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const;

export type Pkcs11Library = Pkcs11Js.PKCS11;
export type Pkcs11Handle = Pkcs11Js.Handle;
export type Pkcs11Template = Pkcs11Js.Template;

/** A token label is at most 32 bytes (CK_TOKEN_INFO.label, blank-padded). */
export const TOKEN_LABEL_BYTES_MAX = 32;

// pkcs11js is CommonJS whose export names Node's ESM loader cannot detect (`module.exports = { ...binding }`).
const requireCommonJs = createRequire(import.meta.url);
let binding: typeof Pkcs11Js | undefined;

function loadBinding(): typeof Pkcs11Js {
  if (binding === undefined) {
    try {
      binding = requireCommonJs('pkcs11js') as typeof Pkcs11Js;
    } catch (error) {
      throw new KeyStoreError('config', 'the pkcs11js native addon does not load (was it built by npm install?)', { cause: error });
    }
  }
  return binding;
}

/** The CKR code of a failed pkcs11js call, or undefined for any other error. */
export function ckrCode(error: unknown): number | undefined {
  return error instanceof Error && error.name === 'Pkcs11Error' && 'code' in error && typeof error.code === 'number' ? error.code : undefined;
}

/** "C_Sign returned CKR_DEVICE_ERROR (0x30)", or the error's own message when it carries no CKR code. */
export function describeFailure(call: string, error: unknown): string {
  const code = ckrCode(error);
  const text = error instanceof Error ? error.message : String(error);
  return code === undefined ? `${call} failed: ${text}` : `${call} returned ${text} (0x${code.toString(16)})`;
}

/** Any PKCS#11 failure without a better code: the token or module did not do what was asked. */
export function ioError(context: string, call: string, error: unknown): KeyStoreError {
  return new KeyStoreError('io', `${context}: ${describeFailure(call, error)}`, { cause: error });
}

interface Login {
  count: number;
  /** HMAC of the PIN that logged in, to refuse a different PIN that CKR_USER_ALREADY_LOGGED_IN would wave through. */
  readonly pinTag: Buffer;
  /** False when someone else in this process logged in first: then it is not ours to log out. */
  readonly logoutOnRelease: boolean;
}

interface LoadedModule {
  readonly library: Pkcs11Library;
  /** False when someone else in this process initialized the module: then it is not ours to finalize. */
  readonly finalizeOnRelease: boolean;
  users: number;
  /** By slot id (hex). */
  readonly logins: Map<string, Login>;
}

const modules = new Map<string, LoadedModule>();
const pinTagKey = randomBytes(32);

function pinTag(pin: string): Buffer {
  return createHmac('sha256', pinTagKey).update(pin, 'utf8').digest();
}

function softHsmHint(modulePath: string): string {
  return /softhsm/i.test(modulePath)
    ? `; SoftHSM2 reads its token directory from the file named by SOFTHSM2_CONF (now ${process.env.SOFTHSM2_CONF === undefined ? 'unset, so /etc/softhsm/softhsm2.conf' : JSON.stringify(process.env.SOFTHSM2_CONF)})`
    : '';
}

function acquireModule(modulePath: string): { key: string; module: LoadedModule } {
  if (!existsSync(modulePath)) {
    throw new KeyStoreError(
      'config',
      `PKCS#11 module ${modulePath} does not exist (for SoftHSM2: apt-get install softhsm2, module /usr/lib/softhsm/libsofthsm2.so)`,
    );
  }
  // One entry per library file, however it is named: dlopen hands out one copy per file.
  const key = realpathSync(modulePath);
  const known = modules.get(key);
  if (known !== undefined) {
    known.users += 1;
    return { key, module: known };
  }
  const { PKCS11 } = loadBinding();
  const library = new PKCS11();
  try {
    library.load(key);
  } catch (error) {
    throw new KeyStoreError('config', `cannot load PKCS#11 module ${modulePath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  let finalizeOnRelease = true;
  try {
    library.C_Initialize();
  } catch (error) {
    if (ckrCode(error) === ck.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      finalizeOnRelease = false;
    } else {
      closeLibrary(library);
      throw new KeyStoreError('config', `PKCS#11 module ${modulePath} does not initialize: ${describeFailure('C_Initialize', error)}${softHsmHint(modulePath)}`, {
        cause: error,
      });
    }
  }
  const loaded: LoadedModule = { library, finalizeOnRelease, users: 1, logins: new Map() };
  modules.set(key, loaded);
  return { key, module: loaded };
}

function closeLibrary(library: Pkcs11Library): void {
  try {
    library.close();
  } catch {
    // Unloading is best effort: a library that will not unload stays mapped until exit.
  }
}

function releaseModule(key: string, module: LoadedModule): unknown {
  module.users -= 1;
  if (module.users > 0) return undefined;
  modules.delete(key);
  let failure: unknown;
  if (module.finalizeOnRelease) {
    try {
      module.library.C_Finalize();
    } catch (error) {
      failure = error;
    }
    closeLibrary(module.library);
  }
  return failure;
}

function findSlot(library: Pkcs11Library, modulePath: string, tokenLabel: string): Pkcs11Handle {
  let slots: Pkcs11Handle[];
  try {
    slots = library.C_GetSlotList(true);
  } catch (error) {
    throw ioError(`cannot list the tokens of ${modulePath}`, 'C_GetSlotList', error);
  }
  const labels: string[] = [];
  const matches: Pkcs11Handle[] = [];
  for (const slot of slots) {
    let label: string;
    try {
      // CK_TOKEN_INFO.label is blank-padded to 32 bytes.
      label = library.C_GetTokenInfo(slot).label.replace(/ +$/, '');
    } catch (error) {
      throw ioError(`cannot read a token of ${modulePath}`, 'C_GetTokenInfo', error);
    }
    if (label.length > 0) labels.push(label);
    if (label === tokenLabel) matches.push(slot);
  }
  const [slot, second] = matches;
  if (slot === undefined) {
    const present = labels.length === 0 ? 'no initialized tokens' : `tokens ${labels.map((l) => `'${l}'`).join(', ')}`;
    throw new KeyStoreError('config', `no PKCS#11 token labelled '${tokenLabel}' in ${modulePath} (it has ${present})${softHsmHint(modulePath)}`);
  }
  if (second !== undefined) throw new KeyStoreError('config', `${matches.length} PKCS#11 tokens are labelled '${tokenLabel}' in ${modulePath}: relabel one`);
  return slot;
}

function loginError(tokenLabel: string, error: unknown): KeyStoreError {
  const context = `cannot log in to PKCS#11 token '${tokenLabel}'`;
  switch (ckrCode(error)) {
    case ck.CKR_PIN_INCORRECT:
    case ck.CKR_PIN_INVALID:
    case ck.CKR_PIN_LEN_RANGE:
      return new KeyStoreError('config', `${context}: wrong PIN (${describeFailure('C_Login', error)}); check VCR_PKCS11_PIN or VCR_PKCS11_PIN_FILE`, { cause: error });
    case ck.CKR_PIN_LOCKED:
      return new KeyStoreError('config', `${context}: the user PIN is locked after too many wrong PINs; the security officer must reset it`, { cause: error });
    case ck.CKR_PIN_EXPIRED:
      return new KeyStoreError('config', `${context}: the user PIN has expired; set a new one`, { cause: error });
    case ck.CKR_USER_PIN_NOT_INITIALIZED:
      return new KeyStoreError('config', `${context}: the token has no user PIN yet; initialize it`, { cause: error });
    default:
      return ioError(context, 'C_Login', error);
  }
}

export interface TokenSessionOptions {
  modulePath: string;
  tokenLabel: string;
  pin: string;
}

/** One read-write session on a token, logged in as the user. `close` logs out (if last) and finalizes (if last). */
export class TokenSession {
  readonly library: Pkcs11Library;
  readonly session: Pkcs11Handle;
  readonly tokenLabel: string;
  readonly #moduleKey: string;
  readonly #module: LoadedModule;
  readonly #slotKey: string;
  #open = true;

  constructor(options: TokenSessionOptions) {
    const { key, module } = acquireModule(options.modulePath);
    this.#moduleKey = key;
    this.#module = module;
    this.library = module.library;
    this.tokenLabel = options.tokenLabel;
    let session: Pkcs11Handle | undefined;
    try {
      const slot = findSlot(module.library, options.modulePath, options.tokenLabel);
      this.#slotKey = slot.toString('hex');
      try {
        session = module.library.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
      } catch (error) {
        throw ioError(`cannot open a session on PKCS#11 token '${options.tokenLabel}'`, 'C_OpenSession', error);
      }
      this.#login(session, options.pin);
    } catch (error) {
      if (session !== undefined) {
        try {
          module.library.C_CloseSession(session);
        } catch {
          // The session is being abandoned after a failure that is already being reported.
        }
      }
      releaseModule(key, module);
      throw error;
    }
    this.session = session;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  #login(session: Pkcs11Handle, pin: string): void {
    const tag = pinTag(pin);
    const existing = this.#module.logins.get(this.#slotKey);
    if (existing !== undefined) {
      // The token is logged in already, and C_Login would not check this PIN: compare it with the one that logged in.
      if (!timingSafeEqual(existing.pinTag, tag)) {
        throw new KeyStoreError('config', `cannot log in to PKCS#11 token '${this.tokenLabel}': wrong PIN (another keystore in this process is logged in with a different one)`);
      }
      existing.count += 1;
      return;
    }
    let logoutOnRelease = true;
    try {
      this.library.C_Login(session, ck.CKU_USER, pin);
    } catch (error) {
      // Logged in by other code in this process, outside this registry; it owns the logout.
      if (ckrCode(error) !== ck.CKR_USER_ALREADY_LOGGED_IN) throw loginError(this.tokenLabel, error);
      logoutOnRelease = false;
    }
    this.#module.logins.set(this.#slotKey, { count: 1, pinTag: tag, logoutOnRelease });
  }

  /** Logs out if this is the token's last keystore, closes the session, finalizes the module if last. Idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    const failures: { call: string; error: unknown }[] = [];
    const login = this.#module.logins.get(this.#slotKey);
    if (login !== undefined) {
      login.count -= 1;
      if (login.count === 0) {
        this.#module.logins.delete(this.#slotKey);
        if (login.logoutOnRelease) {
          try {
            this.library.C_Logout(this.session);
          } catch (error) {
            if (ckrCode(error) !== ck.CKR_USER_NOT_LOGGED_IN) failures.push({ call: 'C_Logout', error });
          }
        }
      }
    }
    try {
      this.library.C_CloseSession(this.session);
    } catch (error) {
      failures.push({ call: 'C_CloseSession', error });
    }
    const finalizeFailure = releaseModule(this.#moduleKey, this.#module);
    if (finalizeFailure !== undefined) failures.push({ call: 'C_Finalize', error: finalizeFailure });
    const [first] = failures;
    if (first !== undefined) throw ioError(`closing PKCS#11 token '${this.tokenLabel}'`, first.call, first.error);
  }
}
