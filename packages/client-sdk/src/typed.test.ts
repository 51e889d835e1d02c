// Typed reads against fake replicas built from real proofs: the shared
// schema decides what is a flag or a pin set; flags may be served stale or
// from the last verified value and say so; pins fail closed; the last
// verified cache is filled only from verified reads and emptied by a verified
// "no longer a flag".

import { describe, expect, it } from 'vitest';
import { bytesToBase64 } from '@vcr/proofs';
import { testSigner } from '@vcr/proofs/testing';
import { encodeTypedValue, type FlagValue, type PinSetValue } from '@vcr/registry';
import { RegistryClient } from './client';
import { RegistryError, ReplicasFailedError } from './errors';
import { FakeRegistry, type Handler, honest, T0, withEpochWitnesses } from './test-support/fake-registry';
import { TypedValueError } from './typed';

const flag: FlagValue = {
  type: 'flag',
  variants: { on: true, off: false },
  defaultVariant: 'off',
  rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }],
};
const digest = new Uint8Array(32).fill(7);
const backupDigest = new Uint8Array(32).fill(8);
const pins: PinSetValue = { type: 'pins', pins: [bytesToBase64(digest)], backupPins: [bytesToBase64(backupDigest)], expiresAtMs: T0 + 86_400_000 };
const encode = (v: Parameters<typeof encodeTypedValue>[0]) => new TextDecoder().decode(encodeTypedValue(v));

/** One replica that can be switched between honest, down and lying about the value. */
function switchable(reg: FakeRegistry) {
  const state = { mode: 'honest' as 'honest' | 'down' | 'lying' };
  const truthful = honest(reg);
  const liar = honest(reg, (path, body) => (path.startsWith('/v1/keys/') ? { ...(body as object), entry: { value: '7b7d', revision: '1' } } : body));
  const handler: Handler = (path, init) => {
    if (state.mode === 'down') throw new TypeError('fetch failed: connection refused');
    return (state.mode === 'lying' ? liar : truthful)(path, init);
  };
  return { state, handler };
}

async function setup() {
  const reg = new FakeRegistry();
  reg.set('flags/a', encode(flag));
  reg.set('pins/api', encode(pins));
  reg.set('flags/bad', '{"type":"flag","variants":{},"defaultVariant":"x"}');
  reg.set('flags/opaque', 'just bytes');
  const replica = switchable(reg);
  const client = await RegistryClient.create({ membership: reg.cluster.membership, ...withEpochWitnesses(reg, { 'http://r1': replica.handler }), now: () => reg.clockMs, sleep: async () => undefined, signer: testSigner('client') });
  return { reg, replica, client };
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('typed reads', () => {
  it('a verified flag, evaluated, with revision, height, epoch and freshness', async () => {
    const { client } = await setup();
    const got = await client.getFlag('flags/a');
    expect(got.flag).toEqual(flag);
    expect([got.revision, got.epoch, got.stale, got.source]).toEqual([1n, 0n, false, 'replica']);
    const internal = await client.evaluateFlag('flags/a', { plan: 'internal' });
    expect([internal.variant, internal.value, internal.reason]).toEqual(['on', true, { kind: 'rule', ruleIndex: 0, ruleId: 'internal' }]);
    expect((await client.evaluateFlag('flags/a', { plan: 'free' })).variant).toBe('off');
  });

  it('a malformed flag, opaque bytes or an absent key is an error, never a default', async () => {
    const { client } = await setup();
    const bad = await failure(client.evaluateFlag('flags/bad', {}));
    expect(bad).toBeInstanceOf(TypedValueError);
    expect([(bad as TypedValueError).code, (bad as TypedValueError).reason]).toEqual(['invalid-value', 'invalid']);
    expect((bad as TypedValueError).issues.length).toBeGreaterThan(0);
    expect((await failure(client.getFlag('flags/opaque'))) as TypedValueError).toMatchObject({ code: 'invalid-value', reason: 'opaque' });
    expect((await failure(client.getFlag('flags/none'))) as TypedValueError).toMatchObject({ code: 'absent', reason: 'absent' });
    expect((await failure(client.getFlag('pins/api'))) as TypedValueError).toMatchObject({ code: 'invalid-value', reason: 'other-type' });
  });

  it('flags: a stale answer is served and says so; allowStale: false refuses it', async () => {
    const { reg, client } = await setup();
    reg.clockMs = T0 + 60_000;
    const stale = await client.getFlag('flags/a');
    expect([stale.stale, stale.ageMs, stale.source]).toEqual([true, 60_000, 'replica']);
    expect(((await failure(client.getFlag('flags/a', { allowStale: false }))) as RegistryError).code).toBe('stale');
  });

  it('flags: when every replica fails, the last verified flag, stale, with its age and the failure', async () => {
    const { reg, replica, client } = await setup();
    const fresh = await client.evaluateFlag('flags/a', { plan: 'internal' });
    replica.state.mode = 'down';
    reg.clockMs = T0 + 5_000;
    const cached = await client.evaluateFlag('flags/a', { plan: 'internal' });
    expect([cached.variant, cached.stale, cached.source, cached.ageMs, cached.height]).toEqual(['on', true, 'last-verified', 5_000, fresh.height]);
    expect(cached.failure).toBeInstanceOf(ReplicasFailedError);
    // A lying replica is no better than a dead one: its value is refused, the cache answers.
    replica.state.mode = 'lying';
    expect((await client.getFlag('flags/a')).source).toBe('last-verified');
    // Never served with allowStale: false, and never for a key this client has not verified.
    expect(await failure(client.getFlag('flags/a', { allowStale: false }))).toBeInstanceOf(ReplicasFailedError);
    expect(await failure(client.getFlag('flags/other'))).toBeInstanceOf(ReplicasFailedError);
  });

  it('flags: the cache is filled only from verified reads, and a verified deletion empties it', async () => {
    const { reg, replica, client } = await setup();
    replica.state.mode = 'lying';
    expect(await failure(client.getFlag('flags/a'))).toBeInstanceOf(ReplicasFailedError);
    replica.state.mode = 'down';
    expect(await failure(client.getFlag('flags/a'))).toBeInstanceOf(ReplicasFailedError);
    replica.state.mode = 'honest';
    await client.getFlag('flags/a');
    reg.map.delete('flags/a');
    reg.commit();
    expect((await failure(client.getFlag('flags/a'))) as TypedValueError).toMatchObject({ code: 'absent' });
    replica.state.mode = 'down';
    expect(await failure(client.getFlag('flags/a'))).toBeInstanceOf(ReplicasFailedError);
  });

  it('pins: checked against a verified, fresh pin set; stale or unreachable fails closed', async () => {
    const { reg, replica, client } = await setup();
    expect(await client.checkPin('pins/api', digest)).toMatchObject({ ok: true, matched: 'primary' });
    expect(await client.checkPin('pins/api', backupDigest)).toMatchObject({ ok: true, matched: 'backup' });
    expect(await client.checkPin('pins/api', new Uint8Array(32).fill(9))).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(await client.checkPin('pins/api', digest, T0 + 86_400_000)).toMatchObject({ ok: false, reason: 'expired' });
    const verdict = await client.checkPin('pins/api', digest);
    expect([verdict.provenance.revision, verdict.provenance.stale]).toEqual([1n, false]);
    reg.clockMs = T0 + 60_000;
    expect(((await failure(client.checkPin('pins/api', digest))) as RegistryError).code).toBe('stale');
    expect(((await failure(client.getPinSet('pins/api', { maxStalenessMs: 30_000 }))) as RegistryError).code).toBe('stale');
    reg.clockMs = T0;
    replica.state.mode = 'down';
    expect(await failure(client.checkPin('pins/api', digest))).toBeInstanceOf(ReplicasFailedError);
    expect((await failure(client.checkPin('flags/a', digest))) as RegistryError).toBeInstanceOf(RegistryError);
  });
});
