import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, tryHexToBytes, tryLowerHexToBytes } from './bytes';

/** The rule written the slow, obvious way: the oracle for the table-driven decoders. */
function reference(hex: string, lowerOnly: boolean): string | undefined {
  const digits = lowerOnly ? /^[0-9a-f]*$/ : /^[0-9a-fA-F]*$/;
  if (hex.length % 2 !== 0 || !digits.test(hex)) return undefined;
  let out = '';
  for (let i = 0; i < hex.length; i += 2) out += parseInt(hex.slice(i, i + 2), 16).toString(16).padStart(2, '0');
  return out;
}

const hexish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFgG \u0660\u00e0\uff10\u0130'.split('')), maxLength: 40 });

describe('hex decoding', () => {
  it('accepts and decodes exactly what the obvious rule does, in either case or lowercase only', () => {
    fc.assert(
      fc.property(fc.oneof(hexish, fc.string({ maxLength: 12 })), (hex) => {
        const any = tryHexToBytes(hex);
        const lower = tryLowerHexToBytes(hex);
        expect(any === undefined ? undefined : bytesToHex(any)).toBe(reference(hex, false));
        expect(lower === undefined ? undefined : bytesToHex(lower)).toBe(reference(hex, true));
      }),
      { numRuns: 5_000 },
    );
  });

  it('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(tryLowerHexToBytes(bytesToHex(all))).toEqual(all);
    expect(tryHexToBytes(bytesToHex(all).toUpperCase())).toEqual(all);
    expect(tryLowerHexToBytes(bytesToHex(all).toUpperCase())).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    expect(tryHexToBytes(12 as unknown as string)).toBeUndefined();
    expect(tryLowerHexToBytes(null as unknown as string)).toBeUndefined();
  });
});
