// The encrypted-file keystore: one directory, one file per key,
// `<label>.key.json`, holding the 32-byte Ed25519 seed sealed with AES-256-GCM
// under a key derived from a passphrase by scrypt (RFC 7914).
//
// The GCM additional data binds the label and the public key, so a file copied
// or renamed to another label, or given another public key, fails to decrypt.
// After decryption the seed's public key must equal the stored one. The seed
// exists in this process only between decryption and `createNodeSigner`, and is
// zeroed right after; from then on it lives in an OpenSSL KeyObject.

import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { createNodeSigner } from '@vcr/crypto-node';
import { abytes, assert, bytesToHex, concatBytes, equalBytes, hexToBytes, type Signer, utf8 } from '@vcr/proofs';
import { secretFromEnvironment } from './secret-from-environment';
import { checkLabel, createKeyHandle, isValidLabel, type KeyHandle, type KeyStore, KeyStoreError } from './keystore';

/** scrypt cost parameters: N (CPU/memory cost, a power of two), r (block size), p (parallelism). */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** About 32 MiB and a tenth of a second per derivation: once per key at startup. */
export const defaultScryptCost: ScryptCost = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

export const encryptedFileLimits = {
  /** Below this N a stolen file is too cheap to brute-force; tests use 2^12. */
  scryptNMin: 2 ** 10,
  scryptNMax: 2 ** 20,
  scryptRMax: 32,
  scryptPMax: 4,
  /** A key file chooses its own cost, so a planted file must not be able to demand unbounded memory. */
  scryptMemoryBytesMax: 256 * 1024 * 1024,
  /** A real key file is about 600 bytes; anything far larger is not one. */
  keyFileBytesMax: 4096,
} as const;

const KEY_FILE_SUFFIX = '.key.json';
const AAD_TAG = 'vcr/v1/keystore-file';
const SEED_BYTES = 32;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AES_KEY_BYTES = 32;

/** What OpenSSL's scrypt allocates: 128·r·(N + p + 2) bytes (B plus V plus XY). */
function scryptMemoryBytes(cost: ScryptCost): number {
  return 128 * cost.r * (cost.N + cost.p + 2);
}

function scryptCostProblem(cost: ScryptCost): string | undefined {
  const { N, r, p } = cost;
  if (!Number.isSafeInteger(N) || N < encryptedFileLimits.scryptNMin || N > encryptedFileLimits.scryptNMax || (N & (N - 1)) !== 0) {
    return `scrypt N must be a power of two in [2^10, 2^20], got ${N}`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > encryptedFileLimits.scryptRMax) return `scrypt r must be in [1, ${encryptedFileLimits.scryptRMax}], got ${r}`;
  if (!Number.isSafeInteger(p) || p < 1 || p > encryptedFileLimits.scryptPMax) return `scrypt p must be in [1, ${encryptedFileLimits.scryptPMax}], got ${p}`;
  if (scryptMemoryBytes(cost) > encryptedFileLimits.scryptMemoryBytesMax) return `scrypt N·r needs more than ${encryptedFileLimits.scryptMemoryBytesMax} bytes`;
  return undefined;
}

const hexOfBytes = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${2 * length}}$`), `expected ${length} bytes of lowercase hex`);

const keyFileSchema = z
  .strictObject({
    version: z.literal(1),
    kdf: z.literal('scrypt'),
    N: z.number().int(),
    r: z.number().int(),
    p: z.number().int(),
    salt: hexOfBytes(SALT_BYTES),
    cipher: z.literal('aes-256-gcm'),
    iv: hexOfBytes(IV_BYTES),
    ciphertext: hexOfBytes(SEED_BYTES),
    tag: hexOfBytes(TAG_BYTES),
    publicKey: hexOfBytes(32),
  })
  .superRefine((file, context) => {
    const problem = scryptCostProblem(file);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, path: ['N'] });
  });

/** The on-disk format of one key, version 1. */
export type KeyFile = z.infer<typeof keyFileSchema>;

/** u8(len(tag)) || tag || u8(len(label)) || label || publicKey: labels are at most 64 ASCII bytes. */
function keyFileAad(label: string, publicKey: Uint8Array): Uint8Array {
  const tag = utf8(AAD_TAG);
  const labelBytes = utf8(checkLabel(label));
  return concatBytes(Uint8Array.of(tag.length), tag, Uint8Array.of(labelBytes.length), labelBytes, abytes(publicKey, 32, 'publicKey'));
}

/** NFC first, so the same passphrase typed on differently-normalizing systems derives the same key. */
function deriveKey(passphrase: string, salt: Uint8Array, cost: ScryptCost): Buffer {
  const { N, r, p } = cost;
  return scryptSync(passphrase.normalize('NFC'), salt, AES_KEY_BYTES, { N, r, p, maxmem: scryptMemoryBytes(cost) + 1024 * 1024 });
}

/**
 * Seals a seed into a key file. Internal to the keystore (not re-exported from
 * index.ts); exported for the tests, which need files the keystore itself would
 * never write, such as one whose public key does not match its seed.
 */
export function sealKeyFile(input: { label: string; seed: Uint8Array; publicKey: Uint8Array; passphrase: string; cost: ScryptCost }): KeyFile {
  abytes(input.seed, SEED_BYTES, 'seed');
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const key = deriveKey(input.passphrase, salt, input.cost);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(keyFileAad(input.label, input.publicKey));
    const ciphertext = Buffer.concat([cipher.update(input.seed), cipher.final()]);
    return {
      version: 1,
      kdf: 'scrypt',
      N: input.cost.N,
      r: input.cost.r,
      p: input.cost.p,
      salt: bytesToHex(salt),
      cipher: 'aes-256-gcm',
      iv: bytesToHex(iv),
      ciphertext: bytesToHex(ciphertext),
      tag: bytesToHex(cipher.getAuthTag()),
      publicKey: bytesToHex(input.publicKey),
    };
  } finally {
    key.fill(0);
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export interface EncryptedFileKeyStoreOptions {
  /** The cost for files this store writes; opening uses the cost recorded in each file. Default `defaultScryptCost`. */
  scryptCost?: ScryptCost;
}

export class EncryptedFileKeyStore implements KeyStore {
  readonly kind = 'encrypted-file' as const;
  readonly directory: string;
  readonly #passphrase: string;
  readonly #scryptCost: ScryptCost;

  constructor(directory: string, passphrase: string, options: EncryptedFileKeyStoreOptions = {}) {
    if (typeof passphrase !== 'string' || passphrase.length === 0) throw new KeyStoreError('config', 'the key passphrase must be a non-empty string');
    const cost = options.scryptCost ?? defaultScryptCost;
    const problem = scryptCostProblem(cost);
    if (problem !== undefined) throw new KeyStoreError('config', problem);
    this.directory = resolve(directory);
    this.#passphrase = passphrase;
    this.#scryptCost = Object.freeze({ N: cost.N, r: cost.r, p: cost.p });
  }

  /** Costs one scrypt derivation: open each key once and keep the handle. */
  open(label: string): KeyHandle {
    const file = this.#load(checkLabel(label));
    const seed = this.#unseal(label, file);
    let signer: Signer;
    try {
      signer = createNodeSigner(seed);
    } finally {
      seed.fill(0);
    }
    if (!equalBytes(signer.publicKey, hexToBytes(file.publicKey))) {
      throw new KeyStoreError('corrupt', `key file for '${label}' decrypts to a seed whose public key differs from the stored one`);
    }
    return createKeyHandle(label, signer);
  }

  generate(label: string): KeyHandle {
    checkLabel(label);
    // A cheap early answer; the no-clobber link in #saveNew is what guarantees it.
    if (existsSync(this.#path(label))) throw new KeyStoreError('exists', `a key labelled '${label}' already exists in ${this.directory}`);
    const seed = randomBytes(SEED_BYTES);
    let signer: Signer;
    let file: KeyFile;
    try {
      signer = createNodeSigner(seed);
      file = sealKeyFile({ label, seed, publicKey: signer.publicKey, passphrase: this.#passphrase, cost: this.#scryptCost });
    } finally {
      seed.fill(0);
    }
    this.#saveNew(label, `${JSON.stringify(file, null, 2)}\n`);
    return createKeyHandle(label, signer);
  }

  list(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw new KeyStoreError('io', `cannot list key directory ${this.directory}`, { cause: error });
    }
    return names
      .filter((name) => name.endsWith(KEY_FILE_SUFFIX))
      .map((name) => name.slice(0, -KEY_FILE_SUFFIX.length))
      .filter(isValidLabel)
      .sort();
  }

  #path(label: string): string {
    return join(this.directory, `${label}${KEY_FILE_SUFFIX}`);
  }

  #load(label: string): KeyFile {
    const path = this.#path(label);
    let text: string;
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      const sizeBytes = fstatSync(fd).size;
      if (sizeBytes > encryptedFileLimits.keyFileBytesMax) {
        throw new KeyStoreError('corrupt', `key file ${path} is ${sizeBytes} bytes, more than ${encryptedFileLimits.keyFileBytesMax}`);
      }
      text = readFileSync(fd, 'utf8');
    } catch (error) {
      if (error instanceof KeyStoreError) throw error;
      if (errorCode(error) === 'ENOENT') throw new KeyStoreError('not-found', `no key labelled '${label}' in ${this.directory}`, { cause: error });
      throw new KeyStoreError('io', `cannot read key file ${path}`, { cause: error });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    let untrustedJson: unknown;
    try {
      untrustedJson = JSON.parse(text);
    } catch (error) {
      throw new KeyStoreError('corrupt', `key file ${path} is not JSON`, { cause: error });
    }
    const parsed = keyFileSchema.safeParse(untrustedJson);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ');
      throw new KeyStoreError('corrupt', `key file ${path} is malformed: ${issues}`, { cause: parsed.error });
    }
    return parsed.data;
  }

  /** The decrypted seed; the caller zeroes it. */
  #unseal(label: string, file: KeyFile): Buffer {
    const key = deriveKey(this.#passphrase, hexToBytes(file.salt), file);
    let seed: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, hexToBytes(file.iv), { authTagLength: TAG_BYTES });
      decipher.setAAD(keyFileAad(label, hexToBytes(file.publicKey)));
      decipher.setAuthTag(hexToBytes(file.tag));
      // GCM releases plaintext before it checks the tag: nothing uses `seed` unless final() succeeds.
      seed = decipher.update(hexToBytes(file.ciphertext));
      try {
        decipher.final();
      } catch (error) {
        seed.fill(0);
        throw new KeyStoreError(
          'bad-passphrase',
          `cannot decrypt the key labelled '${label}': wrong passphrase, or the file was altered or belongs to another label`,
          { cause: error },
        );
      }
    } finally {
      key.fill(0);
    }
    assert(seed.length === SEED_BYTES, 'AES-GCM returned a seed of the wrong length');
    return seed;
  }

  /** Write to a temporary file, fsync, then link it into place: link fails if the label exists, where rename would replace it. */
  #saveNew(label: string, text: string): void {
    const path = this.#path(label);
    const temporaryPath = join(this.directory, `.${label}${KEY_FILE_SUFFIX}.${randomBytes(8).toString('hex')}.tmp`);
    let fd: number | undefined;
    try {
      mkdirSync(this.directory, { recursive: true, mode: 0o700 });
      fd = openSync(temporaryPath, 'wx', 0o600);
      // The umask can only clear bits from 0o600, but set it exactly anyway.
      fchmodSync(fd, 0o600);
      writeFileSync(fd, text);
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      linkSync(temporaryPath, path);
      rmSync(temporaryPath);
      this.#fsyncDirectory();
    } catch (error) {
      if (errorCode(error) === 'EEXIST') throw new KeyStoreError('exists', `a key labelled '${label}' already exists in ${this.directory}`, { cause: error });
      throw new KeyStoreError('io', `cannot write key file ${path}`, { cause: error });
    } finally {
      if (fd !== undefined) closeSync(fd);
      rmSync(temporaryPath, { force: true });
    }
  }

  /** Makes the new directory entry durable, not just the file's contents. */
  #fsyncDirectory(): void {
    const fd = openSync(this.directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The passphrase for an EncryptedFileKeyStore from the environment: either
 * VCR_KEY_PASSPHRASE itself, or VCR_KEY_PASSPHRASE_FILE naming a file that
 * holds it (a mounted secret), with trailing newlines removed. Setting both is
 * refused, since it is unclear which one the operator meant.
 */
export function passphraseFromEnvironment(env: NodeJS.ProcessEnv): string {
  return secretFromEnvironment(env, 'VCR_KEY_PASSPHRASE', 'key passphrase');
}
