// Certificate pin checks (docs/values.md section 5), in the manner of
// HPKP (RFC 7469): a pin is SHA-256 of the DER SubjectPublicKeyInfo, so it
// survives certificate renewal with the same key; backup pins name keys held
// in reserve so a lost key does not lock clients out.

import { type CryptoBackend, bytesToBase64, nobleBackend } from '@vcr/proofs';
import type { PinSetValue } from './schemas';

export type PinCheckResult =
  | { ok: true; matched: 'primary' | 'backup'; pin: string }
  /** `nowMs` is at or past `expiresAtMs`: the set vouches for nothing, whatever the key (fail closed). */
  | { ok: false; reason: 'expired'; expiresAtMs: number; nowMs: number }
  /** The presented key is in neither list; `presentedPin` is its pin, for logs. */
  | { ok: false; reason: 'mismatch'; presentedPin: string }
  /** Neither a 32-byte digest nor DER that starts like a SEQUENCE. */
  | { ok: false; reason: 'malformed-input' };

/**
 * The pin (base64 SHA-256) of a presented key. A 32-byte input is taken as
 * the digest already; anything else as the DER SubjectPublicKeyInfo (never
 * 32 bytes long: the smallest, Ed25519's, is 44), which is hashed.
 */
export function spkiPin(presentedSpkiSha256OrSpkiDer: Uint8Array, backend: CryptoBackend = nobleBackend): string | undefined {
  if (presentedSpkiSha256OrSpkiDer.length === 32) return bytesToBase64(presentedSpkiSha256OrSpkiDer);
  // DER SubjectPublicKeyInfo is a SEQUENCE (tag 0x30); a cheap check against passing the wrong buffer.
  if (presentedSpkiSha256OrSpkiDer.length < 2 || presentedSpkiSha256OrSpkiDer[0] !== 0x30) return undefined;
  return bytesToBase64(backend.sha256(presentedSpkiSha256OrSpkiDer));
}

/**
 * Checks a presented public key against a pin set (parsed by the schema) at
 * `nowMs` (ms since the Unix epoch; the caller's clock, or the certified
 * header's time). Expiry is checked first: an expired set fails even for a
 * pinned key. A match with a backup pin is a success that says so, so the
 * caller can notice a key rotation.
 */
export function checkPin(pinSet: PinSetValue, presentedSpkiSha256OrSpkiDer: Uint8Array, nowMs: number, backend: CryptoBackend = nobleBackend): PinCheckResult {
  if (!Number.isFinite(nowMs)) throw new RangeError('checkPin: nowMs must be a finite number of ms since the epoch');
  if (nowMs >= pinSet.expiresAtMs) return { ok: false, reason: 'expired', expiresAtMs: pinSet.expiresAtMs, nowMs };
  const presented = spkiPin(presentedSpkiSha256OrSpkiDer, backend);
  if (presented === undefined) return { ok: false, reason: 'malformed-input' };
  if (pinSet.pins.includes(presented)) return { ok: true, matched: 'primary', pin: presented };
  if (pinSet.backupPins.includes(presented)) return { ok: true, matched: 'backup', pin: presented };
  return { ok: false, reason: 'mismatch', presentedPin: presented };
}

/**
 * Whether a pin set names this host: always true when it names no hostnames
 * (the registry key is then what ties it to a host); otherwise an exact match,
 * or with includeSubdomains a name ending in "." + a listed hostname.
 * Compares lowercase ASCII; pass the host as it appears in the URL.
 */
export function pinSetCoversHost(pinSet: PinSetValue, hostname: string): boolean {
  if (pinSet.hostnames === undefined) return true;
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return pinSet.hostnames.some((listed) => host === listed || (pinSet.includeSubdomains === true && host.endsWith(`.${listed}`)));
}
