// Inputs for the differential tests of the zod-free wire fast paths (wire-fast.ts
// in @vcr/proofs and @vcr/consensus): valid wire forms, the values a liar might
// put in any field, and the check that a fast path accepts only what its
// schema accepts, with an equal value. Never used outside tests.

import fc from 'fast-check';
import { expect } from 'vitest';
import { bytesToHex } from '../bytes';

export const hex = (n: number, byte = 0xab) => bytesToHex(new Uint8Array(n).fill(byte));

export const validRequest = () => ({ clientId: hex(32, 0xcd), requestId: '1733600000000000', payload: hex(150), signature: hex(64) });
export const validHeader = () => ({
  chainId: hex(32, 0x01),
  epoch: '0',
  view: '3',
  height: '123',
  prevHash: hex(32),
  batchHash: hex(32),
  stateRoot: hex(32),
  logRoot: hex(32),
  logSize: '999',
  timestampMs: '1733600000000',
  nextMembershipHash: null as string | null,
});

/** Values a liar might put in any field: wrong types, near-miss strings, boundaries. */
export const hostileField = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, 0, 1, -1, 1.5, true, [], {}, '', '0', '00', '01', '-1', '1e3', ' 1', '9223372036854775807', '9223372036854775808', '18446744073709551616'),
  fc.constantFrom<unknown>(hex(32), hex(64), hex(31), hex(33), hex(32).toUpperCase(), `${hex(31)}ag`, `${hex(31)}a`, hex(64 * 1024), hex(64 * 1024 + 1), 'a'.repeat(128), 'a'.repeat(129), '\u00e9', '\ud800', 'é'.repeat(60), 'x'.repeat(65)),
  fc.string({ maxLength: 20 }),
  fc.bigInt().map(String),
);

/** Mutations of a valid object: a field replaced, removed, or an extra key added. */
export function mutated<T extends Record<string, unknown>>(valid: () => T): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid());
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), hostileField).map(([k, v]) => ({ ...valid(), [k]: v })),
    fc.constantFrom(...keys).map((k) => {
      const o: Record<string, unknown> = valid();
      delete o[k];
      return o;
    }),
    fc.tuple(fc.string({ maxLength: 12 }), hostileField).map(([k, v]) => ({ ...valid(), [k]: v })),
    fc.constant(JSON.parse(`{"__proto__": 1, ${JSON.stringify(valid()).slice(1)}`)),
  );
}

/** Whatever the fast path accepts, the schema accepts with an equal value. */
export function agreesWithSchema(fast: (o: unknown) => unknown, schema: { safeParse(o: unknown): { success: boolean; data?: unknown } }, input: unknown): void {
  const got = fast(input);
  if (got === undefined) return;
  const reference = schema.safeParse(input);
  expect(reference.success, JSON.stringify(input)?.slice(0, 200)).toBe(true);
  expect(got).toStrictEqual(reference.data);
}

