import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, tryHexToBytes, tryLowercaseHexToBytes } from './bytes';
import { hash32 } from './wire';

/** The rule written the slow, obvious way: even length, only 0-9 a-f A-F, two digits a byte. */
function referenceHexToBytes(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

describe('hex', () => {
  it('tryHexToBytes decodes exactly what the obvious rule decodes, and refuses what it refuses', () => {
    const hexChars = fc.constantFrom(...'0123456789abcdefABCDEF');
    const anyChars = fc.constantFrom(...'0123456789abcdefABCDEFgG /\u0000\u00e9\u0660\uff10x');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: hexChars, maxLength: 80 }), fc.string({ unit: anyChars, maxLength: 80 }), fc.string({ maxLength: 40 })), (hex) => {
        expect(tryHexToBytes(hex)).toEqual(referenceHexToBytes(hex));
      }),
      { numRuns: 3000 },
    );
  });

  it('the wire form (hash32) takes exactly 32 bytes of lowercase hex, as the regex it replaced did', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEFx');
    fc.assert(
      fc.property(fc.string({ unit: chars, minLength: 60, maxLength: 68 }), (hex) => {
        const parsed = hash32.safeParse(hex);
        const wanted = /^(?:[0-9a-f]{2})*$/.test(hex) && hex.length === 64;
        expect(parsed.success).toBe(wanted);
        if (parsed.success) expect(parsed.data).toEqual(tryHexToBytes(hex));
      }),
      { numRuns: 2000 },
    );
    expect(tryLowercaseHexToBytes('aB')).toBeUndefined();
    expect(hash32.safeParse(7).success).toBe(false);
  });

  it('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(tryHexToBytes(bytesToHex(all))).toEqual(all);
    expect(tryHexToBytes(bytesToHex(all).toUpperCase())).toEqual(all);
  });
});
