// User keys and their limits: which strings may name a registry entry, and
// the reserved prefix under which the registry keeps its own records.

import { isWellFormedText, utf8 } from '@vcr/proofs';

/** Every bound of the operation format. */
export const registryLimits = {
  /** User keys are UTF-8 strings of 1..keyBytesMax bytes. */
  keyBytesMax: 256,
  /** Values are opaque bytes of at most this size. */
  valueBytesMax: 64 * 1024,
  /** Operations in one transaction. */
  txnOpsMax: 64,
  /** Revisions stay below 2^63, like every 64-bit quantity on the JSON wire. */
  revisionMax: (1n << 63n) - 1n,
} as const;

/**
 * Keys starting with NUL belong to the registry itself (the reply cache now;
 * namespaces and ACLs later). NUL is a control character, so no user key can
 * start with it anyway; the explicit rule keeps it so if the character rules change.
 */
export const RESERVED_KEY_PREFIX = '\u0000';

export type KeyRejection = 'bad-key-type' | 'key-empty' | 'key-too-long' | 'key-not-well-formed' | 'key-control-character' | 'key-reserved';

const CONTROL_CHARACTER = /\p{Cc}/u;

/** The rule for user keys; `undefined` when the key is acceptable. */
export function checkUserKey(untrustedKey: unknown): KeyRejection | undefined {
  if (typeof untrustedKey !== 'string') return 'bad-key-type';
  if (untrustedKey.length === 0) return 'key-empty';
  // A UTF-16 length above the byte bound can only encode to more bytes: refuse before encoding.
  if (untrustedKey.length > registryLimits.keyBytesMax) return 'key-too-long';
  if (!isWellFormedText(untrustedKey)) return 'key-not-well-formed';
  if (utf8(untrustedKey).length > registryLimits.keyBytesMax) return 'key-too-long';
  if (untrustedKey.startsWith(RESERVED_KEY_PREFIX)) return 'key-reserved';
  if (CONTROL_CHARACTER.test(untrustedKey)) return 'key-control-character';
  return undefined;
}
