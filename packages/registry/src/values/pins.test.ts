import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToBase64, nobleBackend } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { checkPin, pinSetCoversHost, spkiPin } from './pins';
import { type PinSetValue, pinSetSchema } from './schemas';

// Real SubjectPublicKeyInfo DER from node:crypto, pinned the way RFC 7469 section 2.4 shows with openssl.
const primaryDer = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));
const backupDer = new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }));
const strangerDer = new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }));
const pinOf = (der: Uint8Array) => createHash('sha256').update(der).digest('base64');

const EXPIRES_MS = 1_800_000_000_000;
const SET: PinSetValue = pinSetSchema.parse({ type: 'pins', pins: [pinOf(primaryDer)], backupPins: [pinOf(backupDer)], expiresAtMs: EXPIRES_MS, hostnames: ['api.example.com'], includeSubdomains: true });
const NOW = EXPIRES_MS - 1;

describe('checkPin', () => {
  it('matches a primary pin from the DER SubjectPublicKeyInfo', () => {
    expect(checkPin(SET, primaryDer, NOW)).toEqual({ ok: true, matched: 'primary', pin: pinOf(primaryDer) });
  });

  it('matches a primary pin from the 32-byte SPKI SHA-256 digest', () => {
    const digest = new Uint8Array(createHash('sha256').update(primaryDer).digest());
    expect(checkPin(SET, digest, NOW)).toEqual({ ok: true, matched: 'primary', pin: pinOf(primaryDer) });
  });

  it('matches a backup pin and says it was the backup', () => {
    expect(checkPin(SET, backupDer, NOW)).toEqual({ ok: true, matched: 'backup', pin: pinOf(backupDer) });
  });

  it('refuses an unpinned key with its pin, for the log', () => {
    expect(checkPin(SET, strangerDer, NOW)).toEqual({ ok: false, reason: 'mismatch', presentedPin: pinOf(strangerDer) });
  });

  it('an expired set fails closed, even for a pinned key; expiry is the first instant it no longer holds', () => {
    expect(checkPin(SET, primaryDer, EXPIRES_MS)).toEqual({ ok: false, reason: 'expired', expiresAtMs: EXPIRES_MS, nowMs: EXPIRES_MS });
    expect(checkPin(SET, backupDer, EXPIRES_MS + 1).ok).toBe(false);
    expect(() => checkPin(SET, primaryDer, Number.NaN)).toThrow(RangeError);
  });

  it('input that is neither a digest nor DER is malformed, not a mismatch', () => {
    expect(checkPin(SET, new Uint8Array(31), NOW)).toEqual({ ok: false, reason: 'malformed-input' });
    expect(checkPin(SET, Uint8Array.of(0x04, 1, 2, 3), NOW)).toEqual({ ok: false, reason: 'malformed-input' });
  });

  it('spkiPin agrees across crypto backends and with node:crypto', () => {
    expect(spkiPin(primaryDer, nobleBackend)).toBe(pinOf(primaryDer));
    expect(spkiPin(primaryDer, nodeBackend)).toBe(pinOf(primaryDer));
    expect(spkiPin(new Uint8Array(32).fill(7))).toBe(bytesToBase64(new Uint8Array(32).fill(7)));
  });
});

describe('pinSetCoversHost', () => {
  it('covers the listed host, subdomains only with includeSubdomains, and every host when none are listed', () => {
    expect(pinSetCoversHost(SET, 'api.example.com')).toBe(true);
    expect(pinSetCoversHost(SET, 'API.example.com.')).toBe(true);
    expect(pinSetCoversHost(SET, 'eu.api.example.com')).toBe(true);
    expect(pinSetCoversHost(SET, 'evilapi.example.com')).toBe(false);
    expect(pinSetCoversHost({ ...SET, includeSubdomains: false }, 'eu.api.example.com')).toBe(false);
    const { hostnames: _h, includeSubdomains: _i, ...anyHost } = SET;
    expect(pinSetCoversHost(anyHost, 'whatever.example')).toBe(true);
  });
});
