// The encoding rules compare bytes (the hot path checks every signature); this
// holds them to the arithmetic they stand for, written with big integers.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkEd25519Encodings, ED25519_L, ED25519_P, leToBigint, SMALL_ORDER_ENCODINGS } from './ed25519-rule';
import { bytesToHex } from './bytes';

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The rules as arithmetic on integers. */
function reference(signature: Uint8Array, publicKey: Uint8Array): string | undefined {
  const canonicalPoint = (bytes: Uint8Array) => {
    const y = leToBigint(Uint8Array.from(bytes, (b, i) => (i === 31 ? b & 0x7f : b)));
    const sign = (bytes[31] as number) >> 7;
    return y < ED25519_P && !(sign === 1 && (y === 1n || y === ED25519_P - 1n));
  };
  if (leToBigint(signature.subarray(32, 64)) >= ED25519_L) return 'non-canonical-s';
  if (!canonicalPoint(publicKey)) return 'non-canonical-public-key';
  if (!canonicalPoint(signature.subarray(0, 32))) return 'non-canonical-r';
  if (SMALL_ORDER_ENCODINGS.has(bytesToHex(publicKey))) return 'small-order-public-key';
  return undefined;
}

// Integers near each boundary, where an off-by-one would show.
const edges = [0n, 1n, 2n, ED25519_L - 1n, ED25519_L, ED25519_L + 1n, ED25519_P - 2n, ED25519_P - 1n, ED25519_P, ED25519_P + 18n, (1n << 255n) - 1n, (1n << 256n) - 1n];
const edgeBytes = fc.constantFrom(...edges).chain((n) => fc.boolean().map((flip) => {
  const b = le32(n);
  if (flip) b[31] = (b[31] as number) ^ 0x80;
  return b;
}));
const bytes32 = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), edgeBytes);

describe('Ed25519 encoding rules by byte comparison', () => {
  it('agree with the integer arithmetic on random and boundary encodings', () => {
    fc.assert(
      fc.property(bytes32, bytes32, bytes32, (r, s, a) => {
        const signature = new Uint8Array(64);
        signature.set(r, 0);
        signature.set(s, 32);
        expect(checkEd25519Encodings(signature, a)).toBe(reference(signature, a));
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses S = L and accepts S = L - 1', () => {
    const signature = new Uint8Array(64);
    const key = le32(9n);
    signature.set(le32(9n), 0);
    signature.set(le32(ED25519_L), 32);
    expect(checkEd25519Encodings(signature, key)).toBe('non-canonical-s');
    signature.set(le32(ED25519_L - 1n), 32);
    expect(checkEd25519Encodings(signature, key)).toBeUndefined();
  });
});
