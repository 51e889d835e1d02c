import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes, encodeCanonical, isWellFormedText, nobleBackend, utf8 } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { compileFlag, evaluateFlag, FLAG_BUCKET_TAG, flagBucket, variantForBucket } from './flag';
import { type FlagValue, flagSchema } from './schemas';

function flag(value: unknown): FlagValue {
  return flagSchema.parse(value);
}

const CHECKOUT = flag({
  type: 'flag',
  variants: { on: { layout: 'new' }, off: { layout: 'old' }, beta: { layout: 'beta' } },
  defaultVariant: 'off',
  rules: [
    { id: 'blocked', when: [{ attribute: 'country', op: 'in', values: ['XX', 'YY'] }], serve: { variant: 'off' } },
    { id: 'staff', when: [{ attribute: 'email', op: 'prefix', value: 'ops@' }, { attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } },
    { id: 'beta-testers', when: [{ attribute: 'plan', op: 'not-in', values: ['free'] }], serve: { rollout: { by: 'userId', weights: [{ variant: 'beta', weight: 5000 }, { variant: 'off', weight: 5000 }] } } },
  ],
  rollout: { by: 'userId', salt: 's1', weights: [{ variant: 'on', weight: 1000 }, { variant: 'off', weight: 9000 }] },
});

/** Canonical CBOR of an array of short text strings, written by hand (RFC 8949: major type 4, then major type 3). */
function cborTextArray(items: string[]): Uint8Array {
  const head = (major: number, n: number) => (n < 24 ? Uint8Array.of((major << 5) | n) : Uint8Array.of((major << 5) | 24, n));
  return concatBytes(head(4, items.length), ...items.flatMap((s) => [head(3, utf8(s).length), utf8(s)]));
}

describe('flagBucket', () => {
  const VECTORS: [string, string, string, number][] = [
    ['demo/flags/new-checkout', '', 'user-1', 5882],
    ['demo/flags/new-checkout', '', 'user-2', 7560],
    ['demo/flags/new-checkout', 'new-checkout-1', 'user-1', 9450],
    ['payments/flags/3ds', 'v2', 'acct_0042', 8157],
  ];

  it.each(VECTORS)('fixed vector: %s / salt %j / %s is bucket %i', (flagKey, salt, unitId, bucket) => {
    expect(flagBucket({ flagKey, salt, unitId })).toBe(bucket);
  });

  it('is the first 8 bytes of SHA-256(canonical ["vcr/v1/flag-bucket", key, salt, unit]) mod 10000, rebuilt with node:crypto and hand-written CBOR', () => {
    for (const [flagKey, salt, unitId, bucket] of VECTORS) {
      const digest = createHash('sha256').update(cborTextArray(['vcr/v1/flag-bucket', flagKey, salt, unitId])).digest();
      expect(Number(digest.readBigUInt64BE(0) % 10000n)).toBe(bucket);
    }
  });

  it('is the same with either crypto backend, and changes with the key, the salt and the unit', () => {
    const input = { flagKey: 'k', salt: 's', unitId: 'u' };
    expect(flagBucket(input, nodeBackend)).toBe(flagBucket(input, nobleBackend));
    const buckets = new Set([flagBucket(input), flagBucket({ ...input, flagKey: 'k2' }), flagBucket({ ...input, salt: 's2' }), flagBucket({ ...input, unitId: 'u2' })]);
    expect(buckets.size).toBe(4);
  });
});

describe('evaluateFlag', () => {
  it('rules are tried in order and the first match wins', () => {
    // Matches "blocked" and "staff": the earlier rule decides.
    const both = evaluateFlag('k', CHECKOUT, { country: 'XX', email: 'ops@example.com', plan: 'internal' });
    expect(both).toEqual({ variant: 'off', value: { layout: 'old' }, reason: { kind: 'rule', ruleIndex: 0, ruleId: 'blocked' } });
    const staff = evaluateFlag('k', CHECKOUT, { country: 'DE', email: 'ops@example.com', plan: 'internal' });
    expect(staff).toEqual({ variant: 'on', value: { layout: 'new' }, reason: { kind: 'rule', ruleIndex: 1, ruleId: 'staff' } });
  });

  it('every condition of a rule must hold; an absent or non-string attribute fails the condition, even not-in', () => {
    expect(evaluateFlag('k', CHECKOUT, { email: 'ops@example.com', plan: 'pro', userId: 'u' }).reason).toMatchObject({ ruleId: 'beta-testers' });
    expect(evaluateFlag('k', CHECKOUT, { email: 'ops@example.com', userId: 'u' }).reason.kind).toBe('rollout');
    expect(evaluateFlag('k', CHECKOUT, { plan: 7, userId: 'u' }).reason.kind).toBe('rollout');
    expect(evaluateFlag('k', CHECKOUT, { plan: 'free', userId: 'u' }).reason.kind).toBe('rollout');
    // Prototype names are not attributes.
    expect(evaluateFlag('k', CHECKOUT, { userId: 'u' }).reason.kind).toBe('rollout');
  });

  it('a rule that serves a rollout buckets by its own attribute, with the flag key in the hash', () => {
    const result = evaluateFlag('k', CHECKOUT, { plan: 'pro', userId: 'user-1' });
    const bucket = flagBucket({ flagKey: 'k', salt: '', unitId: 'user-1' });
    expect(result.reason).toEqual({ kind: 'rule-rollout', ruleIndex: 2, ruleId: 'beta-testers', bucket });
    expect(result.variant).toBe(bucket < 5000 ? 'beta' : 'off');
  });

  it('no rule matched: the rollout decides by bucket; without the unit attribute, the default with the reason', () => {
    const result = evaluateFlag('demo/flags/new-checkout', CHECKOUT, { userId: 'user-1' });
    const bucket = flagBucket({ flagKey: 'demo/flags/new-checkout', salt: 's1', unitId: 'user-1' });
    expect(result).toEqual({ variant: bucket < 1000 ? 'on' : 'off', value: { layout: bucket < 1000 ? 'new' : 'old' }, reason: { kind: 'rollout', bucket } });
    expect(evaluateFlag('k', CHECKOUT, {})).toEqual({ variant: 'off', value: { layout: 'old' }, reason: { kind: 'default', cause: 'unit-missing', attribute: 'userId' } });
    expect(evaluateFlag('k', CHECKOUT, { userId: '' }).reason).toEqual({ kind: 'default', cause: 'unit-missing', attribute: 'userId' });
    expect(evaluateFlag('k', CHECKOUT, { plan: 'pro' }).reason).toEqual({ kind: 'default', cause: 'unit-missing', attribute: 'userId', ruleIndex: 2 });
  });

  it('without a rollout, no match serves the default; a disabled flag serves the default to everyone', () => {
    const simple = flag({ type: 'flag', variants: { on: true, off: false }, defaultVariant: 'on', rules: [{ id: 'r', when: [{ attribute: 'a', op: 'equals', value: 'x' }], serve: { variant: 'off' } }] });
    expect(evaluateFlag('k', simple, {})).toEqual({ variant: 'on', value: true, reason: { kind: 'default', cause: 'no-match' } });
    expect(evaluateFlag('k', { ...simple, enabled: false }, { a: 'x' })).toEqual({ variant: 'on', value: true, reason: { kind: 'disabled' } });
  });

  it('the rollout distribution over 10,000 unit ids matches the weights within 1.5 points', () => {
    const three = flag({
      type: 'flag',
      variants: { a: 1, b: 2, c: 3 },
      defaultVariant: 'a',
      rollout: { by: 'userId', weights: [{ variant: 'a', weight: 2000 }, { variant: 'b', weight: 3000 }, { variant: 'c', weight: 5000 }] },
    });
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) counts[evaluateFlag('dist', three, { userId: `user-${i}` }).variant]! += 1;
    expect(Math.abs((counts.a ?? 0) - 2000)).toBeLessThan(150);
    expect(Math.abs((counts.b ?? 0) - 3000)).toBeLessThan(150);
    expect(Math.abs((counts.c ?? 0) - 5000)).toBeLessThan(150);
  });

  it('variantForBucket walks the weights in order; a weight of 0 gets no bucket', () => {
    const rollout = { by: 'u', weights: [{ variant: 'x', weight: 0 }, { variant: 'a', weight: 1 }, { variant: 'b', weight: 9999 }] };
    expect(variantForBucket(rollout, 0)).toBe('a');
    expect(variantForBucket(rollout, 1)).toBe('b');
    expect(variantForBucket(rollout, 9999)).toBe('b');
  });

  it('is deterministic: the same inputs give the same evaluation, whichever backend', () => {
    for (let i = 0; i < 200; i++) {
      const context = { userId: `u${i}`, plan: i % 3 === 0 ? 'pro' : 'free' };
      expect(evaluateFlag('k', CHECKOUT, context, nodeBackend)).toEqual(evaluateFlag('k', CHECKOUT, context, nobleBackend));
    }
  });
});

describe('flagBucket fast path', () => {
  it('equals SHA-256(encodeCanonical([...])) first 8 bytes mod 10000 for any strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 64 }), (flagKey, salt, unitId) => {
        const digest = createHash('sha256').update(encodeCanonical(['vcr/v1/flag-bucket', flagKey, salt, unitId])).digest();
        expect(flagBucket({ flagKey, salt, unitId })).toBe(Number(digest.readBigUInt64BE(0) % 10000n));
      }),
      { numRuns: 500 },
    );
  });
});

describe('compileFlag: the flag laid out once, evaluated many times', () => {
  const reference = (flagKey: string, salt: string, unitId: string): number => {
    const digest = createHash('sha256').update(encodeCanonical([FLAG_BUCKET_TAG, flagKey, salt, unitId])).digest();
    return Number(digest.readBigUInt64BE(0) % 10000n);
  };

  it('buckets any unit (ASCII or not, short or long, one call after another on one buffer) as the canonical encoding says', () => {
    const hasher = { flagKey: 'payments/flags/3ds', salt: 'v2' };
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 40 })), { minLength: 1, maxLength: 4 }), (units) => {
        for (const unitId of units) {
          if (!isWellFormedText(unitId)) continue;
          expect(flagBucket({ ...hasher, unitId }, nodeBackend)).toBe(reference(hasher.flagKey, hasher.salt, unitId));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('one compiled flag gives what evaluateFlag gives, for every context in turn', () => {
    const compiled = compileFlag('demo/flags/checkout', CHECKOUT);
    const contexts = fc.record({ userId: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(''), fc.string({ unit: 'binary', maxLength: 270 }), fc.integer()), plan: fc.constantFrom('free', 'internal', 'pro', undefined), country: fc.constantFrom('XX', 'DE', undefined), email: fc.constantFrom('ops@x', 'a@b', undefined) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.array(contexts, { minLength: 1, maxLength: 5 }), (list) => {
        for (const context of list) expect(compiled(context, nodeBackend)).toEqual(evaluateFlag('demo/flags/checkout', CHECKOUT, context, nobleBackend));
      }),
      { numRuns: 300 },
    );
  });

  it('compiling never throws; what evaluation refuses is refused when evaluated, as before', () => {
    const broken = { ...CHECKOUT, defaultVariant: 'missing', rules: [] } as FlagValue;
    const compiled = compileFlag('k', broken);
    expect(() => compiled({}, nobleBackend)).toThrow(/variant "missing" does not exist/);
  });
});
