import { describe, expect, it } from 'vitest';
import { utf8 } from '@vcr/proofs';
import { encodeTypedValue, parseTypedValue, parseTypedValueOf } from './typed-value';
import type { TypedValue } from './schemas';

const PIN_A = 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=';
const PIN_B = 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=';
const FLAG = { type: 'flag', variants: { on: true, off: false }, defaultVariant: 'off', rollout: { by: 'userId', weights: [{ variant: 'on', weight: 2500 }, { variant: 'off', weight: 7500 }] } };
const PINS = { type: 'pins', pins: [PIN_A], backupPins: [PIN_B], expiresAtMs: 1_800_000_000_000 };
const ENDPOINT = { type: 'endpoint', url: 'https://a.example', region: 'eu', weight: 1 };
const JSONV = { type: 'json', value: { retries: 3, backoffMs: [100, 200], on: true, none: null, ratio: 0.5 } };

const parse = (text: string) => parseTypedValue(utf8(text));
const issuesOf = (text: string) => {
  const parsed = parse(text);
  if (parsed.kind !== 'invalid') throw new Error(`expected invalid, got ${parsed.kind}`);
  return parsed.issues;
};
const json = (v: unknown) => JSON.stringify(v);

/** [what, value, path of the expected issue, words of its message] */
const REFUSED: [string, unknown, string, RegExp][] = [
  ['flag: unknown field', { ...FLAG, color: 'red' }, '$', /unknown field/],
  ['flag: no variants', { ...FLAG, variants: {} }, '$.variants', /1 to 32 variants/],
  ['flag: 33 variants', { ...FLAG, variants: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`v${i}`, i]).concat([['on', 1], ['off', 0]])) }, '$.variants', /1 to 32 variants/],
  ['flag: variant name with a space', { ...FLAG, variants: { 'o n': 1, on: true, off: false } }, '$.variants["o n"]', /^key must be ASCII/],
  ['flag: default not a variant', { ...FLAG, defaultVariant: 'maybe' }, '$.defaultVariant', /not one of the flag's variants/],
  ['flag: weights sum to 10001', { ...FLAG, rollout: { by: 'userId', weights: [{ variant: 'on', weight: 2501 }, { variant: 'off', weight: 7500 }] } }, '$.rollout.weights', /sum to 10001 basis points/],
  ['flag: weights as percentages', { ...FLAG, rollout: { by: 'userId', weights: [{ variant: 'on', weight: 25 }, { variant: 'off', weight: 75 }] } }, '$.rollout.weights', /exactly 10000/],
  ['flag: fractional weight', { ...FLAG, rollout: { by: 'userId', weights: [{ variant: 'on', weight: 2500.5 }, { variant: 'off', weight: 7499.5 }] } }, '$.rollout.weights[0].weight', /int/],
  ['flag: a variant twice in weights', { ...FLAG, rollout: { by: 'userId', weights: [{ variant: 'on', weight: 5000 }, { variant: 'on', weight: 5000 }] } }, '$.rollout.weights', /listed twice/],
  ['flag: rollout to an unknown variant', { ...FLAG, rollout: { by: 'userId', weights: [{ variant: 'x', weight: 10000 }] } }, '$.rollout.weights[0].variant', /not one of/],
  ['flag: rule with no conditions', { ...FLAG, rules: [{ id: 'r', when: [], serve: { variant: 'on' } }] }, '$.rules[0].when', /./],
  ['flag: rule serving both', { ...FLAG, rules: [{ id: 'r', when: [{ attribute: 'a', op: 'equals', value: 'b' }], serve: { variant: 'on', rollout: FLAG.rollout } }] }, '$.rules[0].serve', /exactly one/],
  ['flag: rule serving nothing', { ...FLAG, rules: [{ id: 'r', when: [{ attribute: 'a', op: 'equals', value: 'b' }], serve: {} }] }, '$.rules[0].serve', /exactly one/],
  ['flag: unknown condition op', { ...FLAG, rules: [{ id: 'r', when: [{ attribute: 'a', op: 'regex', value: '.*' }], serve: { variant: 'on' } }] }, '$.rules[0].when[0].op', /./],
  ['flag: in with no values', { ...FLAG, rules: [{ id: 'r', when: [{ attribute: 'a', op: 'in', values: [] }], serve: { variant: 'on' } }] }, '$.rules[0].when[0].values', /./],
  ['flag: duplicate rule ids', { ...FLAG, rules: [0, 1].map(() => ({ id: 'r', when: [{ attribute: 'a', op: 'prefix', value: 'b' }], serve: { variant: 'on' } })) }, '$.rules', /used twice/],
  ['flag: 65 rules', { ...FLAG, rules: Array.from({ length: 65 }, (_, i) => ({ id: `r${i}`, when: [{ attribute: 'a', op: 'equals', value: 'b' }], serve: { variant: 'on' } })) }, '$.rules', /./],
  ['flag: enabled as a string', { ...FLAG, enabled: 'yes' }, '$.enabled', /boolean/],
  ['pins: backup equals a primary', { ...PINS, backupPins: [PIN_A] }, '$.backupPins[0]', /differ from every primary/],
  ['pins: no backup', { ...PINS, backupPins: [] }, '$.backupPins', /./],
  ['pins: no primary', { ...PINS, pins: [] }, '$.pins', /./],
  ['pins: a pin listed twice', { ...PINS, pins: [PIN_A, PIN_A] }, '$.pins', /listed twice/],
  ['pins: unpadded base64', { ...PINS, pins: [PIN_A.slice(0, 43)] }, '$.pins[0]', /44-character/],
  ['pins: base64url alphabet', { ...PINS, pins: ['-_' + PIN_A.slice(2)] }, '$.pins[0]', /canonical padded base64/],
  ['pins: expiry as ISO text', { ...PINS, expiresAtMs: '2027-01-01T00:00:00Z' }, '$.expiresAtMs', /number/],
  ['pins: expiry in seconds, fractional', { ...PINS, expiresAtMs: 1.8e9 + 0.5 }, '$.expiresAtMs', /int/],
  ['pins: expiry past the Date range', { ...PINS, expiresAtMs: 8.64e15 + 1 }, '$.expiresAtMs', /./],
  ['pins: includeSubdomains without hostnames', { ...PINS, includeSubdomains: true }, '$.includeSubdomains', /needs hostnames/],
  ['pins: uppercase hostname', { ...PINS, hostnames: ['API.example.com'] }, '$.hostnames[0]', /lowercase DNS name/],
  ['endpoint: http without allowInsecure', { ...ENDPOINT, url: 'http://a.example' }, '$.url', /allowInsecure/],
  ['endpoint: ftp', { ...ENDPOINT, url: 'ftp://a.example' }, '$.url', /scheme/],
  ['endpoint: userinfo', { ...ENDPOINT, url: 'https://user:pw@a.example' }, '$.url', /./],
  ['endpoint: fragment', { ...ENDPOINT, url: 'https://a.example/#x' }, '$.url', /path/],
  ['endpoint: port 0', { ...ENDPOINT, url: 'https://a.example:0' }, '$.url', /port/],
  ['endpoint: port 65536', { ...ENDPOINT, url: 'https://a.example:65536' }, '$.url', /port/],
  ['endpoint: uppercase host', { ...ENDPOINT, url: 'https://A.example' }, '$.url', /host/],
  ['endpoint: weight above 10000', { ...ENDPOINT, weight: 10001 }, '$.weight', /./],
  ['endpoint: weight as text', { ...ENDPOINT, weight: '1' }, '$.weight', /./],
  ['endpoint: empty region', { ...ENDPOINT, region: '' }, '$.region', /./],
  ['endpoint: metadata value not a string', { ...ENDPOINT, metadata: { zone: 1 } }, '$.metadata.zone', /string/],
  ['json: no value', { type: 'json' }, '$.value', /required/],
  ['json: extra field', { ...JSONV, schema: 'x' }, '$', /unknown field/],
];

describe('parseTypedValue: refusals name the field and the rule', () => {
  it.each(REFUSED)('%s', (_, value, path, message) => {
    const issues = issuesOf(json(value));
    const issue = issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
  });
});

describe('parseTypedValue: what is typed, what is opaque', () => {
  it.each([
    ['flag', FLAG],
    ['pins', { ...PINS, backupPins: [PIN_B, 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M='], hostnames: ['api.example.com'], includeSubdomains: true, description: 'edge' }],
    ['endpoint', { ...ENDPOINT, url: 'https://[::1]:8443/a/b;c=d/%20e', metadata: { zone: 'a' }, description: 'x' }],
    ['endpoint', { ...ENDPOINT, url: 'http://10.0.0.1', allowInsecure: true }],
    ['json', JSONV],
    ['json', { type: 'json', value: null }],
  ])('accepts a valid %s, parsed to exactly its fields', (type, value) => {
    expect(parse(json(value))).toEqual({ kind: 'typed', value });
    expect(parse(`  \n${JSON.stringify(value, null, 2)}\n`)).toEqual({ kind: 'typed', value });
    expect(parseTypedValueOf(utf8(json(value)), type as TypedValue['type'])).toEqual({ ok: true, value });
  });

  it.each([
    ['bytes that are not UTF-8', Uint8Array.of(0x7b, 0xff, 0x7d)],
    ['text that is not JSON', utf8('{"type":"flag",}')],
    ['a JSON array', utf8('[{"type":"flag"}]')],
    ['a JSON string', utf8('"flag"')],
    ['an object without type', utf8('{"enabled":false}')],
    ['a type of another name', utf8('{"type":"banner"}')],
    ['a type in another case', utf8('{"type":"Flag"}')],
    ['a type that is not a string', utf8('{"type":1}')],
    ['a nested type only', utf8('{"meta":{"type":"flag"}}')],
    ['empty bytes', new Uint8Array()],
  ])('%s is opaque', (_, bytes) => {
    expect(parseTypedValue(bytes)).toEqual({ kind: 'opaque' });
  });

  it('a value that claims a type is checked however it hides the claim', () => {
    // A duplicate "type": one reader keeps the first, another the last; either way it is refused.
    expect(parse('{"type":"banner","type":"flag"}')).toMatchObject({ kind: 'invalid', type: 'flag' });
    expect(issuesOf('{"type":"json","value":1,"value":2}')).toEqual([{ path: '$.value', message: 'duplicate member name' }]);
    expect(issuesOf(`\uFEFF${json(JSONV)}`)[0]?.message).toMatch(/byte order mark/);
    expect(issuesOf('{"type":"json","value":"\\ud800"}')[0]?.message).toMatch(/lone surrogate/);
    expect(issuesOf('{"type":"json","value":1e400}')[0]?.message).toMatch(/out of range/);
    expect(issuesOf('{"type":"json","value":{"__proto__":1}}')[0]?.message).toMatch(/__proto__/);
  });

  it('nesting is bounded (16 levels) and deep input neither recurses nor throws', () => {
    expect(parse(`{"type":"json","value":${'['.repeat(15)}${']'.repeat(15)}}`).kind).toBe('typed');
    expect(issuesOf(`{"type":"json","value":${'['.repeat(16)}${']'.repeat(16)}}`)[0]?.message).toMatch(/deeper than 16/);
    const deep = `{"type":"json","value":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    expect(parse(deep).kind).toBe('invalid');
    expect(parse(`{"x":${'['.repeat(30_000)}`).kind).toBe('opaque');
  });

  it('the issue list is bounded', () => {
    const many = { type: 'flag', variants: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`-${i}`, i])), defaultVariant: 'x' };
    const issues = issuesOf(json(many));
    expect(issues.length).toBe(20);
    expect(issues[19]?.message).toMatch(/more issues/);
  });

  it('parseTypedValueOf names what the reader got instead', () => {
    expect(parseTypedValueOf(utf8(json(PINS)), 'flag')).toEqual({ ok: false, reason: 'other-type', type: 'pins' });
    expect(parseTypedValueOf(utf8('plain'), 'flag')).toEqual({ ok: false, reason: 'opaque' });
    expect(parseTypedValueOf(utf8('{"type":"flag"}'), 'flag')).toMatchObject({ ok: false, reason: 'invalid' });
  });
});

describe('encodeTypedValue', () => {
  it('writes RFC 8785 JSON (sorted members, no whitespace) that parses back to the same value', () => {
    const bytes = encodeTypedValue(JSONV as TypedValue);
    expect(new TextDecoder().decode(bytes)).toBe('{"type":"json","value":{"backoffMs":[100,200],"none":null,"on":true,"ratio":0.5,"retries":3}}');
    for (const value of [FLAG, PINS, ENDPOINT, JSONV] as TypedValue[]) expect(parseTypedValue(encodeTypedValue(value))).toEqual({ kind: 'typed', value });
  });

  it('one value, one encoding: member order in the input does not matter', () => {
    const reordered = { weight: 1, region: 'eu', url: 'https://a.example', type: 'endpoint' } as TypedValue;
    expect(encodeTypedValue(reordered)).toEqual(encodeTypedValue(ENDPOINT as TypedValue));
  });

  it('refuses (RangeError, with the issues) a value the replica would refuse', () => {
    expect(() => encodeTypedValue({ ...PINS, backupPins: [PIN_A] } as TypedValue)).toThrow(/backupPins\[0\]: a backup pin must differ/);
    expect(() => encodeTypedValue({ type: 'json', value: Number.NaN } as TypedValue)).toThrow(RangeError);
    expect(() => encodeTypedValue({ type: 'json', value: { a: undefined } } as unknown as TypedValue)).toThrow(RangeError);
  });
});

describe('determinism', () => {
  it('the verdict depends on the bytes only: the same bytes, the same result, every time', () => {
    const samples = [json(FLAG), json({ ...FLAG, defaultVariant: 'x' }), '{"type":"json","value":1,"value":2}', 'opaque'];
    for (const sample of samples) expect(parse(sample)).toEqual(parse(sample));
  });
});
