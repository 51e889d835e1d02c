import { describe, expect, it } from 'vitest';
import type { BlockHeader } from '@vcr/proofs';
import { nobleBackend, utf8 } from '@vcr/proofs';
import { encodeTypedValue, evaluateFlag, type FlagValue } from '@vcr/registry';
import type { VerifiedChange } from './verify';
import { advanceEntries, type ViewEntry, viewEntryOf } from './view-state';

const head = (logSize: bigint) => ({ logSize }) as BlockHeader;
const change = (key: string, logIndex: bigint, op: 'put' | 'delete' = 'put'): VerifiedChange => ({
  key, op, value: op === 'put' ? utf8(`v${logIndex}`) : undefined, revision: op === 'put' ? 2n : 0n, height: 1n, logIndex, timestampMs: 0n, clientId: 'c', requestId: 1n,
});
const base = () => new Map<string, ViewEntry>([['p/a', viewEntryOf('p/a', utf8('a'), 1n)], ['p/b', viewEntryOf('p/b', utf8('b'), 1n)]]);
const input = { prefix: 'p/', windowStart: 10n, baseChanges: 5n, floorOf: () => 0n };

describe('advanceEntries (docs/merkle-map.md section 8)', () => {
  it('applies a change set whose counts come out, and names the changed keys', () => {
    const entries = base();
    const r = advanceEntries(entries, { ...input, changes: [change('p/a', 10n), change('p/c', 11n), change('p/b', 12n, 'delete')], head: head(13n), counts: { keys: 2n, changes: 8n } });
    expect(r).toEqual({ ok: true, value: ['p/a', 'p/c', 'p/b'] });
    expect([...entries.keys()].sort()).toEqual(['p/a', 'p/c']);
  });

  it('refuses a set with a change left out, and changes nothing', () => {
    const entries = base();
    const r = advanceEntries(entries, { ...input, changes: [change('p/a', 10n)], head: head(13n), counts: { keys: 2n, changes: 7n } });
    expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/left out/) });
    expect(new TextDecoder().decode(entries.get('p/a')?.value)).toBe('a');
  });

  it('refuses changes out of order or outside the window, and undoes what it applied', () => {
    const entries = base();
    const reordered = advanceEntries(entries, { ...input, changes: [change('p/c', 11n), change('p/a', 10n)], head: head(13n), counts: { keys: 3n, changes: 7n } });
    expect(reordered).toMatchObject({ ok: false, detail: expect.stringMatching(/order/) });
    expect([...entries.keys()].sort()).toEqual(['p/a', 'p/b']);
    const outside = advanceEntries(entries, { ...input, changes: [change('p/c', 13n)], head: head(13n), counts: { keys: 3n, changes: 6n } });
    expect(outside).toMatchObject({ ok: false, detail: expect.stringMatching(/outside the window/) });
    expect(advanceEntries(entries, { ...input, changes: [], head: head(9n), counts: { keys: 2n, changes: 5n } })).toMatchObject({ ok: false, detail: expect.stringMatching(/backwards/) });
  });

  it('refuses a key count that does not match the index (a key left out of the load)', () => {
    const entries = base();
    expect(advanceEntries(entries, { ...input, changes: [], head: head(10n), counts: { keys: 3n, changes: 5n } })).toMatchObject({ ok: false, detail: expect.stringMatching(/keys were left out/) });
  });

  it('skips changes a load page already reflects (before its log size)', () => {
    const entries = base();
    const r = advanceEntries(entries, { ...input, floorOf: (k) => (k === 'p/a' ? 11n : 0n), changes: [change('p/a', 10n), change('p/b', 11n)], head: head(13n), counts: { keys: 2n, changes: 7n } });
    expect(r).toEqual({ ok: true, value: ['p/b'] });
    expect(new TextDecoder().decode(entries.get('p/a')?.value)).toBe('a');
  });
});

describe('view entries', () => {
  const flag: FlagValue = { type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off', rollout: { by: 'userId', weights: [{ variant: 'on', weight: 5_000 }, { variant: 'off', weight: 5_000 }] } };

  it('a flag is compiled when its entry is made (loaded or changed), not when it is evaluated; other values are not', () => {
    const entries = base();
    const flagChange: VerifiedChange = { ...change('p/f', 10n), value: encodeTypedValue(flag) };
    expect(advanceEntries(entries, { ...input, changes: [flagChange], head: head(13n), counts: { keys: 3n, changes: 6n } })).toEqual({ ok: true, value: ['p/f'] });
    const compiled = entries.get('p/f')?.flag;
    expect(compiled).toBeTypeOf('function');
    for (const userId of ['u1', 'u2', 'u3']) expect(compiled?.({ userId }, nobleBackend)).toEqual(evaluateFlag('p/f', flag, { userId }, nobleBackend));
    expect(entries.get('p/a')?.flag).toBeUndefined();
    expect(viewEntryOf('p/g', utf8(JSON.stringify({ ...flag, defaultVariant: 'missing' })), 1n)).toMatchObject({ parsed: { kind: 'invalid' }, flag: undefined });
  });
});
