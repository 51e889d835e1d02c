// The PKCS#11 keystore (DESIGN section 5): keys live on a token (an HSM, or
// SoftHSM2 in tests) and sign there with CKM_EDDSA; this process holds object
// handles and public keys, never private key bytes.
//
// A key is a pair of token objects sharing a CKA_LABEL (the key label) and a
// CKA_ID: a private key generated on the token as CKA_SENSITIVE (its value is
// never readable), CKA_EXTRACTABLE false (it cannot even be wrapped out),
// CKA_TOKEN (it survives the session), and its public key, whose CKA_EC_POINT
// gives the 32-byte Ed25519 public key. docs/keystore.md has the setup.

import { randomBytes } from 'node:crypto';
import { nodeBackend } from '@vcr/crypto-node';
import { checkEd25519, concatBytes, type Signer, utf8 } from '@vcr/proofs';
import { secretFromEnvironment } from './secret-from-environment';
import { checkLabel, createKeyHandle, isValidLabel, type KeyHandle, type KeyStore, KeyStoreError } from './keystore';
import { decodeEd25519EcPoint, ED25519_EC_PARAMS_DER, isEd25519EcParams } from './pkcs11-der';
import { ck, ckrCode, describeFailure, ioError, type Pkcs11Handle, type Pkcs11Template, TOKEN_LABEL_BYTES_MAX, TokenSession } from './pkcs11-token';

export const pkcs11Limits = {
  /** `list` reads at most this many private keys from a token; a replica's token holds a handful. */
  tokenKeysMax: 1024,
  /** CKA_ID of a generated key: random, so two keys with different labels never pair up by accident. */
  keyIdBytes: 16,
} as const;

const SIGNATURE_BYTES = 64;

/**
 * What `open` signs to prove the private and public objects belong together.
 * The tag is not one of the protocol's signature kinds (@vcr/proofs domain.ts),
 * so this signature verifies as no protocol message.
 */
const PROBE_TAG = utf8('vcr/v1/keystore-probe');
const probeMessage = (label: string): Uint8Array => {
  const labelBytes = utf8(label);
  return concatBytes(Uint8Array.of(PROBE_TAG.length), PROBE_TAG, Uint8Array.of(labelBytes.length), labelBytes);
};

export interface Pkcs11KeyStoreOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** CKA_LABEL of the token (CK_TOKEN_INFO.label), at most 32 bytes. */
  tokenLabel: string;
  /** The user PIN; see `pkcs11PinFromEnvironment`. */
  pin: string;
}

interface FoundKey {
  privateKey: Pkcs11Handle;
  publicKey: Uint8Array;
}

function readBool(value: Buffer | undefined): boolean | undefined {
  return value !== undefined && value.length === 1 ? value[0] !== 0 : undefined;
}

/** CK_ULONG in the platform's byte order and width (8 bytes little-endian on x86-64 and arm64 Linux). */
function readUlong(value: Buffer | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (value.length === 8) return value.readBigUInt64LE(0);
  if (value.length === 4) return BigInt(value.readUInt32LE(0));
  return undefined;
}

export class Pkcs11KeyStore implements KeyStore {
  readonly kind = 'pkcs11' as const;
  readonly tokenLabel: string;
  readonly #token: TokenSession;

  /** Loads the module, finds the token by label, opens a session and logs in. Call `close` when done. */
  constructor(options: Pkcs11KeyStoreOptions) {
    if (typeof options.modulePath !== 'string' || options.modulePath.length === 0) throw new KeyStoreError('config', 'the PKCS#11 module path must be a non-empty string');
    const labelBytes = Buffer.byteLength(String(options.tokenLabel), 'utf8');
    if (typeof options.tokenLabel !== 'string' || labelBytes === 0 || labelBytes > TOKEN_LABEL_BYTES_MAX || options.tokenLabel !== options.tokenLabel.trim()) {
      throw new KeyStoreError('config', `invalid PKCS#11 token label ${JSON.stringify(String(options.tokenLabel))}: 1-${TOKEN_LABEL_BYTES_MAX} bytes, no surrounding blanks`);
    }
    if (typeof options.pin !== 'string' || options.pin.length === 0) throw new KeyStoreError('config', 'the PKCS#11 user PIN must be a non-empty string');
    this.tokenLabel = options.tokenLabel;
    this.#token = new TokenSession(options);
  }

  open(label: string): KeyHandle {
    checkLabel(label);
    this.#checkOpen();
    const key = this.#find(label);
    if (key === undefined) throw new KeyStoreError('not-found', `no key labelled '${label}' on PKCS#11 token '${this.tokenLabel}'`);
    const signer = this.#signer(label, key);
    // Fail at startup, not at the first vote, if the objects do not pair up: the probe is verified like every signature.
    signer.sign(probeMessage(label));
    return createKeyHandle(label, signer);
  }

  generate(label: string): KeyHandle {
    checkLabel(label);
    this.#checkOpen();
    const { library, session } = this.#token;
    // PKCS#11 has no "create unless the label exists", so two processes generating one label at once could both succeed; open then refuses the label as ambiguous.
    if (this.#findObjects([{ type: ck.CKA_LABEL, value: Buffer.from(label, 'utf8') }], 1).length > 0) {
      throw new KeyStoreError('exists', `a key labelled '${label}' already exists on PKCS#11 token '${this.tokenLabel}'`);
    }
    const id = randomBytes(pkcs11Limits.keyIdBytes);
    const common = [
      { type: ck.CKA_TOKEN, value: true },
      { type: ck.CKA_LABEL, value: Buffer.from(label, 'utf8') },
      { type: ck.CKA_ID, value: id },
    ];
    let pair: { privateKey: Pkcs11Handle; publicKey: Pkcs11Handle };
    try {
      pair = library.C_GenerateKeyPair(
        session,
        { mechanism: ck.CKM_EC_EDWARDS_KEY_PAIR_GEN },
        [...common, { type: ck.CKA_PRIVATE, value: false }, { type: ck.CKA_VERIFY, value: true }, { type: ck.CKA_EC_PARAMS, value: Buffer.from(ED25519_EC_PARAMS_DER) }],
        [
          ...common,
          { type: ck.CKA_PRIVATE, value: true },
          { type: ck.CKA_SIGN, value: true },
          { type: ck.CKA_SENSITIVE, value: true },
          { type: ck.CKA_EXTRACTABLE, value: false },
        ],
      );
    } catch (error) {
      if (ckrCode(error) === ck.CKR_MECHANISM_INVALID) {
        throw new KeyStoreError('config', `PKCS#11 token '${this.tokenLabel}' cannot generate Ed25519 keys: ${describeFailure('C_GenerateKeyPair(CKM_EC_EDWARDS_KEY_PAIR_GEN)', error)}`, { cause: error });
      }
      throw ioError(`cannot generate key '${label}' on PKCS#11 token '${this.tokenLabel}'`, 'C_GenerateKeyPair', error);
    }
    try {
      return this.open(label);
    } catch (error) {
      // A key that cannot be opened is of no use, and would make the label 'exists' forever.
      for (const handle of [pair.privateKey, pair.publicKey]) {
        try {
          library.C_DestroyObject(session, handle);
        } catch {
          // The original failure is the one to report.
        }
      }
      throw error;
    }
  }

  list(): string[] {
    this.#checkOpen();
    const { library, session } = this.#token;
    const keys = this.#findObjects(
      [
        { type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY },
        { type: ck.CKA_KEY_TYPE, value: ck.CKK_EC_EDWARDS },
      ],
      pkcs11Limits.tokenKeysMax + 1,
    );
    if (keys.length > pkcs11Limits.tokenKeysMax) {
      throw new KeyStoreError('corrupt', `PKCS#11 token '${this.tokenLabel}' holds more than ${pkcs11Limits.tokenKeysMax} EdDSA private keys`);
    }
    const labels = new Set<string>();
    for (const key of keys) {
      let value: Buffer | undefined;
      try {
        value = library.C_GetAttributeValue(session, key, [{ type: ck.CKA_LABEL }])[0]?.value;
      } catch (error) {
        throw ioError(`cannot list the keys on PKCS#11 token '${this.tokenLabel}'`, 'C_GetAttributeValue(CKA_LABEL)', error);
      }
      const label = value?.toString('utf8');
      // Keys this keystore did not make (no label, or one it would refuse) are not its to list.
      if (label !== undefined && isValidLabel(label)) labels.add(label);
    }
    return [...labels].sort();
  }

  /** Logs out and finalizes the module when this is the last keystore using them. Handles from this keystore stop signing. Idempotent. */
  close(): void {
    this.#token.close();
  }

  #checkOpen(): void {
    if (!this.#token.isOpen) throw new KeyStoreError('config', `the PKCS#11 keystore for token '${this.tokenLabel}' is closed`);
  }

  #findObjects(template: Pkcs11Template, countMax: number): Pkcs11Handle[] {
    const { library, session } = this.#token;
    try {
      library.C_FindObjectsInit(session, template);
    } catch (error) {
      throw ioError(`cannot search PKCS#11 token '${this.tokenLabel}'`, 'C_FindObjectsInit', error);
    }
    try {
      return library.C_FindObjects(session, countMax);
    } catch (error) {
      throw ioError(`cannot search PKCS#11 token '${this.tokenLabel}'`, 'C_FindObjects', error);
    } finally {
      try {
        library.C_FindObjectsFinal(session);
      } catch {
        // The search's answer (or its failure) is already known; a later C_FindObjectsInit reports a stuck session.
      }
    }
  }

  #attributes(handle: Pkcs11Handle, types: readonly number[], what: string): Map<number, Buffer> {
    try {
      const values = this.#token.library.C_GetAttributeValue(
        this.#token.session,
        handle,
        types.map((type) => ({ type })),
      );
      return new Map(values.map((attribute) => [attribute.type, attribute.value]));
    } catch (error) {
      throw ioError(`cannot read ${what} on PKCS#11 token '${this.tokenLabel}'`, 'C_GetAttributeValue', error);
    }
  }

  /** The private key object and the public key of `label`, checked; undefined if there is no private key with that label. */
  #find(label: string): FoundKey | undefined {
    const labelValue = Buffer.from(label, 'utf8');
    const where = `key '${label}' on PKCS#11 token '${this.tokenLabel}'`;
    const privateKeys = this.#findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY }, { type: ck.CKA_LABEL, value: labelValue }], 2);
    const publicKeys = this.#findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY }, { type: ck.CKA_LABEL, value: labelValue }], 2);
    const [privateKey, secondPrivate] = privateKeys;
    const [publicObject, secondPublic] = publicKeys;
    if (privateKey === undefined) return undefined;
    if (secondPrivate !== undefined || secondPublic !== undefined) throw new KeyStoreError('corrupt', `${where} is ambiguous: more than one private or public key object has that label`);
    if (publicObject === undefined) throw new KeyStoreError('corrupt', `${where} has a private key object but no public key object`);

    const priv = this.#attributes(privateKey, [ck.CKA_KEY_TYPE, ck.CKA_EC_PARAMS, ck.CKA_ID, ck.CKA_SIGN, ck.CKA_SENSITIVE], `the private key of ${where}`);
    const pub = this.#attributes(publicObject, [ck.CKA_KEY_TYPE, ck.CKA_EC_PARAMS, ck.CKA_ID, ck.CKA_EC_POINT], `the public key of ${where}`);
    for (const [attributes, object] of [
      [priv, 'private'],
      [pub, 'public'],
    ] as const) {
      if (readUlong(attributes.get(ck.CKA_KEY_TYPE)) !== BigInt(ck.CKK_EC_EDWARDS)) throw new KeyStoreError('corrupt', `the ${object} key of ${where} is not an EdDSA key (CKA_KEY_TYPE is not CKK_EC_EDWARDS)`);
      const params = attributes.get(ck.CKA_EC_PARAMS);
      if (params === undefined || !isEd25519EcParams(params)) throw new KeyStoreError('corrupt', `the ${object} key of ${where} is not on Ed25519 (CKA_EC_PARAMS is neither OID 1.3.101.112 nor the curve name edwards25519)`);
    }
    const privateId = priv.get(ck.CKA_ID);
    const publicId = pub.get(ck.CKA_ID);
    if (privateId === undefined || publicId === undefined || !privateId.equals(publicId)) throw new KeyStoreError('corrupt', `the private and public key objects of ${where} have different CKA_IDs`);
    if (readBool(priv.get(ck.CKA_SIGN)) !== true) throw new KeyStoreError('corrupt', `the private key of ${where} is not allowed to sign (CKA_SIGN is false)`);
    // Sensitive means the token never reveals the key's value in plaintext. An extractable key (wrappable for an encrypted backup) is the operator's choice; a readable one is refused.
    if (readBool(priv.get(ck.CKA_SENSITIVE)) !== true) {
      throw new KeyStoreError('config', `the private key of ${where} is not CKA_SENSITIVE, so its value could be read off the token: generate a new key on the token`);
    }
    const point = pub.get(ck.CKA_EC_POINT);
    const decoded = point === undefined ? undefined : decodeEd25519EcPoint(point);
    if (decoded === undefined || !decoded.ok) {
      throw new KeyStoreError('corrupt', `the public key of ${where} has a CKA_EC_POINT that is not a DER OCTET STRING of 32 bytes (${decoded?.reason ?? 'missing'})`);
    }
    return { privateKey, publicKey: decoded.publicKey };
  }

  /**
   * The signer behind a handle. Every signature the token returns is verified
   * under the key's public key, with the project's strict rule, before it is
   * released. It costs one verification (tens of microseconds next to the
   * token's own signing time), and it buys two things: a token that returns
   * garbage (a faulty HSM, a flipped bit, a wrong key object) never puts a bad
   * signature on the wire, where peers would count it as a forgery and the
   * guarded signer would journal it and replay it for that slot forever; and a
   * fault in a deterministic Ed25519 signer, which can leak the private key from
   * one faulty signature next to a good one on the same message, stays inside
   * this process.
   */
  #signer(label: string, key: FoundKey): Signer {
    const token = this.#token;
    const tokenLabel = this.tokenLabel;
    const publicKey = key.publicKey;
    const sign = (message: Uint8Array): Uint8Array => {
      if (!token.isOpen) throw new KeyStoreError('config', `key '${label}': the PKCS#11 keystore for token '${tokenLabel}' is closed`);
      let signature: Buffer;
      try {
        // Node runs this pair without interleaving, so the session's one active operation is always ours.
        token.library.C_SignInit(token.session, { mechanism: ck.CKM_EDDSA }, key.privateKey);
        signature = token.library.C_Sign(token.session, Buffer.from(message.buffer, message.byteOffset, message.byteLength), Buffer.alloc(SIGNATURE_BYTES));
      } catch (error) {
        throw ioError(`key '${label}' on PKCS#11 token '${tokenLabel}' did not sign`, 'C_SignInit/C_Sign(CKM_EDDSA)', error);
      }
      const result = Uint8Array.from(signature);
      const rejection = checkEd25519(nodeBackend, result, message, publicKey);
      if (rejection !== undefined) {
        throw new KeyStoreError('corrupt', `key '${label}' on PKCS#11 token '${tokenLabel}' returned a signature that does not verify under its public key (${rejection}); it was not released`);
      }
      return result;
    };
    return { publicKey, sign };
  }
}

/**
 * The user PIN for a Pkcs11KeyStore from the environment: VCR_PKCS11_PIN, or
 * VCR_PKCS11_PIN_FILE naming a file that holds it (a mounted secret), with
 * trailing newlines removed. Never from the config file. Setting both is
 * refused, since it is unclear which one the operator meant.
 */
export function pkcs11PinFromEnvironment(env: NodeJS.ProcessEnv): string {
  return secretFromEnvironment(env, 'VCR_PKCS11_PIN', 'PKCS#11 user PIN');
}
