// Verified reads against fake replicas built from real proof objects: honest
// answers verify; every tampering is refused and the client fails over; the
// trust state catches rollbacks and forks; freshness is enforced.

import { describe, expect, it } from 'vitest';
import { certificateToJson, type CryptoBackend, nobleBackend } from '@vcr/proofs';
import { testCertificate, testCluster, testHeader, testSigner } from '@vcr/proofs/testing';
import { RegistryClient } from './client';
import { ForkError, ReplicasFailedError } from './errors';
import { type FetchLike } from './http';
import { MemoryStorage } from './storage';
import { FakeRegistry, fakeFetch, type Handler, honest, json, T0, withEpochWitnesses } from './test-support/fake-registry';

type Body = Record<string, unknown>;

async function client(reg: FakeRegistry, replicas: Record<string, Handler>, extra: Partial<Parameters<typeof RegistryClient.create>[0]> = {}) {
  return RegistryClient.create({ membership: reg.cluster.membership, ...withEpochWitnesses(reg, replicas), now: () => reg.clockMs, sleep: async () => undefined, signer: testSigner('client'), ...extra });
}

async function refusal(promise: Promise<unknown>): Promise<ReplicasFailedError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ReplicasFailedError);
  return error as ReplicasFailedError;
}

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));

describe('verified reads', () => {
  it('returns a value only with a verified map proof, and absence only with a verified proof of absence', async () => {
    const reg = new FakeRegistry();
    reg.set('flags/a', 'on');
    const c = await client(reg, { 'http://r1': honest(reg) });
    const read = await c.get('flags/a');
    expect(text(read.entry?.value)).toBe('on');
    expect([read.entry?.revision, read.height, read.stale, read.replica]).toEqual([1n, 1n, false, 'http://r1']);
    const absent = await c.get('flags/none');
    expect(absent.entry).toBeUndefined();
  });

  const lies: [string, (b: Body) => Body][] = [
    ['a changed value', (b) => ({ ...b, entry: { ...(b.entry as Body), value: '6f6666' } })],
    ['a changed revision', (b) => ({ ...b, entry: { ...(b.entry as Body), revision: '7' } })],
    ['an absent claim for a present key', (b) => ({ ...b, entry: null })],
    ['a tampered proof', (b) => ({ ...b, proof: { ...(b.proof as Body), terminal: { kind: 'empty' } } })],
    ['an answer for another key', (b) => ({ ...b, key: 'flags/b' })],
    ['a certificate with too few signatures', (b) => { const c = b.certificate as Body; return { ...b, certificate: { ...c, signatures: (c.signatures as unknown[]).slice(0, 2) } }; }],
    ['a certificate with one signature repeated', (b) => { const c = b.certificate as Body; const s = c.signatures as unknown[]; return { ...b, certificate: { ...c, signatures: [s[0], s[0], s[0]] } }; }],
    ['a forged signature', (b) => { const c = b.certificate as Body; const s = c.signatures as Body[]; return { ...b, certificate: { ...c, signatures: [{ ...s[0], signature: 'ab'.repeat(64) }, ...s.slice(1)] } }; }],
    ['a changed state root', (b) => { const c = b.certificate as Body; return { ...b, certificate: { ...c, header: { ...(c.header as Body), stateRoot: '00'.repeat(32) } } }; }],
    ['truncated JSON fields', (b) => ({ key: b.key })],
  ];
  for (const [what, lie] of lies) {
    it(`refuses ${what} and fails over to an honest replica`, async () => {
      const reg = new FakeRegistry();
      reg.set('flags/a', 'on');
      reg.set('flags/b', 'off');
      const c = await client(reg, { 'http://liar': honest(reg, (_p, b) => lie(b as Body)), 'http://r2': honest(reg) });
      const read = await c.get('flags/a');
      expect([text(read.entry?.value), read.replica]).toEqual(['on', 'http://r2']);
      const alone = await client(reg, { 'http://liar': honest(reg, (_p, b) => lie(b as Body)) });
      const error = await refusal(alone.get('flags/a'));
      expect(error.attempts[0]?.replica).toBe('http://liar');
    });
  }

  it('starts each read at the replica that answered well last, and moves on when it fails', async () => {
    const reg = new FakeRegistry();
    reg.set('flags/a', 'on');
    const down = { r1: true, r2: false };
    const calls: string[] = [];
    const unless = (isDown: () => boolean): Handler => async (path, init) => (isDown() ? json({ error: { code: 'internal', message: 'down' } }, 500) : honest(reg)(path, init));
    const replicas: Record<string, Handler> = { 'http://r1': unless(() => down.r1), 'http://r2': unless(() => down.r2) };
    const c = await client(reg, replicas, { fetch: fakeFetch({ ...replicas, 'http://epochs-1': honest(reg), 'http://epochs-2': honest(reg) }, calls) });
    const keyReads = () => calls.filter((u) => u.includes('/v1/keys/')).map((u) => new URL(u).origin);
    expect((await c.get('flags/a')).replica).toBe('http://r2');
    expect(keyReads()).toEqual(['http://r1', 'http://r2']);
    expect((await c.get('flags/a')).replica).toBe('http://r2');
    expect(keyReads().slice(2)).toEqual(['http://r2']);
    [down.r1, down.r2] = [false, true];
    expect((await c.get('flags/a')).replica).toBe('http://r1');
    expect((await c.get('flags/a')).replica).toBe('http://r1');
    expect(keyReads().slice(3)).toEqual(['http://r2', 'http://r1', 'http://r1']);
  });

  it('refuses a certificate of another chain', async () => {
    const reg = new FakeRegistry();
    const other = new FakeRegistry(testCluster({ chainId: 'other-chain' }));
    other.set('k', 'v');
    const c = await client(reg, { 'http://r1': honest(other) });
    const error = await refusal(c.get('k'));
    expect(error.attempts[0]?.detail).toMatch(/wrong-chain/);
  });

  it('refuses a header of a later epoch when no replica can prove the epoch chain to it', async () => {
    const reg = new FakeRegistry();
    const next = new FakeRegistry(testCluster({ epoch: 1n }));
    next.set('k', 'v');
    const c = await client(reg, { 'http://r1': honest(next) });
    const error = await refusal(c.get('k'));
    expect(error.code).toBe('unknown-epoch');
    expect(error.message).toMatch(/newest trusted epoch is 0 and no replica proved the epoch chain to it/);
    expect(error.message).toMatch(/no epoch link after epoch 0/);
  });

  it('refuses a rollback below the trusted height, and a fork with both certificates as evidence', async () => {
    const reg = new FakeRegistry();
    reg.set('k', 'v1');
    const oldAnswer = reg.readAnswer('k');
    reg.set('k', 'v2');
    const forked = testCertificate(reg.cluster, testHeader({ height: 2n, timestampMs: BigInt(T0), stateRoot: reg.map.root }));
    let serve: 'honest' | 'old' | 'fork' = 'honest';
    const handler: Handler = (path, init) => {
      if (serve === 'old') return json(oldAnswer);
      if (serve === 'fork') return json({ ...(reg.readAnswer('k') as Body), certificate: certificateToJson(forked) });
      return honest(reg)(path, init);
    };
    const c = await client(reg, { 'http://r1': handler });
    expect(text((await c.get('k')).entry?.value)).toBe('v2');
    serve = 'old';
    const rollback = await refusal(c.get('k'));
    expect(rollback.code).toBe('rollback');
    serve = 'fork';
    const fork = await c.get('k').then(() => undefined, (e: unknown) => e);
    expect(fork).toBeInstanceOf(ForkError);
    expect((fork as ForkError).first.header.height).toBe(2n);
    expect((fork as ForkError).second).toEqual(forked);
    expect((fork as ForkError).first).toEqual(reg.latest);
  });

  it('waits a few short rounds for a replica just behind the trusted height, then reads from it', async () => {
    const reg = new FakeRegistry();
    reg.set('k', 'v1');
    const oldAnswer = reg.readAnswer('k');
    reg.set('k', 'v2');
    let behindFor = 0;
    const handler: Handler = (path, init) => (behindFor-- > 0 ? json(oldAnswer) : honest(reg)(path, init));
    const c = await client(reg, { 'http://r1': handler });
    expect(text((await c.get('k')).entry?.value)).toBe('v2');
    // Two answers from below the trusted height, then it has caught up: the read succeeds, never with the old value.
    behindFor = 2;
    expect(text((await c.get('k')).entry?.value)).toBe('v2');
    // Still behind after every round: the rollback is reported.
    behindFor = 1_000;
    expect((await refusal(c.get('k'))).code).toBe('rollback');
  });

  it('refuses a stale answer by default, and returns it flagged with allowStale', async () => {
    const reg = new FakeRegistry();
    reg.set('k', 'v');
    reg.clockMs = T0 + 60_000;
    const c = await client(reg, { 'http://r1': honest(reg) });
    const error = await refusal(c.get('k'));
    expect(error.code).toBe('stale');
    const flagged = await c.get('k', { allowStale: true });
    expect([flagged.stale, flagged.ageMs, text(flagged.entry?.value)]).toEqual([true, 60_000, 'v']);
    expect((await c.get('k', { maxStalenessMs: 120_000 })).stale).toBe(false);
  });

  it('lists every replica and why when all fail: transport error, timeout, garbage, too large', async () => {
    const reg = new FakeRegistry();
    reg.set('k', 'v');
    const never: Handler = (_p, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const replicas: Record<string, Handler> = {
      'http://slow': never,
      'http://garbage': () => new Response('{"key": tru', { status: 200 }),
      'http://huge': () => new Response('x'.repeat(2_000), { status: 200 }),
    };
    const fetchFn: FetchLike = fakeFetch(replicas);
    const c = await RegistryClient.create({ membership: reg.cluster.membership, replicas: ['http://down', ...Object.keys(replicas)], fetch: fetchFn, readTimeoutMs: 50, responseBytesMax: 1_000, now: () => reg.clockMs });
    const error = await refusal(c.get('k'));
    expect(error.code).toBe('all-replicas-failed');
    expect(error.attempts.map((a) => [a.replica, a.code])).toEqual([['http://down', 'transport'], ['http://slow', 'timeout'], ['http://garbage', 'malformed'], ['http://huge', 'too-large']]);
    for (const url of ['http://down', 'http://slow', 'http://garbage', 'http://huge']) expect(error.message).toContain(url);
  });

  it('verifies a certificate once per header: repeated reads at one height cost only the map proof', async () => {
    const reg = new FakeRegistry();
    reg.set('a', '1');
    reg.set('b', '2');
    let verifies = 0;
    const counting: CryptoBackend = { ...nobleBackend, name: 'counting', ed25519VerifyPrechecked: (...args) => (verifies++, nobleBackend.ed25519VerifyPrechecked(...args)) };
    const c = await client(reg, { 'http://r1': honest(reg) }, { backend: counting });
    await c.get('a');
    const afterFirst = verifies;
    expect(afterFirst).toBe(4);
    for (let i = 0; i < 5; i++) await c.get(i % 2 ? 'a' : 'b');
    expect(verifies).toBe(afterFirst);
    expect(c.certificateChecks).toBe(1);
  });

  it('requires the log of a higher head to extend the trusted one (a rewritten history is caught)', async () => {
    const reg = new FakeRegistry();
    const signer = testSigner('writer');
    const c = await client(reg, { 'http://r1': honest(reg) }, { signer });
    reg.set('seed', 'x');
    await c.put('k', 'v1');
    // Another history with the same keys signed by the same quorum, longer: its log does not extend ours.
    const rewritten = new FakeRegistry(reg.cluster);
    rewritten.set('seed', 'x');
    const other = await client(rewritten, { 'http://r1': honest(rewritten) }, { signer: testSigner('someone-else') });
    await other.put('k', 'v2');
    await other.put('k', 'v3');
    const liar = await client(reg, { 'http://liar': honest(rewritten) }, { signer, storage: new MemoryStorage(await savedState(c)) });
    const error = await refusal(liar.get('k'));
    expect(error.attempts[0]?.detail).toMatch(/does not extend|rewritten/);
  });

  it('takes the consistency proof carried in the answer (?proveFrom=): no GET /v1/log/consistency after the first head', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    const calls: string[] = [];
    const replicas = { 'http://r1': honest(reg) };
    const c = await RegistryClient.create({ membership: reg.cluster.membership, ...withEpochWitnesses(reg, replicas, calls), now: () => reg.clockMs, sleep: async () => undefined, signer: testSigner('client') });
    await c.get('seed');
    for (let i = 0; i < 3; i++) {
      await c.put('k', `v${i}`);
      reg.set('other', `o${i}`);
      expect(text((await c.get('other')).entry?.value)).toBe(`o${i}`);
    }
    // Every write and read after the first write (which made the log non-empty) asks for the proof.
    expect(calls.filter((u) => u.includes('proveFrom=')).length).toBe(5);
    expect(calls.filter((u) => u.includes('/v1/log/consistency'))).toEqual([]);
  });

  it('refuses an answer whose carried consistency proof does not verify, and fails over', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    const bent = (_path: string, body: unknown) => {
      const b = body as Body & { consistency?: { proof: string[] } };
      if (b.consistency === undefined) return body;
      const proof = [...b.consistency.proof];
      proof[0] = (proof[0] as string).replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
      return { ...b, consistency: { ...b.consistency, proof } };
    };
    const c = await client(reg, { 'http://liar': honest(reg, bent), 'http://r2': honest(reg) });
    await c.put('k', 'v0');
    const receipt = await c.put('k', 'v1');
    expect(receipt.replica).toBe('http://r2');
    // The same trusted head, another writer (its own request ids), and only the liar to ask.
    const only = await client(reg, { 'http://liar': honest(reg, bent) }, { storage: new MemoryStorage(await savedState(c)), signer: testSigner('second-writer') });
    const error = await refusal(only.put('k', 'v2'));
    expect(error.attempts[0]?.detail).toMatch(/does not extend the trusted head .*carried in the answer/);
  });

  it('persists the trusted head: a restarted client still refuses a rollback', async () => {
    const reg = new FakeRegistry();
    reg.set('k', 'v1');
    const oldAnswer = reg.readAnswer('k');
    reg.set('k', 'v2');
    const storage = new MemoryStorage();
    const first = await client(reg, { 'http://r1': honest(reg) }, { storage });
    await first.get('k');
    const restarted = await client(reg, { 'http://r1': () => json(oldAnswer) }, { storage });
    expect(restarted.trustedHead?.height).toBe(2n);
    expect((await refusal(restarted.get('k'))).code).toBe('rollback');
  });
});

async function savedState(c: RegistryClient): Promise<string> {
  const storage = new MemoryStorage();
  // The trust state of `c` as text, through the public persistence path.
  const head = c.trustedHead;
  if (head === undefined) throw new Error('no head');
  await storage.save(JSON.stringify({ format: 'vcr-client-trust/1', chainId: head.certificate.header.chainId, head: certificateToJson(head.certificate), lastRequestId: '0' }));
  return (await storage.load()) as string;
}
