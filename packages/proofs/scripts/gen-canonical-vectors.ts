// Writes docs/vectors/canonical.json: test vectors for the one canonical
// encoding (packages/proofs/src/canonical.ts), so a second implementation can
// check itself byte for byte.
//
// Run from the repository root:
//   npx tsx packages/proofs/scripts/gen-canonical-vectors.ts
//
// Each vector is { name, value, hex, sha256 }:
//   value   the value, as JSON: null, booleans, strings, arrays and objects
//           stand for themselves; safe integers are JSON numbers; other
//           integers are {"$bigint": "<decimal>"}; byte strings are
//           {"$bytes": "<lowercase hex>"}. (No vector uses "$bigint" or
//           "$bytes" as a map key, so the two forms are unambiguous.)
//   hex     encodeCanonical(value)
//   sha256  SHA-256 of those bytes
// The output is deterministic. The generator throws instead of writing when
// an encoding differs from the hex published in RFC 8949 Appendix A, when a
// map's keys are not in length-first order, or when a vector does not decode
// back to itself. Tests that consume the file: packages/proofs/src/canonical.test.ts.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesToHex, compareBytes, hexToBytes, utf8 } from '../src/bytes';
import { type CanonicalValue, decodeCanonical, encodeCanonical } from '../src/canonical';
import { nobleBackend } from '../src/noble-backend';

type JsonDescription = null | boolean | number | string | JsonDescription[] | { [key: string]: JsonDescription };

interface Vector {
  name: string;
  value: JsonDescription;
  hex: string;
  sha256: string;
}

function fail(message: string): never {
  throw new Error(`gen-canonical-vectors: ${message}`);
}

function describeValue(value: CanonicalValue): JsonDescription {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(describeValue);
  const out: { [key: string]: JsonDescription } = {};
  for (const [key, item] of Object.entries(value as { [key: string]: CanonicalValue })) {
    if (key === '$bigint' || key === '$bytes') fail(`map key ${key} would be ambiguous in the JSON description`);
    out[key] = describeValue(item);
  }
  return out;
}

/** Integers as bigint and map keys in one order, so a decoded value compares equal to the original. */
function normalize(value: unknown): unknown {
  if (typeof value === 'number') return BigInt(value);
  if (value instanceof Uint8Array) return { $bytes: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

function sameValue(a: unknown, b: unknown): boolean {
  const stringify = (v: unknown): string =>
    JSON.stringify(normalize(v), (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item));
  return stringify(a) === stringify(b);
}

const vectors: Vector[] = [];

function add(name: string, value: CanonicalValue, rfc8949Hex?: string): void {
  if (vectors.some((v) => v.name === name)) fail(`duplicate vector name ${name}`);
  const bytes = encodeCanonical(value);
  const hex = bytesToHex(bytes);
  if (rfc8949Hex !== undefined && hex !== rfc8949Hex) fail(`${name}: encodes to ${hex}, RFC 8949 Appendix A says ${rfc8949Hex}`);
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) fail(`${name}: its own encoding does not decode (${decoded.reason})`);
  if (!sameValue(decoded.value, value)) fail(`${name}: decodes to a different value`);
  vectors.push({ name, value: describeValue(value), hex, sha256: bytesToHex(nobleBackend.sha256(bytes)) });
}

/** The keys of a top-level map in encoded order, read back from the bytes (map header, then text keys). */
function encodedKeyOrder(value: { [key: string]: CanonicalValue }): string[] {
  const decoded = decodeCanonical(encodeCanonical(value));
  if (!decoded.ok || decoded.value === null || typeof decoded.value !== 'object') return fail('map did not decode');
  return Object.keys(decoded.value);
}

function assertLengthFirstOrder(name: string, value: { [key: string]: CanonicalValue }): void {
  const keys = encodedKeyOrder(value);
  for (let i = 1; i < keys.length; i++) {
    const a = utf8(keys[i - 1] as string);
    const b = utf8(keys[i] as string);
    if (a.length > b.length || (a.length === b.length && compareBytes(a, b) >= 0)) fail(`${name}: keys not in length-first order: ${keys.join(', ')}`);
  }
}

// Simple values (RFC 8949 Appendix A where it has them).
add('null', null, 'f6');
add('true', true, 'f5');
add('false', false, 'f4');

// Unsigned integers: every boundary of the argument width.
add('int 0', 0, '00');
add('int 1', 1, '01');
add('int 10', 10, '0a');
add('int 23 (largest 1-byte)', 23, '17');
add('int 24 (smallest 2-byte)', 24, '1818');
add('int 100', 100, '1864');
add('int 255', 255);
add('int 256', 256);
add('int 1000', 1000, '1903e8');
add('int 65535', 65535);
add('int 65536', 65536);
add('int 1000000', 1000000, '1a000f4240');
add('int 2^32 - 1', 2 ** 32 - 1);
add('int 2^32', 2 ** 32);
add('int 1000000000000', 1000000000000, '1b000000e8d4a51000');
add('int 2^53 - 1 (largest safe number)', Number.MAX_SAFE_INTEGER);
add('int 2^53 (bigint)', 1n << 53n);
add('int 2^63', 1n << 63n);
add('int 2^64 - 1 (largest)', (1n << 64n) - 1n, '1bffffffffffffffff');

// Negative integers.
add('int -1', -1, '20');
add('int -10', -10, '29');
add('int -24 (largest 1-byte negative)', -24);
add('int -25', -25);
add('int -100', -100, '3863');
add('int -256', -256);
add('int -257', -257);
add('int -1000', -1000, '3903e7');
add('int -2^53 + 1 (smallest safe number)', Number.MIN_SAFE_INTEGER);
add('int -2^63', -(1n << 63n));

// Text strings (UTF-8).
add('string empty', '', '60');
add('string "a"', 'a', '6161');
add('string "IETF"', 'IETF', '6449455446');
add('string quote and backslash', '"\\', '62225c');
add('string "\u00fc"', '\u00fc', '62c3bc');
add('string "\u6c34"', '\u6c34', '63e6b0b4');
add('string "\u00e9\u2713"', '\u00e9\u2713');
add('string astral "\u{1f680}"', '\u{1f680}');
add('string 24 bytes (2-byte length)', 'abcdefghijklmnopqrstuvwx');

// Byte strings.
add('bytes empty', new Uint8Array(0), '40');
add('bytes 01020304', Uint8Array.of(1, 2, 3, 4), '4401020304');
add('bytes 32 (0x00..0x1f)', Uint8Array.from({ length: 32 }, (_, i) => i));
add('bytes sha256("abc")', nobleBackend.sha256(utf8('abc')));

// Arrays.
add('array empty', [], '80');
add('array [1, 2, 3]', [1, 2, 3], '83010203');
add('array nested [1, [2, 3], [4, 5]]', [1, [2, 3], [4, 5]], '8301820203820405');
add('array deeply nested [[[[]]]]', [[[[]]]]);
add('array mixed', [null, true, false, 'a', Uint8Array.of(0xff), -1, (1n << 64n) - 1n, { k: [] }]);
add('array 25 items (1-byte length)', Array.from({ length: 25 }, (_, i) => i + 1));

// Maps: keys sorted by encoded length first, then bytewise.
add('map empty', {}, 'a0');
add('map {"a": 1, "b": [2, 3]}', { a: 1, b: [2, 3] }, 'a26161016162820203');
{
  const value = { b: 1, a: 2, aa: 3 };
  assertLengthFirstOrder('map keys b, a, aa', value);
  if (encodedKeyOrder(value).join(',') !== 'a,b,aa') fail('map keys b, a, aa: expected order a, b, aa');
  add('map keys "b", "a", "aa" sort as "a", "b", "aa"', value);
}
{
  const value = { aa: 1, z: 2, B: 3, a: 4, ab: 5, '\u00e9': 6 };
  assertLengthFirstOrder('map mixed keys', value);
  if (encodedKeyOrder(value).join(',') !== 'B,a,z,aa,ab,\u00e9') fail('map mixed keys: unexpected order');
  add('map keys sort by UTF-8 length, then bytes (B < a < z < aa < ab < \u00e9)', value);
}
add('map nested', { outer: { inner: { x: null } }, list: [{ b: 1, a: 2 }] });

// Shapes the system signs.
{
  const header = {
    chainId: 'vcr-test',
    epoch: 1n,
    view: 0n,
    height: 42n,
    prevHash: nobleBackend.sha256(utf8('header 41')),
    batchHash: nobleBackend.sha256(utf8('batch 42')),
    stateRoot: nobleBackend.sha256(utf8('state 42')),
    logRoot: nobleBackend.sha256(utf8('log 42')),
    logSize: 1234n,
    timestampMs: 1700000000000n,
    nextMembershipHash: null,
  };
  assertLengthFirstOrder('block header', header);
  add('block header-like map', header);
  add('commit vote-like map', { headerHash: nobleBackend.sha256(encodeCanonical(header)), height: 42n, view: 0n });
}

for (const v of vectors) {
  if (bytesToHex(hexToBytes(v.hex)) !== v.hex) fail(`${v.name}: hex not lowercase`);
}

const out = fileURLToPath(new URL('../../../docs/vectors/canonical.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to ${out}`);
