// `tsx ops/pkcs11-setup.ts --dir <dir> --token-label <token> --label <key>`:
// makes a SoftHSM2 token in its own directory and generates a replica key on
// it, then prints the public key (for the genesis file) and the SOFTHSM2_CONF
// the replica must run with. `--add-key` generates a key on a token made
// before instead of making a new token. PINs come from the environment:
// VCR_PKCS11_PIN or VCR_PKCS11_PIN_FILE (the user PIN, the replica's too) and
// VCR_PKCS11_SO_PIN (the security officer's, needed to make a token).
// The tests use the exported functions; docs/keystore.md walks through it.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex } from '@vcr/proofs';
import { Pkcs11KeyStore, pkcs11PinFromEnvironment } from '../apps/replica/src/keystore';

/** Where Debian's softhsm2 package puts the module. */
export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const SOFTHSM2_UTIL = 'softhsm2-util';

const INSTALL_HINT = 'install SoftHSM2 (Debian/Ubuntu: apt-get install -y softhsm2; .ci/run does this in CI)';

/** Throws, saying how to install it, unless softhsm2-util runs and the module exists. */
export function requireSoftHsm(modulePath: string = SOFTHSM2_MODULE): void {
  try {
    execFileSync(SOFTHSM2_UTIL, ['--version'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`SoftHSM2 is missing: ${SOFTHSM2_UTIL} does not run (${error instanceof Error ? error.message : String(error)}); ${INSTALL_HINT}`, { cause: error });
  }
  if (!existsSync(modulePath)) throw new Error(`SoftHSM2 is missing: no PKCS#11 module at ${modulePath}; ${INSTALL_HINT}`);
}

export interface SoftHsmTokenOptions {
  /** The token's own directory; created if missing. Holds softhsm2.conf and tokens/. */
  dir: string;
  tokenLabel: string;
  soPin: string;
  pin: string;
}

/** The path of the softhsm2.conf for a token directory made by `initSoftHsmToken`. */
export function softHsmConfPath(dir: string): string {
  return join(resolve(dir), 'softhsm2.conf');
}

/**
 * Writes `<dir>/softhsm2.conf` (token directory `<dir>/tokens`, file backend)
 * and initializes a token in the first free slot. Returns the config path, for
 * SOFTHSM2_CONF. softhsm2-util takes the PINs as arguments, so they are briefly
 * visible in the process list: make production tokens on a machine of your own.
 */
export function initSoftHsmToken(options: SoftHsmTokenOptions): { confPath: string } {
  const dir = resolve(options.dir);
  const tokenDir = join(dir, 'tokens');
  mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  const confPath = softHsmConfPath(dir);
  writeFileSync(confPath, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, { mode: 0o600 });
  try {
    execFileSync(SOFTHSM2_UTIL, ['--init-token', '--free', '--label', options.tokenLabel, '--so-pin', options.soPin, '--pin', options.pin], {
      env: { ...process.env, SOFTHSM2_CONF: confPath },
      stdio: 'pipe',
    });
  } catch (error) {
    const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr).trim() : '';
    const detail = error instanceof Error && 'code' in error && error.code === 'ENOENT' ? `${SOFTHSM2_UTIL} not found; ${INSTALL_HINT}` : stderr || String(error);
    throw new Error(`cannot initialize SoftHSM2 token '${options.tokenLabel}' in ${dir}: ${detail}`, { cause: error });
  }
  return { confPath };
}

export interface GenerateKeyOptions {
  confPath: string;
  tokenLabel: string;
  pin: string;
  label: string;
  modulePath?: string;
}

/** Generates key `label` on the token and returns its public key. Sets SOFTHSM2_CONF in this process, which SoftHSM2 reads at C_Initialize. */
export function generateTokenKey(options: GenerateKeyOptions): Uint8Array {
  process.env.SOFTHSM2_CONF = options.confPath;
  const keystore = new Pkcs11KeyStore({ modulePath: options.modulePath ?? SOFTHSM2_MODULE, tokenLabel: options.tokenLabel, pin: options.pin });
  try {
    return keystore.generate(options.label).publicKey;
  } finally {
    keystore.close();
  }
}

function argument(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function main(args: readonly string[]): void {
  const dir = argument(args, '--dir');
  const tokenLabel = argument(args, '--token-label');
  const label = argument(args, '--label');
  const modulePath = argument(args, '--module') ?? SOFTHSM2_MODULE;
  const addKey = args.includes('--add-key');
  if (dir === undefined || tokenLabel === undefined || label === undefined) {
    throw new Error('usage: pkcs11-setup.ts --dir <token dir> --token-label <token label> --label <key label> [--module <path>] [--add-key]');
  }
  requireSoftHsm(modulePath);
  const pin = pkcs11PinFromEnvironment(process.env);
  let confPath = softHsmConfPath(dir);
  if (addKey) {
    if (!existsSync(confPath)) throw new Error(`--add-key: no token directory at ${resolve(dir)} (no softhsm2.conf); run without --add-key first`);
  } else {
    if (existsSync(confPath)) throw new Error(`${resolve(dir)} already has a token (softhsm2.conf exists); pass --add-key to generate another key on it`);
    const soPin = process.env.VCR_PKCS11_SO_PIN;
    if (soPin === undefined || soPin === '') throw new Error('no security officer PIN: set VCR_PKCS11_SO_PIN to make a token');
    confPath = initSoftHsmToken({ dir, tokenLabel, soPin, pin }).confPath;
  }
  const publicKey = generateTokenKey({ confPath, tokenLabel, pin, label, modulePath });
  process.stdout.write(`${JSON.stringify({ softhsm2Conf: confPath, module: modulePath, tokenLabel, label, publicKey: bytesToHex(publicKey) })}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`pkcs11-setup: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
