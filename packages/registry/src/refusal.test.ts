import { describe, expect, it } from 'vitest';
import { type CanonicalValue, encodeCanonical, utf8 } from '@vcr/proofs';
import { registryLimits } from './limits';
import { decodeResult, encodeResult } from './ops';
import { boundDetail, issueDetail, valueRefusal } from './refusal';

describe('refusal details: part of the certified result', () => {
  it('a refusal with a detail round-trips; one without keeps its old bytes', () => {
    const refused = { ok: false, error: 'invalid-value', detail: 'variants: required' } as const;
    expect(decodeResult(encodeResult(refused))).toEqual({ ok: true, result: refused });
    expect(encodeResult({ ok: false, error: 'absent' })).toEqual(encodeCanonical({ ok: false, error: 'absent' }));
  });

  it('decodeResult refuses a detail that is empty, too long, not text, or beside an extra field (the canonical codec refuses lone surrogates)', () => {
    const over = 'x'.repeat(registryLimits.resultDetailCharsMax + 1);
    const cases: { [field: string]: CanonicalValue }[] = [
      { ok: false, error: 'forbidden', detail: '' },
      { ok: false, error: 'forbidden', detail: over },
      { ok: false, error: 'forbidden', detail: 7n },
      { ok: false, error: 'forbidden', detail: 'x', extra: 'y' },
      { ok: false, error: 'teapot', detail: 'x' },
    ];
    for (const bad of cases) {
      expect(decodeResult(encodeCanonical(bad)), JSON.stringify(String(bad.detail).slice(0, 20))).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('encodeResult will not certify an unbounded detail; boundDetail cuts it, never inside a surrogate pair', () => {
    const max = registryLimits.resultDetailCharsMax;
    expect(() => encodeResult({ ok: false, error: 'forbidden', detail: 'x'.repeat(max + 1) })).toThrow(/bounded/);
    expect(boundDetail('x'.repeat(max))).toBe('x'.repeat(max));
    expect(boundDetail('x'.repeat(max + 10))).toBe(`${'x'.repeat(max - 1)}…`);
    const pairAtCut = `${'x'.repeat(max - 2)}😀tail`;
    const cut = boundDetail(pairAtCut);
    expect(cut).toBe(`${'x'.repeat(max - 2)}…`);
    expect(decodeResult(encodeResult({ ok: false, error: 'forbidden', detail: cut })).ok).toBe(true);
  });

  it('value refusals: invalid-value with the first issue, before wrong-type; a fitting value passes', () => {
    expect(valueRefusal(utf8('{"type":"flag","defaultVariant":"on"}'), 'flag')).toEqual({ error: 'invalid-value', detail: 'variants: required' });
    // Invalid wins even where the namespace takes another type: the value breaks its own type's rules.
    expect(valueRefusal(utf8('{"type":"pins","pins":[]}'), 'flag')).toEqual({ error: 'invalid-value', detail: 'pins: must have at least 1 item (and 2 more)' });
    expect(valueRefusal(utf8('{"type":"json","value":1}'), 'flag')).toEqual({ error: 'wrong-type', detail: 'the namespace takes flag, the value is json' });
    expect(valueRefusal(utf8('{"type":"json","value":1}'))).toBeUndefined();
    expect(valueRefusal(utf8('{"type":"flag","variants":{"on":true},"defaultVariant":"on"}'), 'flag')).toBeUndefined();
    expect(issueDetail([])).toBe('invalid');
  });

  it('issue messages come from zod issue codes, not zod prose: the same bytes give the same detail', () => {
    const cases: [string, string][] = [
      ['{"type":"endpoint","url":"https://a.example","region":"eu","weight":10001}', 'weight: must be at most 10000'],
      ['{"type":"endpoint","url":"https://a.example","region":"eu","weight":1.5}', 'weight: expected integer'],
      ['{"type":"flag","variants":{"on":true},"defaultVariant":"on","rules":[{"id":"r","when":[{"attribute":"a","op":"zz","value":"b"}],"serve":{"variant":"on"}}]}', 'rules[0].when[0].op: matches none of the allowed forms'],
      ['{"type":"json","value":1,"a":1,"b":2}', '$: unknown fields "a", "b"'],
    ];
    for (const [text, detail] of cases) expect(valueRefusal(utf8(text))?.detail).toBe(detail);
  });
});
