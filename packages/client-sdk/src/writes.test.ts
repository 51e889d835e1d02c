// Signed writes against fake replicas: receipts verified against OUR request,
// retries resend the same signed request (exactly once), request ids grow
// across restarts, and a linearizable read waits for the ordering height.

import { describe, expect, it } from 'vitest';
import { bytesToHex, type ClientRequest, clientRequestToJson } from '@vcr/proofs';
import { testSigner } from '@vcr/proofs/testing';
import { RegistryClient } from './client';
import { ReplicasFailedError } from './errors';
import { MemoryStorage } from './storage';
import { FakeRegistry, type Handler, honest, json, withEpochWitnesses } from './test-support/fake-registry';

async function client(reg: FakeRegistry, replicas: Record<string, Handler>, storage?: MemoryStorage) {
  const opts = { membership: reg.cluster.membership, ...withEpochWitnesses(reg, replicas), now: () => reg.clockMs, sleep: async () => undefined, signer: testSigner('client') };
  return RegistryClient.create(storage ? { ...opts, storage } : opts);
}

describe('signed writes', () => {
  it('put, compareAndSet, transaction and delete resolve with verified receipts and decoded results', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    const c = await client(reg, { 'http://r1': honest(reg) });
    expect((await c.put('k', 'v1')).result).toEqual({ ok: true, revisions: [1n] });
    expect((await c.compareAndSet('k', 5n, 'no')).result).toEqual({ ok: false, error: 'revision-mismatch' });
    expect((await c.compareAndSet('k', 1n, 'v2')).result).toEqual({ ok: true, revisions: [2n] });
    const txn = await c.transaction([{ op: 'put', key: 'a', value: new Uint8Array([1]) }, { op: 'delete', key: 'k' }]);
    expect([txn.result, txn.height]).toEqual([{ ok: true, revisions: [1n, 0n] }, reg.height]);
    expect((await c.delete('k')).result).toEqual({ ok: false, error: 'absent' });
    expect(c.trustedHead?.height).toBe(reg.height);
  });

  it('retries a 503 and a timeout with the same signed request (same id, same signature); it executes once', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    let posts = 0;
    const flaky: Handler = (path, init) => {
      if (init?.method === 'POST' && ++posts === 1) return json({ error: { code: 'timeout', message: 'not committed in time' } }, 503, { 'retry-after': '1' });
      return honest(reg)(path, init);
    };
    const down: Handler = () => Promise.reject(new TypeError('fetch failed'));
    const c = await client(reg, { 'http://down': down, 'http://r1': flaky, 'http://r2': honest(reg) });
    const sent: ClientRequest[] = [];
    c.onSend = (request) => sent.push(request);
    const receipt = await c.put('k', 'v');
    expect(receipt.result).toEqual({ ok: true, revisions: [1n] });
    expect(sent.length).toBe(3);
    const wire = sent.map((r) => JSON.stringify(clientRequestToJson(r)));
    expect(new Set(wire).size).toBe(1);
    expect(reg.executed).toBe(1);
    // A resend after success is answered from the reply cache: still one execution.
    reg.execute(sent[0] as ClientRequest);
    expect(reg.executed).toBe(1);
  });

  it('refuses a receipt whose leaf is not our request, or whose result or inclusion was changed, and fails over', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    const other = await client(reg, { 'http://r1': honest(reg) });
    const foreign = await other.put('someone-else', 'x').then(() => reg.receipts.values().next().value as Record<string, unknown>);
    const lies: [string, (b: Record<string, unknown>) => unknown][] = [
      ['another request\'s receipt', () => foreign],
      ['a changed result', (b) => ({ ...b, reply: { ...(b.reply as object), result: 'a2626f6bf56976657276697369696f6e739f1864ff' } })],
      ['a changed log index', (b) => ({ ...b, logIndex: '0' })],
      ['a forged leaf', (b) => ({ ...b, leafData: bytesToHex(new Uint8Array(40)) })],
    ];
    for (const [i, [what, lie]] of lies.entries()) {
      reg.clockMs += 1;
      const liar = honest(reg, (path, body) => (path === '/v1/requests' ? lie(body as Record<string, unknown>) : body));
      const c = await client(reg, { 'http://liar': liar, 'http://r2': honest(reg) });
      const receipt = await c.put(`k/${i}`, 'v');
      expect(receipt.replica, what).toBe('http://r2');
      const alone = await client(reg, { 'http://liar': liar });
      const error = await alone.put(`k2/${i}`, 'v').then(() => undefined, (e: unknown) => e);
      expect(error, what).toBeInstanceOf(ReplicasFailedError);
      expect((error as ReplicasFailedError).attempts[0]?.code, what).toMatch(/verification-failed|malformed/);
    }
  });

  it('request ids grow per client across restarts, even when the clock goes back', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    const storage = new MemoryStorage();
    const first = await client(reg, { 'http://r1': honest(reg) }, storage);
    const a = await first.put('k', '1');
    reg.clockMs -= 10_000;
    const restarted = await client(reg, { 'http://r1': honest(reg) }, storage);
    const b = await restarted.put('k', '2');
    expect(b.requestId).toBe(a.requestId + 1n);
  });

  it('serializes writes of one client: one request outstanding at a time', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    let inFlight = 0;
    let most = 0;
    const counting: Handler = async (path, init) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return honest(reg)(path, init);
    };
    const c = await client(reg, { 'http://r1': counting });
    const receipts = await Promise.all(['a', 'b', 'c', 'd'].map((k) => c.put(k, 'v')));
    expect(most).toBe(1);
    expect(receipts.map((r) => r.requestId)).toEqual([...receipts.map((r) => r.requestId)].sort((x, y) => (x < y ? -1 : 1)));
  });

  it('a linearizable read is ordered after a noop and never served below its height', async () => {
    const reg = new FakeRegistry();
    reg.set('k', 'old');
    const oldAnswer = reg.readAnswer('k');
    // A replica that orders requests (it forwards them) but serves reads from an old state.
    const behind: Handler = (path, init) => (init?.method === 'POST' ? honest(reg)(path, init) : json(oldAnswer));
    const c = await client(reg, { 'http://behind': behind, 'http://r1': honest(reg) });
    reg.set('k', 'new');
    const read = await c.get('k', { linearizable: true });
    expect(new TextDecoder().decode(read.entry?.value)).toBe('new');
    expect([read.height, read.replica]).toEqual([reg.height, 'http://r1']);
  });
});

describe('keys outside the key alphabet (docs/registry.md, "Keys")', () => {
  it('are refused with bad-argument before anything is sent: fullwidth slashes, a zero-width space, NFD', async () => {
    const reg = new FakeRegistry();
    reg.set('seed', 'x');
    const c = await client(reg, { 'http://r1': honest(reg) });
    const sent: ClientRequest[] = [];
    c.onSend = (request) => sent.push(request);
    for (const key of ['demo\uff0fflags\uff0fdark-mode', 'demo\u200b/flags/dark-mode', 'demo/flags/cafe\u0301']) {
      await expect(c.put(key, 'on')).rejects.toMatchObject({ code: 'bad-argument' });
      await expect(c.get(key)).rejects.toMatchObject({ code: 'bad-argument' });
    }
    expect(sent).toEqual([]);
    expect(reg.executed).toBe(0);
  });
});
