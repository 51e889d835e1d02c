// Loops a lying replica could drive without end (issue 18, item 4): a listing
// page that does not advance its cursor, and long polls answered at once and
// empty. Fake replicas count the requests they get; the assertions are on
// those counts, on the pauses the SDK asks its (injected) sleep for, and on
// the reasons it gives. No sockets, no wall clock.

import { describe, expect, it } from 'vitest';
import { testSigner } from '@vcr/proofs/testing';
import { RegistryClient } from './client';
import { ReplicasFailedError } from './errors';
import { sdkLimits } from './limits';
import { FakeRegistry, type Handler, honest, json, withEpochWitnesses } from './test-support/fake-registry';

/** Counts the requests a handler gets, by path (query left out). */
function counted(handler: Handler): { handler: Handler; count: (route?: string) => number } {
  const seen: string[] = [];
  return {
    handler: (path, init) => {
      seen.push(path.split('?', 1)[0] as string);
      return handler(path, init);
    },
    count: (route) => seen.filter((p) => route === undefined || p === route).length,
  };
}

async function client(reg: FakeRegistry, replicas: Record<string, Handler>, sleeps: number[] = []) {
  return RegistryClient.create({
    membership: reg.cluster.membership,
    // Two more honest replicas answer only the newest-epoch survey (f+1 answers before any certificate counts).
    ...withEpochWitnesses(reg, replicas),
    now: () => reg.clockMs,
    sleep: async (ms) => void sleeps.push(ms),
    signer: testSigner('client'),
  });
}

/** An honest listing first page that names a next cursor, then pages that list nothing and name the same cursor again. */
function stuckLister(reg: FakeRegistry): Handler {
  const real = honest(reg);
  return async (path, init) => {
    const url = new URL(path, 'http://fake');
    const after = url.searchParams.get('after');
    if (url.pathname !== '/v1/keys' || after === null) return real(path, init);
    return json({ ...(reg.listAnswer('', after, 1) as object), keys: [], next: after });
  };
}

describe('a listing page that does not advance its cursor', () => {
  it('fails that replica with the reason, after one such page (not 10,000 requests)', async () => {
    const reg = new FakeRegistry();
    for (let i = 0; i < 3; i++) reg.set(`list/k${i}`, `v${i}`);
    // The first page is honest but claims more (a full page of 1 would have named a next cursor).
    const liar = counted(async (path, init) => {
      const url = new URL(path, 'http://fake');
      if (url.pathname === '/v1/keys' && url.searchParams.get('after') === null) return json(reg.listAnswer('list/', undefined, 1));
      // A guard for the test only: without the rule the listing would ask 10,000 times.
      if (liar.count('/v1/keys') > 50) return json({ error: { code: 'test-guard', message: 'asked 50 times' } }, 500);
      return stuckLister(reg)(path, init);
    });
    const alone = await client(reg, { 'http://liar': liar.handler });
    const error = await alone.list('list/').then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ReplicasFailedError);
    expect((error as ReplicasFailedError).attempts.map((a) => [a.replica, a.code])).toEqual([['http://liar', 'no-progress']]);
    expect((error as ReplicasFailedError).attempts[0]?.detail).toMatch(/does not advance/);
    expect(liar.count('/v1/keys')).toBe(2);

    // With an honest replica after it, the listing fails over at the stuck page and completes.
    const liar2 = counted(liar.handler);
    const both = await client(reg, { 'http://liar': liar2.handler, 'http://r2': honest(reg) });
    const listed = await both.list('list/');
    expect(listed.keys.map((k) => k.key)).toEqual(['list/k0', 'list/k1', 'list/k2']);
    expect(liar2.count('/v1/keys')).toBe(2);
  });
});

/** An empty page of changes for a long poll, continuing where it was asked. */
function noChanges(path: string): Response {
  const url = new URL(path, 'http://fake');
  if (url.pathname !== '/v1/changes') return json({ error: { code: 'not-found', message: 'no' } }, 404);
  return json({ prefix: url.searchParams.get('prefix') ?? '', entries: [], next: url.searchParams.get('from') ?? '0', more: false });
}

/** A replica that answers every long poll at once, with nothing. */
const instantEmpty = (): Handler => async (path) => noChanges(path);

/** An honest replica with nothing new: it answers empty at the end of the wait (the fake clock moves by the wait). */
function waitsThenEmpty(reg: FakeRegistry): Handler {
  return async (path) => {
    reg.clockMs += Number(new URL(path, 'http://fake').searchParams.get('waitMs'));
    return noChanges(path);
  };
}

/** The instant liar, counted; a guard for the test only stops the watch after 500 requests (without the rule it never ends by itself). */
function guardedLiar(stop: AbortController): ReturnType<typeof counted> {
  const liar = counted(async (path, init) => {
    if (liar.count() > 500) stop.abort();
    return instantEmpty()(path, init);
  });
  return liar;
}

describe('long polls answered at once and empty', () => {
  it('back off with a growing, bounded pause and count against the replica', async () => {
    const reg = new FakeRegistry();
    const stop = new AbortController();
    const liar = guardedLiar(stop);
    const sleeps: number[] = [];
    const c = await client(reg, { 'http://liar': liar.handler }, sleeps);
    const failures: string[] = [];
    const watching = (async () => {
      for await (const _ of c.watch('w/', { maxFailedRounds: 2, signal: stop.signal, onFailure: (a) => failures.push(a.code) })) expect.fail('the liar has no changes');
    })();
    const error = await watching.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ReplicasFailedError);
    expect((error as ReplicasFailedError).attempts.map((a) => a.code)).toEqual(['no-progress']);
    // Two rounds of watchEarlyEmptyMax early answers each; never a request without a pause before the next.
    expect(liar.count('/v1/changes')).toBe(2 * sdkLimits.watchEarlyEmptyMax);
    expect(failures).toEqual(['no-progress', 'no-progress']);
    expect(sleeps).toEqual([250, 500, 1_000, sdkLimits.watchRetryMs, 2_000, 4_000, 8_000]);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(sdkLimits.watchEarlyBackoffMsMax);
  });

  it('move the watch to the next replica, which is then kept while it waits honestly', async () => {
    const reg = new FakeRegistry();
    const stop = new AbortController();
    const liar = guardedLiar(stop);
    const r2 = counted(async (path, init) => {
      if (r2.count() >= 5) stop.abort();
      return waitsThenEmpty(reg)(path, init);
    });
    const c = await client(reg, { 'http://liar': liar.handler, 'http://r2': r2.handler });
    for await (const _ of c.watch('w/', { waitMs: 5_000, signal: stop.signal })) expect.fail('nothing was written');
    expect(liar.count('/v1/changes')).toBe(sdkLimits.watchEarlyEmptyMax);
    expect(r2.count('/v1/changes')).toBeGreaterThanOrEqual(5);
  });
});
