// User keys: which strings may name a registry entry, and
// the reserved prefix under which the registry keeps its own records. The one
// key rule: the replica's executor and reads, and the SDK's reads and writes,
// all call checkUserKey (docs/registry.md, "Keys").

import { registryLimits } from './limits';

/**
 * Keys starting with NUL belong to the registry itself (the reply cache,
 * organizations, namespaces, pending approvals). NUL is outside the key
 * alphabet, so no user key can start with it anyway; the explicit rule keeps
 * it so if the alphabet ever changes.
 */
export const RESERVED_KEY_PREFIX = '\u0000';

export type KeyRejection = 'bad-key-type' | 'key-empty' | 'key-too-long' | 'key-reserved' | 'key-character-not-allowed';

/**
 * The key alphabet: printable ASCII without space, U+0021 '!' to U+007E '~'.
 * Each key then has one spelling: no Unicode normalization forms (NFC and NFD
 * spell 'é' differently), no lookalikes of '/' (U+FF0F, U+2215) and no
 * invisible characters (U+200B), which would let a writer put a key beside a
 * real one that reads the same to a human. Space and control characters are
 * out for the same reason (trailing spaces, line breaks in logs).
 */
const KEY_ALPHABET = /^[\u0021-\u007e]+$/;

/** The rule for user keys; `undefined` when the key is acceptable. */
export function checkUserKey(untrustedKey: unknown): KeyRejection | undefined {
  if (typeof untrustedKey !== 'string') return 'bad-key-type';
  if (untrustedKey.length === 0) return 'key-empty';
  // Every allowed character is one UTF-16 unit and one UTF-8 byte: the length bound is the byte bound.
  if (untrustedKey.length > registryLimits.keyBytesMax) return 'key-too-long';
  if (untrustedKey.startsWith(RESERVED_KEY_PREFIX)) return 'key-reserved';
  if (!KEY_ALPHABET.test(untrustedKey)) return 'key-character-not-allowed';
  return undefined;
}
