import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from './bytes';
import { verifyCertificate } from './certificate';
import { verifyEpochChain } from './epoch-chain';
import { limits } from './limits';
import { hashLeaf, MerkleLog, verifyConsistency, verifyInclusion } from './merkle-log';
import { type MapEntry, MerkleMap, verifyMembership, verifyNonMembership } from './merkle-map';
import { nobleBackend } from './noble-backend';
import { testCertificate, testCluster, testEpochLink, testHeader } from './testing/fixtures';
import {
  certificateToJson,
  epochLinkToJson,
  headerToJson,
  logProofToJson,
  mapProofToJson,
  membershipToJson,
  parseCertificateJson,
  parseEpochLinkJson,
  parseHeaderJson,
  parseLogProofJson,
  parseMapProofJson,
  parseMembershipJson,
  type ParseResult,
} from './wire';

const backend = nobleBackend;

/** What a peer or a browser does: serialize, send as text, parse back into plain JSON. */
function overTheWire(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function parsed<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`expected ok:true, got ${result.issues.join('; ')}`);
  return result.value;
}

/** The first object of a JSON array inside a copy under test. */
function firstItem(list: unknown): Record<string, unknown> {
  const item: unknown = Array.isArray(list) ? list[0] : undefined;
  if (typeof item !== 'object' || item === null) throw new Error('expected a non-empty array of objects');
  return item as Record<string, unknown>;
}

/** A deep copy of a JSON object with `mutate` applied to the copy. */
function edited<T>(json: T, mutate: (copy: Record<string, unknown>) => void): unknown {
  const copy = overTheWire(json) as Record<string, unknown>;
  mutate(copy);
  return copy;
}

const e0 = testCluster({ epoch: 0n });
const e1 = testCluster({ epoch: 1n, keyPrefix: 'wire-rotated-1' });
const header = testHeader({ height: 7n, logSize: 3n, timestampMs: (1n << 63n) - 1n });
const certificate = testCertificate(e0, header);
const headerJson = headerToJson(header);
const certificateJson = certificateToJson(certificate);

const entryOf = (i: number): MapEntry => ({ value: utf8(`value-${i}`), revision: BigInt(i + 1) });
const map = MerkleMap.fromEntries(backend, Array.from({ length: 40 }, (_, i) => [`key-${i}`, entryOf(i)] as const));

/** The first absent key whose proof ends at the given terminal kind, below the root. */
function absentKeyEndingAt(kind: 'empty' | 'leaf'): string {
  for (let i = 0; i < 10_000; i++) {
    const key = `absent-${i}`;
    const proof = map.prove(key);
    if (proof.terminal.kind === kind && proof.siblings.length > 0) return key;
  }
  throw new Error(`no absent key found whose proof ends at ${kind}`);
}

const log = new MerkleLog(backend);
const logEntries = Array.from({ length: 11 }, (_, i) => utf8(`entry-${i}`));
for (const entry of logEntries) log.append(entry);

describe('wire round trips: toJson, JSON text, parse, then the real verifier accepts', () => {
  it('a block header comes back field for field, bigints and null included', () => {
    const back = parsed(parseHeaderJson(overTheWire(headerJson)));
    expect(back).toEqual(header);
    expect(headerJson.timestampMs).toBe('9223372036854775807');
    const boundary = testHeader({ nextMembershipHash: new Uint8Array(32).fill(0xab) });
    expect(parsed(parseHeaderJson(overTheWire(headerToJson(boundary))))).toEqual(boundary);
  });

  it('a certificate and its membership verify after the trip', () => {
    const back = parsed(parseCertificateJson(overTheWire(certificateJson)));
    const membership = parsed(parseMembershipJson(overTheWire(membershipToJson(e0.membership))));
    expect(membership).toEqual(e0.membership);
    const result = verifyCertificate(backend, membership, back);
    expect(result).toMatchObject({ ok: true, signers: ['r1', 'r2', 'r3', 'r4'] });
  });

  it('an epoch link verifies after the trip', () => {
    const link = testEpochLink(e0, e1);
    const back = parsed(parseEpochLinkJson(overTheWire(epochLinkToJson(link))));
    expect(back).toEqual(link);
    expect(verifyEpochChain(backend, e0.membership, [back])).toMatchObject({ ok: true, latest: e1.membership });
  });

  it('a membership proof (leaf terminal) verifies after the trip', () => {
    const proof = parsed(parseMapProofJson(overTheWire(mapProofToJson(map.prove('key-17')))));
    expect(proof.terminal.kind).toBe('leaf');
    expect(verifyMembership(backend, { root: map.root, key: 'key-17', entry: entryOf(17), proof })).toEqual({ ok: true });
  });

  it('a non-membership proof ending at an empty subtree verifies after the trip', () => {
    const key = absentKeyEndingAt('empty');
    const proof = parsed(parseMapProofJson(overTheWire(mapProofToJson(map.prove(key)))));
    expect(proof.terminal).toEqual({ kind: 'empty' });
    expect(verifyNonMembership(backend, { root: map.root, key, proof })).toEqual({ ok: true });
  });

  it("a non-membership proof ending at another key's leaf verifies after the trip", () => {
    const key = absentKeyEndingAt('leaf');
    const proof = parsed(parseMapProofJson(overTheWire(mapProofToJson(map.prove(key)))));
    expect(proof.terminal.kind).toBe('leaf');
    expect(verifyNonMembership(backend, { root: map.root, key, proof })).toEqual({ ok: true });
  });

  it('the proof of an empty map (no siblings, empty terminal) survives the trip', () => {
    const empty = new MerkleMap(backend);
    const json = mapProofToJson(empty.prove('anything'));
    expect(json).toEqual({ siblings: [], terminal: { kind: 'empty' } });
    const proof = parsed(parseMapProofJson(overTheWire(json)));
    expect(verifyNonMembership(backend, { root: empty.root, key: 'anything', proof })).toEqual({ ok: true });
  });

  it('log inclusion proofs verify after the trip, for every index', () => {
    for (let i = 0; i < logEntries.length; i++) {
      const index = BigInt(i);
      const proof = parsed(parseLogProofJson(overTheWire(logProofToJson(log.inclusionProof(index, log.size)))));
      const leafHash = hashLeaf(backend, logEntries[i] as Uint8Array);
      expect(verifyInclusion(backend, { leafHash, index, size: log.size, proof, root: log.root() })).toEqual({ ok: true });
    }
  });

  it('a log consistency proof verifies after the trip, and an empty proof is []', () => {
    const proof = parsed(parseLogProofJson(overTheWire(logProofToJson(log.consistencyProof(5n, log.size)))));
    expect(verifyConsistency(backend, { size1: 5n, size2: log.size, root1: log.rootAt(5n), root2: log.root(), proof })).toEqual({ ok: true });
    expect(logProofToJson(log.consistencyProof(log.size, log.size))).toEqual([]);
    expect(parseLogProofJson([])).toEqual({ ok: true, value: [] });
  });
});

describe('the wire refuses what it does not define', () => {
  const hash = bytesToHex(new Uint8Array(32).fill(0xab));

  const headerCases: [string, (h: Record<string, unknown>) => void][] = [
    ['uppercase hex', (h) => (h.prevHash = 'AB'.repeat(32))],
    ['uppercase hex in an otherwise valid hash', (h) => (h.stateRoot = `${hash.slice(0, 62)}AB`)],
    ['odd-length hex', (h) => (h.batchHash = hash.slice(1))],
    ['a 31-byte hash', (h) => (h.logRoot = hash.slice(2))],
    ['a 33-byte hash', (h) => (h.logRoot = `${hash}00`)],
    ['a 0x prefix', (h) => (h.logRoot = `0x${hash.slice(2)}`)],
    ['a number where a decimal string is required', (h) => (h.height = 7)],
    ['a bigint-sized number where a decimal string is required', (h) => (h.timestampMs = 1_700_000_000_000)],
    ['a negative decimal', (h) => (h.epoch = '-1')],
    ['a leading zero', (h) => (h.view = '07')],
    ['a plus sign', (h) => (h.view = '+7')],
    ['an exponent', (h) => (h.logSize = '1e3')],
    ['whitespace around a decimal', (h) => (h.logSize = ' 3')],
    ['2^63', (h) => (h.timestampMs = '9223372036854775808')],
    ['2^64 - 1', (h) => (h.timestampMs = '18446744073709551615')],
    ['a 20-digit decimal', (h) => (h.timestampMs = '10000000000000000000')],
    ['an unknown extra key', (h) => (h.extra = 'x')],
    ['a missing key', (h) => delete h.logRoot],
    ['an undefined nextMembershipHash (key missing)', (h) => delete h.nextMembershipHash],
    ['an empty chain id', (h) => (h.chainId = '')],
  ];

  for (const [what, mutate] of headerCases) {
    it(`a header with ${what} is refused with ok:false`, () => {
      const result = parseHeaderJson(edited(headerJson, mutate));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.reason).toBe('malformed');
        expect(result.issues.length).toBeGreaterThan(0);
      }
    });
  }

  it('accepts the largest value below 2^63 and 0, but not "00"', () => {
    expect(parseHeaderJson(edited(headerJson, (h) => (h.timestampMs = '9223372036854775807'))).ok).toBe(true);
    expect(parseHeaderJson(edited(headerJson, (h) => (h.view = '0'))).ok).toBe(true);
    expect(parseHeaderJson(edited(headerJson, (h) => (h.view = '00'))).ok).toBe(false);
  });

  it('refuses a certificate with a short signature, an extra key in an entry, or 65 entries', () => {
    const first = certificateJson.signatures[0];
    if (first === undefined) throw new Error('fixture certificate has no signatures');
    expect(parseCertificateJson(edited(certificateJson, (c) => (firstItem(c.signatures).signature = first.signature.slice(2)))).ok).toBe(false);
    expect(parseCertificateJson(edited(certificateJson, (c) => (firstItem(c.signatures).weight = 1))).ok).toBe(false);
    expect(parseCertificateJson(edited(certificateJson, (c) => (c.unsigned = true))).ok).toBe(false);
    const tooMany = Array.from({ length: limits.certificateSignaturesMax + 1 }, (_, i) => ({ replicaId: `r${i}`, signature: first.signature }));
    expect(parseCertificateJson({ ...certificateJson, signatures: tooMany }).ok).toBe(false);
  });

  it('refuses a membership whose f is a decimal string or whose public key has the wrong length', () => {
    const json = membershipToJson(e0.membership);
    expect(parseMembershipJson(edited(json, (m) => (m.f = '1'))).ok).toBe(false);
    expect(parseMembershipJson(edited(json, (m) => (m.f = 1.5))).ok).toBe(false);
    expect(parseMembershipJson(edited(json, (m) => (firstItem(m.replicas).publicKey = `${hash}00`))).ok).toBe(false);
  });

  it(`refuses a map proof with ${limits.mapDepthMax + 1} siblings and accepts ${limits.mapDepthMax}`, () => {
    const terminal = { kind: 'leaf', path: hash, entryHash: hash };
    expect(parseMapProofJson({ siblings: Array(limits.mapDepthMax).fill(hash), terminal }).ok).toBe(true);
    expect(parseMapProofJson({ siblings: Array(limits.mapDepthMax + 1).fill(hash), terminal }).ok).toBe(false);
  });

  const terminalCases: [string, unknown][] = [
    ['an unknown kind', { kind: 'internal', path: hash, entryHash: hash }],
    ['no kind', { path: hash, entryHash: hash }],
    ['a leaf without entryHash', { kind: 'leaf', path: hash }],
    ['a leaf with an uppercase path', { kind: 'leaf', path: hash.toUpperCase(), entryHash: hash }],
    ['an empty terminal with extra fields', { kind: 'empty', path: hash }],
    ['a string instead of an object', 'empty'],
    ['null', null],
  ];

  for (const [what, terminal] of terminalCases) {
    it(`refuses a map proof whose terminal is ${what}`, () => {
      expect(parseMapProofJson({ siblings: [hash], terminal }).ok).toBe(false);
    });
  }

  it('refuses a map proof with a short sibling, an unknown key, or siblings that are not an array', () => {
    const terminal = { kind: 'empty' };
    expect(parseMapProofJson({ siblings: [hash.slice(2)], terminal }).ok).toBe(false);
    expect(parseMapProofJson({ siblings: [], terminal, bitmap: '00' }).ok).toBe(false);
    expect(parseMapProofJson({ siblings: hash, terminal }).ok).toBe(false);
  });

  it(`refuses a log proof with ${limits.logProofNodesMax + 1} nodes and accepts ${limits.logProofNodesMax}`, () => {
    expect(parseLogProofJson(Array(limits.logProofNodesMax).fill(hash)).ok).toBe(true);
    expect(parseLogProofJson(Array(limits.logProofNodesMax + 1).fill(hash)).ok).toBe(false);
  });

  it('refuses a log proof with an uppercase, odd-length or 31-byte node, or null for an empty proof', () => {
    expect(parseLogProofJson([hash.toUpperCase()]).ok).toBe(false);
    expect(parseLogProofJson([hash.slice(1)]).ok).toBe(false);
    expect(parseLogProofJson([hash.slice(2)]).ok).toBe(false);
    expect(parseLogProofJson(null).ok).toBe(false);
  });
});

describe('parsing never throws', () => {
  const parsers: [string, (untrusted: unknown) => ParseResult<unknown>, unknown][] = [
    ['parseHeaderJson', parseHeaderJson, headerJson],
    ['parseCertificateJson', parseCertificateJson, certificateJson],
    ['parseMembershipJson', parseMembershipJson, membershipToJson(e0.membership)],
    ['parseEpochLinkJson', parseEpochLinkJson, epochLinkToJson(testEpochLink(e0, e1))],
    ['parseMapProofJson', parseMapProofJson, mapProofToJson(map.prove('key-3'))],
    ['parseLogProofJson', parseLogProofJson, logProofToJson(log.inclusionProof(3n, log.size))],
  ];

  function answers(parse: (untrusted: unknown) => ParseResult<unknown>, input: unknown): void {
    const result = parse(input);
    expect(typeof result.ok).toBe('boolean');
    if (!result.ok) expect(result.reason).toBe('malformed');
  }

  for (const [name, parse, valid] of parsers) {
    it(`${name} answers ok:true or ok:false on any JSON value`, () => {
      fc.assert(
        fc.property(fc.jsonValue(), (input) => answers(parse, input)),
        { numRuns: 500 },
      );
    });

    it(`${name} answers ok:true or ok:false when any one field of a valid form is replaced`, () => {
      const paths = leafPaths(valid);
      fc.assert(
        fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, replacement) => answers(parse, replaceAt(valid, path, replacement))),
        { numRuns: 500 },
      );
    });

    it(`${name} answers on values JSON cannot express (undefined, bigint, symbols, class instances)`, () => {
      fc.assert(
        fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withDate: true, withNullPrototype: true }), (input) =>
          answers(parse, input),
        ),
        { numRuns: 300 },
      );
    });
  }
});

type Path = (string | number)[];

/** Every path from the root of a JSON value to one of its nodes (the root included). */
function leafPaths(value: unknown, prefix: Path = []): Path[] {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(...value.map((item, i) => leafPaths(item, [...prefix, i])));
  if (value !== null && typeof value === 'object') {
    return here.concat(...Object.entries(value as Record<string, unknown>).map(([k, v]) => leafPaths(v, [...prefix, k])));
  }
  return here;
}

function replaceAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  const copy = overTheWire(value) as Record<string | number, unknown>;
  copy[head as string | number] = replaceAt(copy[head as string | number], rest, replacement);
  return copy;
}

describe('wire text fields that get hashed', () => {
  it('refuses a lone surrogate in a chain id instead of failing later while hashing', async () => {
    const { testHeader } = await import('./testing/fixtures');
    const { headerToJson, parseHeaderJson } = await import('./wire');
    const json = { ...headerToJson(testHeader()), chainId: 'vcr\ud800' };
    expect(parseHeaderJson(JSON.parse(JSON.stringify(json))).ok).toBe(false);
  });
});
