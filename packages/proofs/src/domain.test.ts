import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from './bytes';
import { type CanonicalValue, encodeCanonical } from './canonical';
import {
  checkInDomain,
  domainPrefix,
  domainTag,
  type SignatureKind,
  SIGNATURE_KINDS,
  type SigningDomain,
  signingBytes,
  signInDomain,
  verifyInDomain,
} from './domain';
import { limits } from './limits';
import { createMemorySigner, nobleBackend } from './noble-backend';

const signer = createMemorySigner(nobleBackend.sha256(utf8('domain.test signer')));
const base: SigningDomain = { kind: 'commit', chainId: 'vcr-test', epoch: 1n };
const message: CanonicalValue = { headerHash: new Uint8Array(32).fill(7), height: 12n, view: 0n };

function hexOf(text: string): string {
  return bytesToHex(utf8(text));
}

describe('domain prefix layout (u8 len || tag || u8 len || chainId || u64be epoch)', () => {
  it('matches the documented bytes for commit / "test" / epoch 1', () => {
    const prefix = domainPrefix({ kind: 'commit', chainId: 'test', epoch: 1n });
    // 0x0d = 13 = len("vcr/v1/commit"), 0x04 = len("test"), then epoch 1 as 8 big-endian bytes.
    expect(bytesToHex(prefix)).toBe('0d' + '7663722f76312f636f6d6d6974' + '04' + '74657374' + '0000000000000001');
  });

  it('counts chainId length in UTF-8 bytes and writes large epochs big-endian', () => {
    const prefix = domainPrefix({ kind: 'client-request', chainId: 'é', epoch: 1n << 40n });
    expect(bytesToHex(prefix)).toBe('15' + hexOf('vcr/v1/client-request') + '02' + 'c3a9' + '0000010000000000');
  });

  it('signingBytes is the prefix followed by the canonical message, nothing else', () => {
    expect(bytesToHex(signingBytes(base, message))).toBe(bytesToHex(domainPrefix(base)) + bytesToHex(encodeCanonical(message)));
  });

  it('every kind has its own tag "vcr/v1/<kind>" within the tag length limit', () => {
    const tags = SIGNATURE_KINDS.map(domainTag);
    expect(new Set(tags).size).toBe(SIGNATURE_KINDS.length);
    for (const kind of SIGNATURE_KINDS) {
      expect(domainTag(kind)).toBe(`vcr/v1/${kind}`);
      expect(utf8(domainTag(kind)).length).toBeLessThanOrEqual(limits.domainTagBytesMax);
    }
  });
});

describe('a signature made for one domain verifies in no other', () => {
  const signature = signInDomain(signer, base, message);

  it('verifies in its own domain', () => {
    expect(checkInDomain(nobleBackend, signer.publicKey, base, message, signature)).toBeUndefined();
    expect(verifyInDomain(nobleBackend, signer.publicKey, base, message, signature)).toBe(true);
  });

  for (const kind of SIGNATURE_KINDS.filter((k) => k !== base.kind)) {
    it(`a ${base.kind} signature does not verify as ${kind}`, () => {
      expect(checkInDomain(nobleBackend, signer.publicKey, { ...base, kind }, message, signature)).toBe('equation-failed');
    });
  }

  it('no kind accepts a signature made for any other kind', () => {
    const signatures = new Map<SignatureKind, Uint8Array>(SIGNATURE_KINDS.map((kind) => [kind, signInDomain(signer, { ...base, kind }, message)]));
    for (const signedAs of SIGNATURE_KINDS) {
      for (const checkedAs of SIGNATURE_KINDS) {
        const ok = verifyInDomain(nobleBackend, signer.publicKey, { ...base, kind: checkedAs }, message, signatures.get(signedAs) as Uint8Array);
        expect([signedAs, checkedAs, ok]).toEqual([signedAs, checkedAs, signedAs === checkedAs]);
      }
    }
  });

  it('does not verify on another chain', () => {
    for (const chainId of ['vcr-test2', 'vcr-tes', 'VCR-TEST', 'other']) {
      expect(checkInDomain(nobleBackend, signer.publicKey, { ...base, chainId }, message, signature)).toBe('equation-failed');
    }
  });

  it('signatures for epochs 0, 1 and 2^40 each verify only in their own epoch', () => {
    const epochs = [0n, 1n, 1n << 40n];
    for (const signedIn of epochs) {
      const sig = signInDomain(signer, { ...base, epoch: signedIn }, message);
      for (const checkedIn of epochs) {
        const ok = verifyInDomain(nobleBackend, signer.publicKey, { ...base, epoch: checkedIn }, message, sig);
        expect([signedIn, checkedIn, ok]).toEqual([signedIn, checkedIn, signedIn === checkedIn]);
      }
    }
  });

  it('does not verify for a different message', () => {
    const others: CanonicalValue[] = [
      { ...message, height: 13n },
      { ...message, view: 1n },
      { ...message, headerHash: new Uint8Array(32).fill(8) },
      [message],
      null,
    ];
    for (const other of others) expect(checkInDomain(nobleBackend, signer.publicKey, base, other, signature)).toBe('equation-failed');
  });

  it('does not verify under another key', () => {
    const other = createMemorySigner(nobleBackend.sha256(utf8('domain.test other signer')));
    expect(checkInDomain(nobleBackend, other.publicKey, base, message, signature)).toBe('equation-failed');
  });

  it('distinct (domain, message) pairs never share signed bytes', () => {
    const domainArb = fc.record({
      kind: fc.constantFrom(...SIGNATURE_KINDS),
      chainId: fc.string({ minLength: 1, maxLength: 8 }),
      epoch: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    });
    const messageArb = fc.oneof(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), fc.bigInt({ min: 0n, max: 1000n }));
    fc.assert(
      fc.property(domainArb, messageArb, domainArb, messageArb, (d1, m1, d2, m2) => {
        const same = d1.kind === d2.kind && d1.chainId === d2.chainId && d1.epoch === d2.epoch && bytesToHex(encodeCanonical(m1)) === bytesToHex(encodeCanonical(m2));
        expect(bytesToHex(signingBytes(d1, m1)) === bytesToHex(signingBytes(d2, m2))).toBe(same);
      }),
      { numRuns: 500 },
    );
  });
});

describe('refused domains', () => {
  it('refuses an empty chainId', () => {
    expect(() => domainPrefix({ ...base, chainId: '' })).toThrow(RangeError);
    expect(() => signInDomain(signer, { ...base, chainId: '' }, message)).toThrow(RangeError);
  });

  it(`refuses a chainId longer than ${limits.chainIdBytesMax} UTF-8 bytes, and accepts exactly ${limits.chainIdBytesMax}`, () => {
    expect(() => domainPrefix({ ...base, chainId: 'x'.repeat(limits.chainIdBytesMax) })).not.toThrow();
    expect(() => domainPrefix({ ...base, chainId: 'x'.repeat(limits.chainIdBytesMax + 1) })).toThrow(RangeError);
    // 33 characters but 66 bytes.
    expect(() => domainPrefix({ ...base, chainId: 'é'.repeat(33) })).toThrow(RangeError);
    expect(() => signInDomain(signer, { ...base, chainId: 'x'.repeat(limits.chainIdBytesMax + 1) }, message)).toThrow(RangeError);
  });

  it('refuses an epoch outside u64 and an unknown kind', () => {
    expect(() => domainPrefix({ ...base, epoch: -1n })).toThrow(RangeError);
    expect(() => domainPrefix({ ...base, epoch: 1n << 64n })).toThrow(RangeError);
    expect(() => domainPrefix({ ...base, kind: 'vote' as SignatureKind })).toThrow(TypeError);
  });
});
