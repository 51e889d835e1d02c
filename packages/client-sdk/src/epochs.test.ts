// The epoch chain walk against fake replicas whose memberships change the
// way the replicas change them (fake-registry `rotate`: the last block of an
// epoch certified by the old quorum and naming the next membership's hash,
// epoch-accept signatures of the new one), all with real Ed25519 keys.
// Headers of later epochs verify after the walk; the chain is persisted and
// re-verified; every broken link is refused with its index and rule, a lying
// replica cannot stop an honest one; writes re-sign in the new epoch once.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateToJson, type ClientRequest, nobleBackend, parseClientRequestJson, verifyClientRequest, verifyOrderedClientRequest } from '@vcr/proofs';
import { testCertificate, testCluster, testHeader, testSigner, type TestCluster } from '@vcr/proofs/testing';
import { RegistryClient, type RegistryClientOptions } from './client';
import { RegistryError, ReplicasFailedError } from './errors';
import { FileStorage } from './node';
import { MemoryStorage } from './storage';
import { FakeRegistry, fakeFetch, type Handler, honest, json, T0, withEpochWitnesses } from './test-support/fake-registry';

type Body = Record<string, unknown>;

const e1 = () => testCluster({ epoch: 1n, keyPrefix: 'rotated-1' });
const e2 = () => testCluster({ epoch: 2n, n: 7, keyPrefix: 'grown-2' });

/** A registry at epoch 0 with one key, then rotated to `to` epochs (1: rotated keys, 2: grown to 7 replicas), a key written in each. */
function chain(to: 0 | 1 | 2): FakeRegistry {
  const reg = new FakeRegistry();
  reg.set('k', 'v0');
  if (to >= 1) {
    reg.rotate(e1());
    reg.set('k', 'v1');
  }
  if (to >= 2) {
    reg.rotate(e2());
    reg.set('k', 'v2');
  }
  return reg;
}

async function client(reg: FakeRegistry, replicas: Record<string, Handler>, extra: Partial<RegistryClientOptions> & { calls?: string[] } = {}) {
  const { calls, ...rest } = extra;
  return RegistryClient.create({
    membership: reg.genesis.membership,
    ...withEpochWitnesses(reg, replicas, calls),
    now: () => reg.clockMs,
    sleep: async () => undefined,
    signer: testSigner('client'),
    ...rest,
  });
}

async function refusal(promise: Promise<unknown>): Promise<ReplicasFailedError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ReplicasFailedError);
  return error as ReplicasFailedError;
}

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));
const epochCalls = (calls: string[]) => calls.filter((c) => c.includes('/v1/epochs')).map((c) => c.slice(c.indexOf('/v1/')));
const epochCallsBy = (calls: string[]) => calls.filter((c) => c.includes('/v1/epochs'));

/** An honest replica whose answers to /v1/epochs go through `lie`. */
const lyingAboutEpochs = (reg: FakeRegistry, lie: (body: Body) => unknown): Handler => honest(reg, (path, body) => (path.startsWith('/v1/epochs') ? lie(body as Body) : body));
const firstLink = (body: Body) => (body.links as Body[])[0] as Body;
const withFirstLink = (body: Body, change: (link: Body) => Body) => ({ ...body, links: [change(firstLink(body)), ...(body.links as Body[]).slice(1)] });

describe('epoch chain walk', () => {
  it('verifies a certificate of epoch 1, then of epoch 2, after walking the chain from the pinned genesis', async () => {
    const reg = chain(0);
    const calls: string[] = [];
    const c = await client(reg, { 'http://r1': honest(reg) }, { calls });
    expect((await c.get('k')).epoch).toBe(0n);
    reg.rotate(e1());
    reg.set('k', 'v1');
    const one = await c.get('k');
    expect([text(one.entry?.value), one.epoch, c.trustedEpoch]).toEqual(['v1', 1n, 1n]);
    reg.rotate(e2());
    reg.set('k', 'v2');
    const two = await c.get('k');
    expect([text(two.entry?.value), two.epoch, c.trustedEpoch]).toEqual(['v2', 2n, 2n]);
    expect(c.trustedMemberships.map((m) => [m.epoch, m.replicas.length])).toEqual([[0n, 4], [1n, 4], [2n, 7]]);
    // The walk asks for just the links it needs; before each new epoch's first certificate is trusted,
    // f+1 replicas (r1 and a witness; three once epoch 2 has 7 replicas) are asked whether a newer one exists.
    const confirm = (after: number, f: number) => ['http://r1', 'http://epochs-1', 'http://epochs-2'].slice(0, f + 1).map((r) => `${r}/v1/epochs?after=${after}&limit=64`);
    expect(epochCallsBy(calls)).toEqual([...confirm(0, 1), 'http://r1/v1/epochs?after=0&limit=1', ...confirm(1, 1), 'http://r1/v1/epochs?after=1&limit=1', ...confirm(2, 2)]);
    // A fresh client pinned at the genesis walks both links in one page.
    const fresh: string[] = [];
    const d = await client(reg, { 'http://r1': honest(reg) }, { calls: fresh });
    expect((await d.get('k')).epoch).toBe(2n);
    expect(epochCallsBy(fresh)).toEqual(['http://r1/v1/epochs?after=0&limit=2', ...confirm(2, 2)]);
  });

  it('persists the verified chain: a restarted client trusts epoch 2 at once and walks no link again', async () => {
    const reg = chain(2);
    const dir = mkdtempSync(join(tmpdir(), 'vcr-epochs-'));
    try {
      const storage = new FileStorage(join(dir, 'trust.json'));
      await (await client(reg, { 'http://r1': honest(reg) }, { storage })).get('k');
      const calls: string[] = [];
      const restarted = await client(reg, { 'http://r1': honest(reg) }, { storage, calls });
      expect(restarted.trustedEpoch).toBe(2n);
      expect(text((await restarted.get('k')).entry?.value)).toBe('v2');
      // It only asks f+1 replicas (3 of epoch 2's 7) whether a newer epoch exists: none, so nothing is walked.
      expect(epochCallsBy(calls)).toEqual(['http://r1/v1/epochs?after=2&limit=64', 'http://epochs-1/v1/epochs?after=2&limit=64', 'http://epochs-2/v1/epochs?after=2&limit=64']);
      const saved = JSON.parse((await storage.load()) as string) as Body;
      expect([saved.format, (saved.epochLinks as unknown[]).length]).toEqual(['vcr-client-trust/2', 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never trusts a saved chain for being on disk: a tampered link refuses the file; a later pin keeps the rest', async () => {
    const reg = chain(2);
    const storage = new MemoryStorage();
    await (await client(reg, { 'http://r1': honest(reg) }, { storage })).get('k');
    const saved = JSON.parse((await storage.load()) as string) as Body;
    const links = saved.epochLinks as Body[];
    const tampered = { ...saved, epochLinks: [links[0], { ...links[1], newSignatures: (links[1]?.newSignatures as unknown[]).slice(0, 4) }] };
    const error = await client(reg, { 'http://r1': honest(reg) }, { storage: new MemoryStorage(JSON.stringify(tampered)) }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect([(error as RegistryError).code, (error as RegistryError).message]).toEqual(['storage', expect.stringMatching(/epoch link 1 does not verify.*new-quorum-below-quorum/)]);
    // Pinned at epoch 1 (say, from a newer genesis file): the stored 0 -> 1 link is skipped, 1 -> 2 verified from the pin.
    const pinnedLater = await client(reg, { 'http://r1': honest(reg) }, { membership: e1().membership, storage: new MemoryStorage(JSON.stringify(saved)) });
    expect(pinnedLater.trustedMemberships.map((m) => m.epoch)).toEqual([1n, 2n]);
  });

  const brokenLinks: [string, (body: Body) => unknown, RegExp][] = [
    ['only the old quorum: new signatures below quorum', (b) => withFirstLink(b, (l) => ({ ...l, newSignatures: (l.newSignatures as unknown[]).slice(0, 2) })), /links\[0\] \(epoch 0 -> 1\): new-quorum-below-quorum/],
    ['only the old quorum: new signatures missing', (b) => withFirstLink(b, (l) => ({ ...l, newSignatures: [] })), /links\[0\] \(epoch 0 -> 1\): new-quorum-below-quorum/],
    ['only the new quorum: old signatures below quorum', (b) => withFirstLink(b, (l) => ({ ...l, oldSignatures: (l.oldSignatures as unknown[]).slice(0, 2) })), /links\[0\] \(epoch 0 -> 1\): old-quorum-below-quorum/],
    ['a next membership its last header does not name', (b) => withFirstLink(b, (l) => ({ ...l, nextMembership: { ...(l.nextMembership as Body), f: 0 } })), /links\[0\] \(epoch 0 -> 1\): membership-hash-mismatch/],
    ['a skipped epoch', (b) => ({ ...b, links: (b.links as unknown[]).slice(1) }), /links\[0\] \(epoch 0 -> 1\): not-sequential/],
    ['a second link that does not follow the first', (b) => ({ ...b, links: [firstLink(b), firstLink(b)] }), /links\[1\] \(epoch 1 -> 2\): not-sequential/],
    ['more links than asked', (b) => ({ ...b, links: [...(b.links as unknown[]), firstLink(b)] }), /too-many-links: 3 links where at most 2 were asked/],
    ['a malformed link', (b) => ({ ...b, links: [{ ...firstLink(b), oldCommitView: 1 }] }), /links\[0\]: oldCommitView/],
    ['an answer without its current epoch', (b) => ({ links: b.links }), /epochs after 0: current/],
    ['an empty chain', (b) => ({ ...b, links: [] }), /no epoch link after epoch 0 \(the replica's current epoch: 2\)/],
  ];
  for (const [what, lie, reason] of brokenLinks) {
    it(`refuses ${what}, naming the link and the rule, and trusts no membership it did not prove`, async () => {
      const reg = chain(2);
      const c = await client(reg, { 'http://r1': lyingAboutEpochs(reg, lie) });
      const error = await refusal(c.get('k'));
      expect(error.code).toBe('unknown-epoch');
      expect(error.message).toMatch(reason);
      expect(c.trustedEpoch).toBeLessThan(2n);
      if (what === 'a second link that does not follow the first') expect(c.trustedEpoch).toBe(1n);
      else expect(c.trustedEpoch).toBe(0n);
    });
  }

  it('refuses a body that is not JSON or larger than the response cap', async () => {
    const reg = chain(1);
    const notJson: Handler = (path, init) => (path.startsWith('/v1/epochs') ? new Response('{"current": "1", "links": [', { status: 200 }) : honest(reg)(path, init));
    const huge: Handler = (path, init) => (path.startsWith('/v1/epochs') ? json({ ...(reg.epochsAnswer(0n, 64) as Body), padding: 'x'.repeat(100_000) }) : honest(reg)(path, init));
    const c = await client(reg, { 'http://garbage': notJson, 'http://huge': huge }, { responseBytesMax: 64 * 1024 });
    const error = await refusal(c.get('k'));
    expect(error.code).toBe('unknown-epoch');
    expect(error.message).toMatch(/http:\/\/garbage: malformed: epochs after 0: HTTP 200: body is not JSON/);
    expect(error.message).toMatch(/http:\/\/huge: too-large: epochs after 0: answer over 65536 bytes/);
    expect(c.trustedEpoch).toBe(0n);
  });

  it('caps the links one walk verifies: a header further ahead is refused before anything is fetched', async () => {
    const reg = chain(2);
    const calls: string[] = [];
    const c = await client(reg, { 'http://r1': honest(reg) }, { calls, epochWalkLinksMax: 1 });
    const error = await refusal(c.get('k'));
    expect(error.code).toBe('unknown-epoch');
    expect(error.message).toMatch(/too-many-links: epoch 2 is 2 links past the newest trusted epoch 0; one walk verifies at most 1/);
    expect(epochCalls(calls)).toEqual([]);
    // One link per call: walk to epoch 1 explicitly, and the read's own walk covers the last link.
    expect((await c.walkEpochs(1n)).epoch).toBe(1n);
    expect((await c.get('k')).epoch).toBe(2n);
  });

  it('a replica lying about the chain does not stop an honest replica: its chain is walked and its answer accepted', async () => {
    const reg = chain(1);
    // The liar's reads are honest, its epoch links are not: the walk continues at the honest replica, the answer stands.
    const hiding = await client(reg, { 'http://liar': lyingAboutEpochs(reg, (b) => ({ ...b, links: [] })), 'http://r2': honest(reg) });
    const read = await hiding.get('k');
    expect([read.replica, read.epoch, text(read.entry?.value)]).toEqual(['http://liar', 1n, 'v1']);
    // A liar with its own "epoch 1" (its own keys, one old signature: its own) answers first; the true chain
    // comes from the honest replica, the liar's header does not verify against it, the read fails over.
    const forged = new FakeRegistry();
    forged.set('k', 'v0');
    const stranger: TestCluster = testCluster({ epoch: 1n, keyPrefix: 'stranger' });
    forged.rotate(stranger);
    forged.set('k', 'forged');
    const forgedLinks = forged.epochsAnswer(0n, 64) as Body;
    const liar: Handler = honest(forged, (path, body) => (path.startsWith('/v1/epochs') ? withFirstLink(forgedLinks, (l) => ({ ...l, oldSignatures: (l.oldSignatures as unknown[]).slice(0, 1) })) : body));
    const c = await client(reg, { 'http://liar': liar, 'http://r2': honest(reg) });
    const honestRead = await c.get('k');
    expect([honestRead.replica, honestRead.epoch, text(honestRead.entry?.value)]).toEqual(['http://r2', 1n, 'v1']);
    expect(c.trustedMemberships[1]?.replicas[0]?.publicKey).toEqual(e1().membership.replicas[0]?.publicKey);
  });

  it('rotated-out keys cannot certify past the end of their epoch', async () => {
    const reg = chain(1);
    const c = await client(reg, { 'http://r1': honest(reg) });
    await c.get('k');
    const boundary = reg.links[0]?.lastHeader.height ?? 0n;
    // The whole old membership (say, its stolen keys) certifies a header of epoch 0 after the boundary.
    const late = testCertificate(reg.genesis, testHeader({ epoch: 0n, height: boundary + 5n, timestampMs: BigInt(T0), stateRoot: reg.map.root, logRoot: reg.log.root(), logSize: reg.log.size }));
    const stolen: Handler = honest(reg, (path, body) => (path.startsWith('/v1/keys/') ? { ...(body as Body), certificate: certificateToJson(late) } : body));
    const d = await client(reg, { 'http://stolen': stolen });
    await d.walkEpochs();
    const error = await refusal(d.get('k'));
    expect(error.message).toMatch(new RegExp(`outside its epoch \\(epoch 0 ended at height ${boundary}\\)`));
  });

  it('walkEpochs follows the chain as far as the replicas go', async () => {
    const reg = chain(2);
    const c = await client(reg, { 'http://r1': honest(reg), 'http://r2': honest(reg) });
    const newest = await c.walkEpochs();
    expect([newest.epoch, c.trustedEpoch]).toEqual([2n, 2n]);
    const stuck = await client(reg, { 'http://r1': () => json({ error: { code: 'internal', message: 'down' } }, 500) });
    const error = await stuck.walkEpochs().then(() => undefined, (e: unknown) => e);
    expect([(error as RegistryError).code, (error as RegistryError).message]).toEqual(['unknown-epoch', expect.stringMatching(/http:\/\/r1: http-error: epochs after 0: HTTP 500 internal/)]);
  });
});

describe('the newest epoch, from f+1 replicas, before any certificate is trusted', () => {
  /**
   * A replica holding the retired keys of the whole epoch-0 membership (more than f): it hides every
   * epoch link and answers reads with a false state certified in epoch 0 past the end of epoch 0.
   */
  function retiredKeys(reg: FakeRegistry): { handler: Handler; boundary: bigint } {
    const boundary = reg.links[0]?.lastHeader.height ?? 0n;
    const lie = new FakeRegistry(reg.genesis);
    lie.map.set('k', { value: new TextEncoder().encode('false'), revision: 9n });
    const forge = () => testCertificate(reg.genesis, testHeader({ chainId: reg.genesis.membership.chainId, epoch: 0n, height: boundary + 5n, timestampMs: BigInt(reg.clockMs), stateRoot: lie.map.root, logRoot: lie.log.root(), logSize: lie.log.size }));
    const handler = honest(reg, (path, body) => {
      if (path.startsWith('/v1/epochs')) return { current: '0', links: [] };
      if (path.startsWith('/v1/keys/')) return lie.readAnswer('k', forge());
      return body;
    });
    return { handler, boundary };
  }

  it('on first use: retired keys certifying a false state to a genesis-pinned client are refused once f+1 replicas told it the newest epoch', async () => {
    const reg = chain(1);
    const { handler, boundary } = retiredKeys(reg);
    // The client reads from the liar only; the liar hides epoch 1, the witnesses do not.
    const c = await client(reg, { 'http://retired': handler });
    const error = await refusal(c.get('k'));
    expect(error.attempts.map((a) => a.detail)).toEqual([expect.stringMatching(new RegExp(`outside its epoch \\(epoch 0 ended at height ${boundary}\\)`))]);
    expect(c.trustedEpoch).toBe(1n);
  });

  it('again when its knowledge is older than newestEpochMaxAgeMs: a rotation it had not heard of is learned before a retired key is believed', async () => {
    const reg = chain(0);
    const calls: string[] = [];
    let liar: Handler = honest(reg);
    const c = await client(reg, { 'http://r1': (path, init) => liar(path, init) }, { calls, newestEpochMaxAgeMs: 30_000 });
    expect(text((await c.get('k')).entry?.value)).toBe('v0');
    // Within the bound the client does not ask again.
    const asked = epochCallsBy(calls).length;
    reg.clockMs += 10_000;
    expect(text((await c.get('k')).entry?.value)).toBe('v0');
    expect(epochCallsBy(calls).length).toBe(asked);
    // The registry rotates; r1 turns out to hold the retired keys. Past the bound the client asks again and refuses them.
    reg.rotate(e1());
    reg.set('k', 'v1');
    liar = retiredKeys(reg).handler;
    reg.clockMs += 25_000;
    const error = await refusal(c.get('k'));
    expect(error.message).toMatch(/outside its epoch \(epoch 0 ended at height/);
    expect(epochCallsBy(calls).length).toBeGreaterThan(asked);
    expect(c.trustedEpoch).toBe(1n);
  });

  it('a client that cannot hear f+1 replicas trusts no certificate; with f+1 answering it learns the newest epoch', async () => {
    const reg = chain(1);
    const alone = await RegistryClient.create({ membership: reg.genesis.membership, replicas: ['http://r1'], fetch: fakeFetch({ 'http://r1': honest(reg) }), now: () => reg.clockMs });
    const error = await refusal(alone.get('k'));
    expect(error.code).toBe('unknown-epoch');
    expect(error.message).toMatch(/the newest epoch was told by 1 replica\(s\) of the 2 needed \(f\+1 of epoch 1's membership, asked among 1 configured\)/);
    // One replica named twice is still one answer.
    const twice = await RegistryClient.create({ membership: reg.genesis.membership, replicas: ['http://r1'], epochReplicas: ['http://r1', 'http://r1/'], fetch: fakeFetch({ 'http://r1': honest(reg) }), now: () => reg.clockMs });
    expect((await refusal(twice.get('k'))).message).toMatch(/told by 1 replica\(s\) of the 2 needed/);
    const two = await RegistryClient.create({ membership: reg.genesis.membership, replicas: ['http://r1'], epochReplicas: ['http://r1', 'http://r2'], fetch: fakeFetch({ 'http://r1': honest(reg), 'http://r2': honest(reg) }), now: () => reg.clockMs });
    expect(text((await two.get('k')).entry?.value)).toBe('v1');
    expect(two.trustedEpoch).toBe(1n);
  });
});

describe('writes across epochs', () => {
  /** A replica that admits client signatures by the replicas' rule (its current epoch or the one before). */
  function checking(reg: FakeRegistry): Handler {
    const inner = honest(reg);
    return (path, init) => {
      if (init?.method === 'POST') {
        const parsed = parseClientRequestJson(JSON.parse(String(init.body)));
        const epoch = reg.cluster.membership.epoch;
        const accepted = parsed.ok && verifyOrderedClientRequest(nobleBackend, { chainId: reg.cluster.membership.chainId, blockEpoch: epoch }, parsed.value).ok;
        if (!accepted) return json({ error: { code: 'bad-signature', message: 'client signature does not verify' } }, 400);
      }
      return inner(path, init);
    };
  }

  it('a write refused for its epoch walks the chain and is re-signed once in the new epoch, with the same request id', async () => {
    const reg = chain(2);
    const c = await client(reg, { 'http://r1': checking(reg) });
    const sent: ClientRequest[] = [];
    c.onSend = (request) => sent.push(request);
    const receipt = await c.put('w', 'x');
    expect([receipt.result, receipt.epoch, c.trustedEpoch]).toEqual([{ ok: true, revisions: [1n] }, 2n, 2n]);
    expect(sent.length).toBe(2);
    expect(sent[0]?.requestId).toBe(sent[1]?.requestId);
    const domain = (epoch: bigint) => ({ chainId: 'vcr-test', epoch });
    expect([verifyClientRequest(nobleBackend, domain(0n), sent[0] as ClientRequest), verifyClientRequest(nobleBackend, domain(2n), sent[1] as ClientRequest)]).toEqual([true, true]);
    expect(reg.executed).toBe(1);
    // The next write is signed in epoch 2 from the start.
    await c.put('w', 'y');
    expect(sent.length).toBe(3);
    expect(verifyClientRequest(nobleBackend, domain(2n), sent[2] as ClientRequest)).toBe(true);
  });

  it('a receipt ordering our request in an epoch that does not admit the epoch we signed for is refused', async () => {
    // Replicas that order anything: the request is signed for epoch 0 (the client has not walked) and certified in epoch 2.
    const reg = chain(2);
    const c = await client(reg, { 'http://r1': honest(reg), 'http://r2': honest(reg) });
    const error = await refusal(c.put('w', 'x'));
    expect(error.attempts.map((a) => [a.code, a.detail])).toContainEqual(['verification-failed', 'receipt orders our request (signed for epoch 0) in epoch 2, where that signature is not admitted']);
  });

  it('a replica without a vote in the current epoch (503 not-a-member) is left at once for the next', async () => {
    const reg = chain(1);
    const calls: string[] = [];
    const retired: Handler = (path, init) => (init?.method === 'POST' ? json({ error: { code: 'not-a-member', message: 'no vote in epoch 1' } }, 503) : honest(reg)(path, init));
    const c = await client(reg, { 'http://retired': retired, 'http://r2': honest(reg) }, { calls });
    expect((await c.put('w', 'x')).replica).toBe('http://r2');
    expect(calls.filter((u) => u === 'http://retired/v1/requests').length).toBe(1);
  });

  it('a write refused for its signature with no later epoch to prove is rejected after one walk', async () => {
    const reg = chain(0);
    const calls: string[] = [];
    const refusing: Handler = (path, init) => (init?.method === 'POST' ? json({ error: { code: 'bad-signature', message: 'no' } }, 400) : honest(reg)(path, init));
    const c = await client(reg, { 'http://r1': refusing }, { calls });
    const error = await refusal(c.put('w', 'x'));
    expect(error.code).toBe('rejected');
    expect(epochCalls(calls)).toEqual(['/v1/epochs?after=0&limit=64']);
    expect(calls.filter((u) => u.endsWith('/v1/requests')).length).toBe(1);
  });
});
