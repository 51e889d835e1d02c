// The OpenFeature provider through the real OpenFeature server API
// (OpenFeature.setProviderAndWait, getClient().get*Details) over fake
// replicas built from real proofs: verified values with their revision,
// height and epoch; STALE when stale; errors (not a quiet default) for a
// malformed flag, an absent flag, a failed verification and an unreachable
// registry; TYPE_MISMATCH for a value of another type.

import { ErrorCode, OpenFeature, StandardResolutionReasons } from '@openfeature/server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { testSigner } from '@vcr/proofs/testing';
import { encodeTypedValue, type FlagValue } from '@vcr/registry';
import { RegistryClient } from './client';
import { RegistryFlagProvider } from './openfeature';
import { FakeRegistry, type Handler, honest, T0, withEpochWitnesses } from './test-support/fake-registry';

const checkout: FlagValue = {
  type: 'flag',
  variants: { on: true, off: false },
  defaultVariant: 'off',
  rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }],
  rollout: { by: 'userId', weights: [{ variant: 'on', weight: 5000 }, { variant: 'off', weight: 5000 }] },
};
const banner: FlagValue = { type: 'flag', variants: { a: 'Hello', b: 'Hi' }, defaultVariant: 'a', enabled: false };
const limits: FlagValue = { type: 'flag', variants: { small: 10, big: 1000 }, defaultVariant: 'big' };
const config: FlagValue = { type: 'flag', variants: { v1: { retries: 3 } }, defaultVariant: 'v1' };
const encode = (v: FlagValue) => new TextDecoder().decode(encodeTypedValue(v));

afterAll(() => OpenFeature.close());

async function setup() {
  const reg = new FakeRegistry();
  reg.set('svc/flags/checkout', encode(checkout));
  reg.set('svc/flags/banner', encode(banner));
  reg.set('svc/flags/limit', encode(limits));
  reg.set('svc/flags/config', encode(config));
  reg.set('svc/flags/broken', '{"type":"flag","variants":{"on":true},"defaultVariant":"off"}');
  const mode = { value: 'honest' as 'honest' | 'down' | 'lying' };
  const truthful = honest(reg);
  const liar = honest(reg, (path, body) => (path.startsWith('/v1/keys/') ? { ...(body as object), entry: { value: '7b7d', revision: '1' } } : body));
  const handler: Handler = (path, init) => {
    if (mode.value === 'down') throw new TypeError('fetch failed: connection refused');
    return (mode.value === 'lying' ? liar : truthful)(path, init);
  };
  const client = await RegistryClient.create({ membership: reg.cluster.membership, ...withEpochWitnesses(reg, { 'http://r1': handler }), now: () => reg.clockMs, sleep: async () => undefined, signer: testSigner('client') });
  await OpenFeature.setProviderAndWait(new RegistryFlagProvider(client, { keyPrefix: 'svc/flags/', targetingKeyAttribute: 'userId' }));
  return { reg, mode, flags: OpenFeature.getClient() };
}

describe('OpenFeature provider', () => {
  it('resolves verified flags of each type with reason, variant, and revision/height/epoch in the metadata', async () => {
    const { flags } = await setup();
    const internal = await flags.getBooleanDetails('checkout', false, { plan: 'internal' });
    expect([internal.value, internal.variant, internal.reason, internal.errorCode]).toEqual([true, 'on', StandardResolutionReasons.TARGETING_MATCH, undefined]);
    expect(internal.flagMetadata).toMatchObject({ registryKey: 'svc/flags/checkout', revision: '1', height: '5', epoch: '0', stale: false, source: 'replica' });
    const split = await flags.getBooleanDetails('checkout', false, { targetingKey: 'user-1' });
    expect(split.reason).toBe(StandardResolutionReasons.SPLIT);
    expect((await flags.getStringDetails('banner', 'x')).reason).toBe(StandardResolutionReasons.DISABLED);
    expect(await flags.getNumberValue('limit', 0)).toBe(1000);
    const object = await flags.getObjectDetails('config', {});
    expect([object.value, object.reason]).toEqual([{ retries: 3 }, StandardResolutionReasons.DEFAULT]);
  });

  it('reports stale data with the STALE reason, and the last verified flag when the registry is unreachable', async () => {
    const { reg, mode, flags } = await setup();
    reg.clockMs = T0 + 60_000;
    const stale = await flags.getBooleanDetails('checkout', false, { plan: 'internal' });
    expect([stale.value, stale.reason, stale.flagMetadata.stale, stale.flagMetadata.ageMs]).toEqual([true, StandardResolutionReasons.STALE, true, 60_000]);
    mode.value = 'down';
    const cached = await flags.getBooleanDetails('checkout', false, { plan: 'internal' });
    expect([cached.value, cached.reason, cached.flagMetadata.source]).toEqual([true, StandardResolutionReasons.STALE, 'last-verified']);
  });

  it('never hands out the default as if all were well: errors carry reason ERROR and a code', async () => {
    const { mode, flags } = await setup();
    const typeMismatch = await flags.getBooleanDetails('limit', false);
    expect([typeMismatch.value, typeMismatch.reason, typeMismatch.errorCode]).toEqual([false, StandardResolutionReasons.ERROR, ErrorCode.TYPE_MISMATCH]);
    const malformed = await flags.getBooleanDetails('broken', false);
    expect([malformed.reason, malformed.errorCode]).toEqual([StandardResolutionReasons.ERROR, ErrorCode.PARSE_ERROR]);
    const absent = await flags.getBooleanDetails('nothing', false);
    expect([absent.reason, absent.errorCode]).toEqual([StandardResolutionReasons.ERROR, ErrorCode.FLAG_NOT_FOUND]);
    mode.value = 'lying';
    const lie = await flags.getBooleanDetails('banner', false);
    expect([lie.value, lie.reason, lie.errorCode]).toEqual([false, StandardResolutionReasons.ERROR, ErrorCode.GENERAL]);
    expect(lie.errorMessage).toContain('verification-failed');
    mode.value = 'down';
    const down = await flags.getBooleanDetails('checkout', false);
    expect([down.reason, down.errorCode]).toEqual([StandardResolutionReasons.ERROR, ErrorCode.GENERAL]);
  });
});
