import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  type CanonicalValue,
  type CryptoBackend,
  MerkleLog,
  bytesToHex,
  encodeCanonical,
  hashLeaf,
  nobleBackend,
  utf8,
  verifyMembership,
  verifyNonMembership,
} from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { testCluster } from '@vcr/proofs/testing';
import { type ClientReply, type ClientRequest, type ExecutionResult, type Executor, requestIdCeiling } from '@vcr/consensus';
import {
  type RegistryOp,
  type RegistryResult,
  type SingleOp,
  decodeOp,
  decodeResult,
  encodeOp,
  encodeResult,
  registryLimits,
  leafForRequest,
  singleOps,
  decodePrefixCounts,
  indexedPrefixesOf,
  prefixIndexKey,
} from '@vcr/registry';
import { type RegistryState, genesisRegistryState, readEntry, registryExecutor, registryRoots, replyCacheKey } from './state';

const backend = nobleBackend;
const executor = registryExecutor(backend);
const GENESIS = testCluster({ n: 4 }).membership;

// Signature checking is the replica's job; the executor only hashes the bytes.
function request(clientId: string, requestId: bigint, payload: RegistryOp | Uint8Array): ClientRequest {
  const bytes = payload instanceof Uint8Array ? payload : encodeOp(payload);
  return { clientId, requestId, payload: bytes, signature: new Uint8Array(64).fill(Number(requestId % 256n)) };
}

const put = (key: string, text: string): SingleOp => ({ op: 'put', key, value: utf8(text) });
const del = (key: string): SingleOp => ({ op: 'delete', key });
const cas = (key: string, expectedRevision: bigint, text: string): SingleOp => ({ op: 'cas', key, expectedRevision, value: utf8(text) });

function run(state: RegistryState, batch: ClientRequest[], seq = 1n, ex: Executor<RegistryState> = executor): ExecutionResult<RegistryState> {
  return ex.apply(state, { seq, batch, timestampMs: 1_700_000_000_000n });
}

function resultOf(reply: ClientReply | undefined): RegistryResult {
  expect(reply).toBeDefined();
  const decoded = decodeResult((reply as ClientReply).result);
  if (!decoded.ok) throw new Error(`reply result does not decode: ${decoded.reason}`);
  return decoded.result;
}

function userValue(state: RegistryState, key: string): { text: string; revision: bigint } | undefined {
  const read = readEntry(state, key);
  if (!read.ok) throw new Error(read.reason);
  if (read.entry === undefined) return undefined;
  return { text: new TextDecoder().decode(read.entry.value), revision: read.entry.revision };
}

/** Every user entry (reply cache excluded), sorted by key. */
function userEntries(state: RegistryState): [string, string, bigint][] {
  const out: [string, string, bigint][] = [];
  for (const [key, entry] of state.map.entries()) if (!key.startsWith('\u0000')) out.push([key, bytesToHex(entry.value), entry.revision]);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('registry operation format', () => {
  it('encodeOp and decodeOp round-trip every operation kind, revisions as bigints', () => {
    const ops: RegistryOp[] = [
      put('flags/a', 'on'),
      del('flags/a'),
      cas('flags/a', 0n, 'x'),
      cas('flags/a', (1n << 63n) - 1n, 'x'),
      { op: 'txn', ops: [put('a', '1'), cas('b', 3n, '2'), del('c')] },
    ];
    for (const op of ops) expect(decodeOp(encodeOp(op))).toEqual({ ok: true, op });
  });

  it('accepts keys up to 256 characters of the key alphabet and values up to 64 KiB', () => {
    const key = '!~'.repeat(128);
    const value = new Uint8Array(registryLimits.valueBytesMax);
    expect(decodeOp(encodeOp({ op: 'put', key, value })).ok).toBe(true);
  });

  const refusals: [string, CanonicalValue | Uint8Array, string][] = [
    ['bytes that are not CBOR', Uint8Array.of(0xff, 0x00), 'not-canonical'],
    ['non-shortest integer encoding', Uint8Array.of(0x18, 0x01), 'not-canonical'],
    ['a value that is not a map', ['put', 'a'], 'not-a-map'],
    ['an unknown op', { op: 'get', key: 'a' }, 'unknown-op'],
    ['an extra field', { op: 'delete', key: 'a', why: 'x' }, 'bad-fields'],
    ['a missing field', { op: 'put', key: 'a' }, 'bad-fields'],
    ['an empty key', { op: 'delete', key: '' }, 'key-empty'],
    ['a key of 257 characters', { op: 'delete', key: 'a'.repeat(257) }, 'key-too-long'],
    ['a key with a newline', { op: 'delete', key: 'a\nb' }, 'key-character-not-allowed'],
    ['a key with DEL', { op: 'delete', key: 'a\u007f' }, 'key-character-not-allowed'],
    ['a key with a C1 control', { op: 'delete', key: 'a\u0085' }, 'key-character-not-allowed'],
    ['a key with fullwidth slashes', { op: 'delete', key: 'demo\uff0fflags\uff0fdark-mode' }, 'key-character-not-allowed'],
    ['a key with a zero-width space', { op: 'delete', key: 'demo\u200b/flags/dark-mode' }, 'key-character-not-allowed'],
    ['a key in NFD (e + combining acute)', { op: 'delete', key: 'demo/caf\u0065\u0301' }, 'key-character-not-allowed'],
    ['a key in NFC (precomposed é)', { op: 'delete', key: 'demo/caf\u00e9' }, 'key-character-not-allowed'],
    ['a key with a space', { op: 'delete', key: 'demo/dark mode' }, 'key-character-not-allowed'],
    ['a key in the reserved prefix', { op: 'delete', key: '\u0000reply/c1' }, 'key-reserved'],
    ['a key that is not a string', { op: 'delete', key: 7 }, 'bad-key-type'],
    ['a value that is not bytes', { op: 'put', key: 'a', value: 'text' }, 'bad-value-type'],
    ['a value over 64 KiB', { op: 'put', key: 'a', value: new Uint8Array(registryLimits.valueBytesMax + 1) }, 'value-too-large'],
    ['a negative revision', { op: 'cas', key: 'a', expectedRevision: -1, value: new Uint8Array() }, 'bad-revision'],
    ['a revision of 2^63', { op: 'cas', key: 'a', expectedRevision: 1n << 63n, value: new Uint8Array() }, 'bad-revision'],
    ['a revision as text', { op: 'cas', key: 'a', expectedRevision: '1', value: new Uint8Array() }, 'bad-revision'],
    ['an empty txn', { op: 'txn', ops: [] }, 'txn-empty'],
    ['a txn of 65 ops', { op: 'txn', ops: Array.from({ length: 65 }, () => ({ op: 'delete', key: 'a' })) }, 'txn-too-large'],
    ['a nested txn', { op: 'txn', ops: [{ op: 'txn', ops: [{ op: 'delete', key: 'a' }] }] }, 'nested-txn'],
    ['a txn whose ops are not a list', { op: 'txn', ops: { op: 'delete', key: 'a' } }, 'bad-txn-ops'],
    ['a txn with one bad op', { op: 'txn', ops: [{ op: 'delete', key: 'a' }, { op: 'delete', key: '' }] }, 'key-empty'],
  ];
  it.each(refusals)('decodeOp refuses %s', (_, value, reason) => {
    const bytes = value instanceof Uint8Array ? value : encodeCanonical(value);
    expect(decodeOp(bytes)).toEqual({ ok: false, reason });
  });

  it('encodeOp refuses an operation that decodeOp would refuse', () => {
    expect(() => encodeOp({ op: 'put', key: '\u0000reply/c1', value: new Uint8Array() })).toThrow(RangeError);
    expect(() => encodeOp({ op: 'txn', ops: [] })).toThrow(RangeError);
  });

  it('results round-trip and decodeResult refuses anything else', () => {
    const results: RegistryResult[] = [{ ok: true, revisions: [1n, 0n] }, { ok: false, error: 'absent' }, { ok: false, error: 'txn-too-large' }];
    for (const result of results) expect(decodeResult(encodeResult(result))).toEqual({ ok: true, result });
    expect(decodeResult(encodeCanonical({ ok: false, error: 'teapot' })).ok).toBe(false);
    // A noop's result has no revisions; more than one per op of the largest txn, or a negative one, is malformed.
    expect(decodeResult(encodeCanonical({ ok: true, revisions: [] })).ok).toBe(true);
    expect(decodeResult(encodeCanonical({ ok: true, revisions: Array.from({ length: 65 }, () => 1) })).ok).toBe(false);
    expect(decodeResult(encodeCanonical({ ok: true, revisions: [-1] })).ok).toBe(false);
    expect(decodeResult(encodeResult({ ok: false, error: 'invalid-value' }))).toEqual({ ok: true, result: { ok: false, error: 'invalid-value' } });
    expect(decodeResult(Uint8Array.of(0xff)).ok).toBe(false);
  });
});

describe('registry executor', () => {
  it('put creates a key at revision 1 and each later put adds one', () => {
    const first = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a', 'x'))]);
    expect(resultOf(first.replies[0])).toEqual({ ok: true, revisions: [1n] });
    const second = run(first.state, [request('c1', 2n, put('a', 'y')), request('c2', 1n, put('b', 'z'))], 2n);
    expect(second.replies.map(resultOf)).toEqual([{ ok: true, revisions: [2n] }, { ok: true, revisions: [1n] }]);
    expect(userValue(second.state, 'a')).toEqual({ text: 'y', revision: 2n });
    expect(userValue(second.state, 'b')).toEqual({ text: 'z', revision: 1n });
  });

  it('readEntry proves presence and absence against the certified state root', () => {
    const { state, stateRoot } = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a', 'x'))]);
    const present = readEntry(state, 'a');
    if (!present.ok || present.entry === undefined) throw new Error('a is missing');
    expect(verifyMembership(backend, { root: stateRoot, key: 'a', entry: present.entry, proof: present.proof })).toEqual({ ok: true });
    const absent = readEntry(state, 'nope');
    if (!absent.ok) throw new Error(absent.reason);
    expect(absent.entry).toBeUndefined();
    expect(verifyNonMembership(backend, { root: stateRoot, key: 'nope', proof: absent.proof })).toEqual({ ok: true });
    expect(readEntry(state, replyCacheKey('c1'))).toEqual({ ok: false, reason: 'key-reserved' });
  });

  it('cas applies only at the expected revision (0: must be absent)', () => {
    let state = genesisRegistryState(backend, GENESIS);
    const step1 = run(state, [request('c1', 1n, cas('a', 0n, 'v1')), request('c1', 2n, cas('a', 0n, 'v2'))]);
    expect(step1.replies.map(resultOf)).toMatchObject([{ ok: true, revisions: [1n] }, { ok: false, error: 'revision-mismatch' }]);
    state = step1.state;
    const step2 = run(state, [request('c1', 3n, cas('a', 2n, 'v3')), request('c1', 4n, cas('a', 1n, 'v4'))], 2n);
    expect(step2.replies.map(resultOf)).toMatchObject([{ ok: false, error: 'revision-mismatch' }, { ok: true, revisions: [2n] }]);
    expect(userValue(step2.state, 'a')).toEqual({ text: 'v4', revision: 2n });
  });

  it('delete removes a present key (revision 0 after) and is an error on an absent one', () => {
    const created = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a', 'x'))]).state;
    const deleted = run(created, [request('c1', 2n, del('a')), request('c1', 3n, del('a'))], 2n);
    expect(deleted.replies.map(resultOf)).toMatchObject([{ ok: true, revisions: [0n] }, { ok: false, error: 'absent' }]);
    expect(userValue(deleted.state, 'a')).toBeUndefined();
    // Revisions restart after a delete: a re-created key is at revision 1 again.
    const recreated = run(deleted.state, [request('c1', 4n, put('a', 'again'))], 3n);
    expect(resultOf(recreated.replies[0])).toEqual({ ok: true, revisions: [1n] });
  });

  it('a txn applies every op in order, each seeing the ones before it', () => {
    const seeded = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('gone', 'x'))]).state;
    const txn: RegistryOp = { op: 'txn', ops: [put('a', '1'), cas('a', 1n, '2'), del('gone'), cas('b', 0n, 'new')] };
    const result = run(seeded, [request('c1', 2n, txn)], 2n);
    expect(resultOf(result.replies[0])).toEqual({ ok: true, revisions: [1n, 2n, 0n, 1n] });
    expect(userEntries(result.state)).toEqual([
      ['a', bytesToHex(utf8('2')), 2n],
      ['b', bytesToHex(utf8('new')), 1n],
    ]);
  });

  it('a txn with one failing op changes no user key', () => {
    const seeded = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a', 'x'))]).state;
    const cases: [RegistryOp, string][] = [
      [{ op: 'txn', ops: [put('a', 'y'), put('b', 'y'), cas('a', 1n, 'z')] }, 'revision-mismatch'],
      [{ op: 'txn', ops: [put('b', 'y'), del('missing')] }, 'absent'],
    ];
    for (const [txn, error] of cases) {
      const result = run(seeded, [request('c1', 2n, txn)], 2n);
      expect(resultOf(result.replies[0])).toMatchObject({ ok: false, error });
      expect(userEntries(result.state)).toEqual(userEntries(seeded));
    }
  });

  it('bad payloads get error replies, leave user keys unchanged, and still enter the log and the reply cache', () => {
    const seeded = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a', 'x'))]);
    const tooLarge = encodeCanonical({ op: 'txn', ops: Array.from({ length: 65 }, () => ({ op: 'delete', key: 'a' })) });
    const batch = [
      request('c1', 2n, Uint8Array.of(0xff, 0xfe)),
      request('c1', 3n, encodeCanonical({ op: 'put', key: '\u0000reply/c2', value: new Uint8Array() })),
      request('c1', 4n, encodeCanonical({ op: 'delete', key: 'a', extra: true })),
      request('c1', 5n, new Uint8Array()),
      request('c1', 6n, tooLarge),
    ];
    const result = run(seeded.state, batch, 2n);
    expect(result.replies.map(resultOf)).toEqual([
      { ok: false, error: 'malformed-op', detail: 'not-canonical' },
      { ok: false, error: 'malformed-op', detail: 'key-reserved' },
      { ok: false, error: 'malformed-op', detail: 'bad-fields' },
      { ok: false, error: 'malformed-op', detail: 'not-canonical' },
      { ok: false, error: 'txn-too-large', detail: 'at most 64 ops in a transaction' },
    ]);
    expect(userEntries(result.state)).toEqual(userEntries(seeded.state));
    expect(result.logSize).toBe(seeded.logSize + 5n);
    expect(result.state.map.get(replyCacheKey('c2'))).toBeUndefined();
    expect(executor.replyFor(result.state, 'c1', 6n)).toEqual(result.replies[4]);
  });

  it('apply never mutates its input state, and two applies on one state agree', () => {
    const base = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a', 'x')), request('c2', 1n, put('b', 'y'))]).state;
    const before = { roots: registryRoots(base), entries: [...base.map.entries()], frontier: base.log.hashes() };
    const batch = [request('c1', 2n, put('a', 'changed')), request('c2', 2n, del('b')), request('c3', 1n, { op: 'txn', ops: [put('c', '1'), put('d', '2')] })];
    const first = run(base, batch, 2n);
    const second = run(base, batch, 2n);
    expect({ roots: registryRoots(base), entries: [...base.map.entries()], frontier: base.log.hashes() }).toEqual(before);
    expect(userValue(base, 'a')).toEqual({ text: 'x', revision: 1n });
    expect(registryRoots(first.state)).toEqual(registryRoots(second.state));
    expect(first.stateRoot).not.toEqual(before.roots.stateRoot);
  });

  it('a replayed or older request id is skipped: no reply, no change', () => {
    const first = run(genesisRegistryState(backend, GENESIS), [request('c1', 5n, put('a', 'x'))]);
    const replay = run(first.state, [request('c1', 5n, put('a', 'again')), request('c1', 4n, put('a', 'older'))], 2n);
    expect(replay.replies).toEqual([]);
    expect(registryRoots(replay.state)).toEqual(registryRoots(first.state));
    // Within one batch too: the second copy of an id is skipped.
    const twice = run(first.state, [request('c1', 6n, put('a', 'y')), request('c1', 6n, put('a', 'z'))], 2n);
    expect(twice.replies.length).toBe(1);
    expect(userValue(twice.state, 'a')).toEqual({ text: 'y', revision: 2n });
  });

  it('a request id beyond the window at the block time (2^63 - 1) is skipped with no change, and the client writes on', () => {
    const blockTimeMs = 1_700_000_000_000n;
    const start = run(genesisRegistryState(backend, GENESIS), [request('c1', blockTimeMs * 1000n, put('a', 'x'))]);
    const farFuture = run(start.state, [request('c1', (1n << 63n) - 1n, put('a', 'hijack')), request('c2', requestIdCeiling(blockTimeMs) + 1n, put('b', 'y'))], 2n);
    expect(farFuture.replies).toEqual([]);
    expect(registryRoots(farFuture.state)).toEqual(registryRoots(start.state));
    // The client's next ordinary id (the clock's, one millisecond later) still executes; the ceiling itself is inside.
    const next = run(farFuture.state, [request('c1', (blockTimeMs + 1n) * 1000n, put('a', 'y')), request('c2', requestIdCeiling(blockTimeMs), put('b', 'y'))], 3n);
    expect(next.replies.map((r) => resultOf(r))).toEqual([{ ok: true, revisions: [2n] }, { ok: true, revisions: [1n] }]);
  });

  it('replyFor returns the cached reply, "superseded" below it and "unknown" above it', () => {
    const { state, replies } = run(genesisRegistryState(backend, GENESIS), [request('c1', 5n, put('a', 'x'))]);
    expect(executor.replyFor(state, 'c1', 5n)).toEqual(replies[0]);
    expect(executor.replyFor(state, 'c1', 4n)).toBe('superseded');
    expect(executor.replyFor(state, 'c1', 6n)).toBe('unknown');
    expect(executor.replyFor(state, 'c2', 0n)).toBe('unknown');
  });

  it('the reply cache lives in the map, so the state root certifies it', () => {
    const { state, stateRoot, replies } = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a', 'x'))]);
    const entry = state.map.get(replyCacheKey('c1'));
    if (entry === undefined) throw new Error('no reply cache entry');
    expect(entry).toEqual({ value: encodeCanonical({ requestId: 1n, result: (replies[0] as ClientReply).result }), revision: 1n });
    const proof = state.map.prove(replyCacheKey('c1'));
    expect(verifyMembership(backend, { root: stateRoot, key: replyCacheKey('c1'), entry, proof })).toEqual({ ok: true });
  });

  it('each executed request appends the documented leaf; the log root matches an independent MerkleLog', () => {
    const batches = [
      [request('c1', 1n, put('a', 'x')), request('c2', 1n, Uint8Array.of(1))],
      [request('c1', 1n, put('a', 'replayed')), request('c1', 2n, del('zzz'))],
      [],
      [request('c3', 9n, { op: 'txn', ops: [put('p', 'q'), del('a')] })],
    ];
    const log = new MerkleLog(backend);
    let state = genesisRegistryState(backend, GENESIS);
    batches.forEach((batch, i) => {
      const seq = BigInt(i + 1);
      const result = run(state, batch, seq);
      for (const reply of result.replies) {
        const req = batch.find((r) => r.clientId === reply.clientId && r.requestId === reply.requestId) as ClientRequest;
        const expectedLeaf = encodeCanonical({
          height: seq,
          clientId: req.clientId,
          requestId: req.requestId,
          requestHash: backend.sha256(encodeCanonical({ clientId: req.clientId, requestId: req.requestId, payload: req.payload, signature: req.signature })),
          result: reply.result,
        });
        expect(leafForRequest(backend, { seq, request: req, result: reply.result })).toEqual(expectedLeaf);
        log.appendLeafHash(hashLeaf(backend, expectedLeaf));
      }
      expect(result.logSize).toBe(log.size);
      expect(result.logRoot).toEqual(log.root());
      state = result.state;
    });
    expect(log.size).toBe(4n);
  });

  it('the state root is the map root: it changes exactly when the map does', () => {
    const genesis = genesisRegistryState(backend, GENESIS);
    const empty = run(genesis, []);
    expect(empty.stateRoot).toEqual(genesis.map.root);
    expect(empty.state.map).toBe(genesis.map);
    const executed = run(genesis, [request('c1', 1n, put('a', 'x'))]);
    expect(executed.stateRoot).toEqual(executed.state.map.root);
    expect(executed.stateRoot).not.toEqual(genesis.map.root);
    const skipped = run(executed.state, [request('c1', 1n, put('a', 'y'))], 2n);
    expect(skipped.state.map).toBe(executed.state.map);
    expect(skipped.stateRoot).toEqual(executed.stateRoot);
    // A failed op still changes the map (its reply cache entry), hence the root.
    const failed = run(executed.state, [request('c1', 2n, del('absent'))], 2n);
    expect(userEntries(failed.state)).toEqual(userEntries(executed.state));
    expect(failed.stateRoot).not.toEqual(executed.stateRoot);
  });
});

// ---- Typed values (docs/values.md) ----

const PIN_A = 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE='; // base64 of 32 "a" bytes
const PIN_B = 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=';
const PIN_C = 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=';

const VALID_FLAG = {
  type: 'flag',
  variants: { on: true, off: false },
  defaultVariant: 'off',
  rules: [{ id: 'staff', when: [{ attribute: 'email', op: 'prefix', value: 'ops@' }], serve: { variant: 'on' } }],
  rollout: { by: 'userId', weights: [{ variant: 'on', weight: 1000 }, { variant: 'off', weight: 9000 }] },
};
const VALID_PINS = { type: 'pins', pins: [PIN_A], backupPins: [PIN_B], expiresAtMs: 1_800_000_000_000 };
const VALID_ENDPOINT = { type: 'endpoint', url: 'https://ledger.eu.example.internal:8443/v1', region: 'eu-west-1', weight: 100 };

const text = (value: unknown): string => JSON.stringify(value);
const without = (value: Record<string, unknown>, field: string): Record<string, unknown> => Object.fromEntries(Object.entries(value).filter(([k]) => k !== field));

/** One malformed value of each kind a writer is likely to get wrong. */
const MALFORMED_VALUES: [string, string][] = [
  ['a flag without defaultVariant', text(without(VALID_FLAG, 'defaultVariant'))],
  ['a flag whose default is not a variant', text({ ...VALID_FLAG, defaultVariant: 'maybe' })],
  ['a flag whose rule serves an unknown variant', text({ ...VALID_FLAG, rules: [{ ...VALID_FLAG.rules[0], serve: { variant: 'maybe' } }] })],
  ['a flag whose rule has an unknown condition op', text({ ...VALID_FLAG, rules: [{ ...VALID_FLAG.rules[0], when: [{ attribute: 'email', op: 'matches', value: '.*' }] }] })],
  ['a flag whose weights sum to 9999', text({ ...VALID_FLAG, rollout: { by: 'userId', weights: [{ variant: 'on', weight: 999 }, { variant: 'off', weight: 9000 }] } })],
  ['a flag with a fractional weight', text({ ...VALID_FLAG, rollout: { by: 'userId', weights: [{ variant: 'on', weight: 999.5 }, { variant: 'off', weight: 9000.5 }] } })],
  ['a flag with an unknown field', text({ ...VALID_FLAG, enabledFor: 'everyone' })],
  ['a flag with a duplicate member name', text(VALID_FLAG).replace('"defaultVariant":"off"', '"defaultVariant":"off","defaultVariant":"on"')],
  ['a pin set whose backup pin is a primary pin', text({ ...VALID_PINS, backupPins: [PIN_A] })],
  ['a pin set without backup pins', text({ ...VALID_PINS, backupPins: [] })],
  ['a pin set with a pin of 31 bytes', text({ ...VALID_PINS, pins: ['YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ=='] })],
  ['a pin set with a hex pin', text({ ...VALID_PINS, pins: ['61'.repeat(32)] })],
  ['a pin set whose expiry is an ISO string', text({ ...VALID_PINS, expiresAtMs: '2027-01-15T08:00:00Z' })],
  ['a pin set without an expiry', text(without(VALID_PINS, 'expiresAtMs'))],
  ['an endpoint over plain http', text({ ...VALID_ENDPOINT, url: 'http://ledger.eu.example.internal' })],
  ['an endpoint whose URL has a query', text({ ...VALID_ENDPOINT, url: 'https://ledger.example.internal/?a=1' })],
  ['an endpoint with a negative weight', text({ ...VALID_ENDPOINT, weight: -1 })],
  ['an endpoint with a fractional weight', text({ ...VALID_ENDPOINT, weight: 0.5 })],
  ['an endpoint with an uppercase region', text({ ...VALID_ENDPOINT, region: 'EU' })],
  ['an endpoint without a URL', text(without(VALID_ENDPOINT, 'url'))],
  ['a json value without value', '{"type":"json"}'],
  ['a json value nested 17 deep', `{"type":"json","value":${'['.repeat(16)}${']'.repeat(16)}}`],
];

const VALID_VALUES: [string, string][] = [
  ['a flag with a rule and a rollout', text(VALID_FLAG)],
  ['a pin set with a backup pin', text({ ...VALID_PINS, backupPins: [PIN_B, PIN_C], hostnames: ['api.example.com'], includeSubdomains: true })],
  ['an endpoint', text(VALID_ENDPOINT)],
  ['an http endpoint that says allowInsecure', text({ ...VALID_ENDPOINT, url: 'http://127.0.0.1:8080', allowInsecure: true })],
  ['a json value', '{"type":"json","value":{"retries":3,"hosts":["a","b"]}}'],
  ['JSON with no type (opaque)', '{"enabled":false}'],
  ['JSON with another type (opaque)', '{"type":"banner","text":"hello"}'],
  ['text that is not JSON (opaque)', '{"type":"flag", oops'],
];

describe('registry executor: typed values', () => {
  /** The map after a refused request: the previous map plus the client's reply cache entry, nothing else. */
  function expectOnlyReplyCacheChanged(before: RegistryState, after: ExecutionResult<RegistryState>, clientId: string, requestId: bigint): void {
    const previous = before.map.get(replyCacheKey(clientId));
    const reply = after.replies.find((r) => r.clientId === clientId && r.requestId === requestId) as ClientReply;
    const expected = before.map.with(replyCacheKey(clientId), { value: encodeCanonical({ requestId, result: reply.result }), revision: (previous?.revision ?? 0n) + 1n });
    expect(after.stateRoot).toEqual(expected.root);
    expect(userEntries(after.state)).toEqual(userEntries(before));
  }

  const seeded = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('demo/x', text(VALID_FLAG)))]).state;

  it.each(MALFORMED_VALUES)('put of %s is refused with invalid-value; only the reply cache entry changes', (_, value) => {
    const result = run(seeded, [request('c1', 2n, put('demo/x', value))], 2n);
    expect(resultOf(result.replies[0])).toMatchObject({ ok: false, error: 'invalid-value' });
    expectOnlyReplyCacheChanged(seeded, result, 'c1', 2n);
  });

  it.each(VALID_VALUES)('put of %s applies', (_, value) => {
    const result = run(seeded, [request('c1', 2n, put('demo/x', value))], 2n);
    expect(resultOf(result.replies[0])).toEqual({ ok: true, revisions: [2n] });
    expect(userValue(result.state, 'demo/x')).toEqual({ text: value, revision: 2n });
  });

  it('cas with a malformed value is refused with invalid-value even at the right revision; with a valid one it applies', () => {
    const bad = run(seeded, [request('c1', 2n, cas('demo/x', 1n, text({ ...VALID_FLAG, defaultVariant: 'maybe' })))], 2n);
    expect(resultOf(bad.replies[0])).toMatchObject({ ok: false, error: 'invalid-value' });
    expectOnlyReplyCacheChanged(seeded, bad, 'c1', 2n);
    // The value is checked before the revision: a stale cas with a bad value also says invalid-value.
    const staleAndBad = run(seeded, [request('c1', 2n, cas('demo/x', 7n, '{"type":"json"}'))], 2n);
    expect(resultOf(staleAndBad.replies[0])).toMatchObject({ ok: false, error: 'invalid-value' });
    const good = run(seeded, [request('c1', 2n, cas('demo/x', 1n, text({ ...VALID_FLAG, enabled: false })))], 2n);
    expect(resultOf(good.replies[0])).toEqual({ ok: true, revisions: [2n] });
  });

  it('a transaction with one malformed value among valid ones applies nothing', () => {
    const txn: RegistryOp = {
      op: 'txn',
      ops: [put('demo/pins', text(VALID_PINS)), put('demo/endpoint', text(VALID_ENDPOINT)), put('demo/x', text({ ...VALID_PINS, backupPins: [PIN_A] })), put('demo/y', 'opaque')],
    };
    const result = run(seeded, [request('c1', 2n, txn)], 2n);
    expect(resultOf(result.replies[0])).toMatchObject({ ok: false, error: 'invalid-value' });
    expectOnlyReplyCacheChanged(seeded, result, 'c1', 2n);
    const fixed: RegistryOp = { op: 'txn', ops: [...txn.ops.slice(0, 2), put('demo/x', text(VALID_PINS)), put('demo/y', 'opaque')] };
    const applied = run(seeded, [request('c1', 3n, fixed)], 2n);
    expect(resultOf(applied.replies[0])).toEqual({ ok: true, revisions: [1n, 1n, 2n, 1n] });
  });

  it('every replica decides alike: the refusal and the roots match across crypto backends', () => {
    const batch = [request('c1', 2n, put('demo/x', text({ ...VALID_ENDPOINT, url: 'http://x.example' }))), request('c2', 1n, put('demo/y', text(VALID_ENDPOINT)))];
    const a = run(seeded, batch, 2n, registryExecutor(nobleBackend));
    const b = run(seeded, batch, 2n, registryExecutor(nodeBackend));
    expect(a.replies.map(resultOf)).toMatchObject([{ ok: false, error: 'invalid-value' }, { ok: true, revisions: [1n] }]);
    expect(registryRoots(b.state)).toEqual(registryRoots(a.state));
  });
});

// ---- Determinism and agreement with a reference model ----

const KEYS = ['a', 'b', 'c', 'flags/x'];
const CLIENTS = ['c1', 'c2', 'c3'];

/** Values labelled by hand (not by parseTypedValue), so the model is an independent check of the enforcement. */
const TYPED_SAMPLES: { bytes: Uint8Array; refused: boolean }[] = [
  ...VALID_VALUES.map(([, value]) => ({ bytes: utf8(value), refused: false })),
  ...MALFORMED_VALUES.map(([, value]) => ({ bytes: utf8(value), refused: true })),
];
const REFUSED_HEX = new Set(TYPED_SAMPLES.filter((x) => x.refused).map((x) => bytesToHex(x.bytes)));

const valueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(...TYPED_SAMPLES).map((x) => x.bytes) },
);

const singleOpArb: fc.Arbitrary<SingleOp> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key: fc.constantFrom(...KEYS), value: valueArb }),
  fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ op: fc.constant('cas' as const), key: fc.constantFrom(...KEYS), expectedRevision: fc.bigInt({ min: 0n, max: 3n }), value: valueArb }),
);

const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: singleOpArb.map((op) => encodeOp(op)) },
  { weight: 3, arbitrary: fc.array(singleOpArb, { minLength: 1, maxLength: 4 }).map((ops) => encodeOp({ op: 'txn', ops })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
);

/** Per client, the id moves by `idStep` from its last value: mostly forward, sometimes a replay or an older id. */
const requestSpecArb = fc.record({ clientId: fc.constantFrom(...CLIENTS), idStep: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(-1, 0, 2) }), payload: payloadArb });

const batchesArb = fc.array(fc.array(requestSpecArb, { maxLength: 6 }), { minLength: 1, maxLength: 6 });

function toRequests(specs: readonly { clientId: string; idStep: number; payload: Uint8Array }[][]): ClientRequest[][] {
  const lastId = new Map<string, bigint>();
  return specs.map((batch) =>
    batch.map(({ clientId, idStep, payload }) => {
      const next = (lastId.get(clientId) ?? 0n) + BigInt(idStep);
      const requestId = next < 0n ? 0n : next;
      if (requestId > (lastId.get(clientId) ?? 0n)) lastId.set(clientId, requestId);
      return { clientId, requestId, payload, signature: new Uint8Array(64).fill(9) };
    }),
  );
}

/** A second, naive implementation of the semantics over plain maps. */
class ReferenceModel {
  readonly entries = new Map<string, { value: Uint8Array; revision: bigint }>();
  readonly lastRequestId = new Map<string, bigint>();

  apply(r: ClientRequest): RegistryResult | undefined {
    const last = this.lastRequestId.get(r.clientId);
    if (last !== undefined && r.requestId <= last) return undefined;
    this.lastRequestId.set(r.clientId, r.requestId);
    const decoded = decodeOp(r.payload);
    if (!decoded.ok) return { ok: false, error: decoded.reason === 'txn-too-large' ? 'txn-too-large' : 'malformed-op' };
    const ops = singleOps(decoded.op);
    const scratch = new Map(this.entries);
    const revisions: bigint[] = [];
    for (const op of ops) {
      const current = scratch.get(op.key)?.revision ?? 0n;
      if (op.op === 'delete') {
        if (current === 0n) return { ok: false, error: 'absent' };
        scratch.delete(op.key);
        revisions.push(0n);
        continue;
      }
      if (REFUSED_HEX.has(bytesToHex(op.value))) return { ok: false, error: 'invalid-value' };
      if (op.op === 'cas' && op.expectedRevision !== current) return { ok: false, error: 'revision-mismatch' };
      scratch.set(op.key, { value: op.value, revision: current + 1n });
      revisions.push(current + 1n);
    }
    this.entries.clear();
    for (const [key, entry] of scratch) this.entries.set(key, entry);
    return { ok: true, revisions };
  }

  sorted(): [string, string, bigint][] {
    return [...this.entries].map(([key, e]): [string, string, bigint] => [key, bytesToHex(e.value), e.revision]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
}

describe('registry determinism', () => {
  it('three independent executors (two crypto backends) reach identical roots at every step of 200 random runs, matching a reference model', () => {
    const backends: CryptoBackend[] = [nobleBackend, nobleBackend, nodeBackend];
    const seen = { executed: 0, skipped: 0, succeeded: 0, failed: 0, invalidValue: 0 };
    fc.assert(
      fc.property(batchesArb, (specs) => {
        const batches = toRequests(specs);
        const executors = backends.map((b) => registryExecutor(b));
        let states = backends.map((b) => genesisRegistryState(b, GENESIS));
        const model = new ReferenceModel();
        const log = new MerkleLog(backend);
        batches.forEach((batch, i) => {
          const seq = BigInt(i + 1);
          const results = executors.map((ex, j) => run(states[j] as RegistryState, batch, seq, ex));
          const [first, ...others] = results as [ExecutionResult<RegistryState>, ...ExecutionResult<RegistryState>[]];
          for (const other of others) {
            expect(other.stateRoot).toEqual(first.stateRoot);
            expect(other.logRoot).toEqual(first.logRoot);
            expect(other.logSize).toBe(first.logSize);
            expect(other.replies).toEqual(first.replies);
          }
          const expected = batch.map((r) => ({ r, result: model.apply(r) })).filter((x) => x.result !== undefined);
          // The model decides codes; refusal details are checked in 'refusals name the rule and the field'.
          expect(first.replies.map(resultOf).map((x) => (x.ok ? x : { ok: false, error: x.error }))).toEqual(expected.map((x) => x.result));
          seen.executed += expected.length;
          seen.skipped += batch.length - expected.length;
          for (const x of expected) seen[x.result?.ok === true ? 'succeeded' : 'failed'] += 1;
          seen.invalidValue += expected.filter((x) => x.result?.ok === false && x.result.error === 'invalid-value').length;
          expect(userEntries(first.state)).toEqual(model.sorted());
          first.replies.forEach((reply, k) => {
            const r = (expected[k] as { r: ClientRequest }).r;
            log.appendLeafHash(hashLeaf(backend, leafForRequest(backend, { seq, request: r, result: reply.result })));
          });
          expect(first.logRoot).toEqual(log.root());
          states = results.map((x) => x.state);
        });
      }),
      { numRuns: 200, seed: 20240601 },
    );
    // The generator must exercise every path, not just one.
    expect(seen.skipped).toBeGreaterThan(50);
    expect(seen.succeeded).toBeGreaterThan(400);
    expect(seen.failed).toBeGreaterThan(200);
    expect(seen.invalidValue).toBeGreaterThan(30);
  });
});

describe('the prefix index (docs/merkle-map.md section 8)', () => {
  const indexed = registryExecutor(backend, { rootWrite: 'open', admins: [], prefixIndexDepth: 2 });
  const counts = (state: RegistryState, prefix: string) => {
    const entry = state.map.get(prefixIndexKey(prefix));
    return entry === undefined ? undefined : { ...decodePrefixCounts(entry.value), revision: entry.revision };
  };

  it('counts live keys and changes under each prefix up to the policy depth, one leaf update per prefix per batch', () => {
    let state = genesisRegistryState(backend, GENESIS);
    state = run(state, [request('c1', 1n, put('a/b/c', '1')), request('c2', 1n, put('a/x', '2')), request('c3', 1n, put('top', '3'))], 1n, indexed).state;
    expect(counts(state, 'a/')).toEqual({ keys: 2n, changes: 2n, revision: 1n });
    expect(counts(state, 'a/b/')).toEqual({ keys: 1n, changes: 1n, revision: 1n });
    state = run(state, [request('c1', 2n, { op: 'txn', ops: [put('a/b/d', '4'), put('a/b/c', '5'), del('a/b/c')] })], 2n, indexed).state;
    // The transaction changed two keys (a/b/c's last op is its delete): two changes, net keys unchanged.
    expect(counts(state, 'a/')).toEqual({ keys: 2n, changes: 4n, revision: 2n });
    expect(counts(state, 'a/b/')).toEqual({ keys: 1n, changes: 3n, revision: 2n });
    // A refused write changes nothing.
    state = run(state, [request('c1', 3n, del('a/nothing'))], 3n, indexed).state;
    expect(counts(state, 'a/')).toEqual({ keys: 2n, changes: 4n, revision: 2n });
    // Depth 2: a/b/e/ is not indexed; keys without '/' add to no prefix.
    state = run(state, [request('c1', 4n, put('a/b/e/f', '6'))], 4n, indexed).state;
    expect(counts(state, 'a/b/e/')).toBeUndefined();
    expect(counts(state, 'a/b/')).toEqual({ keys: 2n, changes: 4n, revision: 3n });
  });

  it('keeps no index when the policy asks for none (a genesis without the field keeps its roots)', () => {
    const state = run(genesisRegistryState(backend, GENESIS), [request('c1', 1n, put('a/b', '1'))]).state;
    expect([...state.map.entries()].filter(([k]) => k.startsWith('\u0000dir/'))).toEqual([]);
  });

  it('the counts equal the keys under each prefix after any sequence of batches', () => {
    const keyArb = fc.constantFrom('p/a', 'p/b', 'p/q/c', 'p/q/d', 'r/e', 'f');
    const opArb = fc.oneof(keyArb.map((k) => put(k, 'v')), keyArb.map((k) => del(k)));
    fc.assert(
      fc.property(fc.array(fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), { maxLength: 6 }), (batches) => {
        let state = genesisRegistryState(backend, GENESIS);
        const changes = new Map<string, bigint>();
        let id = 0n;
        batches.forEach((batch, b) => {
          const result = run(state, batch.map((ops) => request(`c${++id}`, 1n, { op: 'txn', ops })), BigInt(b + 1), indexed);
          result.replies.forEach((reply, i) => {
            if (!resultOf(reply).ok) return;
            for (const key of new Set((batch[i] ?? []).map((o) => o.key))) for (const p of indexedPrefixesOf(key, 2)) changes.set(p, (changes.get(p) ?? 0n) + 1n);
          });
          state = result.state;
        });
        for (const prefix of ['p/', 'p/q/', 'r/']) {
          const live = BigInt(userEntries(state).filter(([k]) => k.startsWith(prefix)).length);
          const c = counts(state, prefix);
          expect(c === undefined ? { keys: 0n, changes: 0n } : { keys: c.keys, changes: c.changes }).toEqual({ keys: live, changes: changes.get(prefix) ?? 0n });
        }
      }),
      { numRuns: 200 },
    );
  });
});
