// Which stored values are typed, and whether a typed value is well-formed
// (docs/values.md section 2). The replica's executor calls parseTypedValue on
// every put and cas, so the verdict must be the same on every replica: it
// depends only on the bytes (no clock, no randomness, no locale, no engine
// limits), and it never throws. Issue messages are ours (issue-text.ts), not
// zod's prose, because a refusal's result names the first one.

import type { z } from 'zod';
import { assertNever, utf8 } from '@vcr/proofs';
import { type JsonPath, type JsonValue, type ValueIssue, canonicalJson, formatPath, parseJsonText } from './json';
import { stableIssueMessage } from './issue-text';
import { valueLimits } from '../limits';
import { TYPED_VALUE_TYPES, type TypedValue, type TypedValueOf, type TypedValueType, typedValueSchemas } from './schemas';

export type ParsedValue =
  /** Not a typed value: stored and served as bytes, nobody looks inside. */
  | { kind: 'opaque' }
  | { kind: 'typed'; value: TypedValue }
  /** Claims a type (top-level "type" is one of the four names) but breaks its rules: refused on write. */
  | { kind: 'invalid'; type: TypedValueType; issues: ValueIssue[] };

// ignoreBOM keeps a leading U+FEFF in the text, so we see it and can refuse it.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** True when the first byte after optional JSON whitespace (and a UTF-8 BOM) is "{": the cheap test before decoding. */
function mayBeObject(bytes: Uint8Array): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x7b;
}

function isTypeName(name: string): name is TypedValueType {
  return (TYPED_VALUE_TYPES as readonly string[]).includes(name);
}

function zodIssues(error: z.ZodError): ValueIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path.filter((p): p is string | number => typeof p !== 'symbol') as JsonPath), message: issue.message }));
}

function capIssues(issues: ValueIssue[]): ValueIssue[] {
  if (issues.length <= valueLimits.issuesMax) return issues;
  const kept = issues.slice(0, valueLimits.issuesMax - 1);
  kept.push({ path: '$', message: `and ${issues.length - kept.length} more issues` });
  return kept;
}

/**
 * Classifies stored bytes. Typed when the bytes are UTF-8 JSON text of an
 * object with a top-level "type" member equal to "flag", "pins", "endpoint"
 * or "json" (any occurrence, so a duplicate "type" cannot hide a claim), and
 * that value is well-formed: no BOM, no duplicate member names, no lone
 * surrogates, finite numbers, depth and size within limits, and the type's
 * schema holds. Anything else that claims a type is invalid; all other bytes
 * are opaque. Never throws.
 */
export function parseTypedValue(untrustedBytes: Uint8Array): ParsedValue {
  if (!mayBeObject(untrustedBytes)) return { kind: 'opaque' };
  let text: string;
  try {
    text = utf8Decoder.decode(untrustedBytes);
  } catch {
    return { kind: 'opaque' };
  }
  const hasBom = text.startsWith('\uFEFF');
  const parsed = parseJsonText(hasBom ? text.slice(1) : text, valueLimits.jsonDepthMax);
  if (!parsed.ok) return { kind: 'opaque' };
  const type = parsed.topLevelTypes.find(isTypeName);
  if (type === undefined) return { kind: 'opaque' };

  const issues: ValueIssue[] = [];
  if (hasBom) issues.push({ path: '$', message: 'a typed value must not start with a byte order mark' });
  if (untrustedBytes.length > valueLimits.typedValueBytesMax) issues.push({ path: '$', message: `larger than ${valueLimits.typedValueBytesMax} bytes` });
  issues.push(...parsed.issues);
  if (issues.length > 0) return { kind: 'invalid', type, issues: capIssues(issues) };

  const checked = typedValueSchemas[type].safeParse(parsed.value, { error: stableIssueMessage });
  if (!checked.success) return { kind: 'invalid', type, issues: capIssues(zodIssues(checked.error)) };
  return { kind: 'typed', value: checked.data };
}

export type ParseTypedValueOfResult<T extends TypedValueType> =
  | { ok: true; value: TypedValueOf<T> }
  | { ok: false; reason: 'opaque' }
  | { ok: false; reason: 'other-type'; type: TypedValueType }
  | { ok: false; reason: 'invalid'; issues: ValueIssue[] };

/** For a reader that expects one type at a key (a service reading a flag): anything else is a typed failure. */
export function parseTypedValueOf<T extends TypedValueType>(untrustedBytes: Uint8Array, type: T): ParseTypedValueOfResult<T> {
  return typedValueOf(parseTypedValue(untrustedBytes), type);
}

/** parseTypedValueOf for bytes already classified (a local view parses each value once, when it arrives). */
export function typedValueOf<T extends TypedValueType>(parsed: ParsedValue, type: T): ParseTypedValueOfResult<T> {
  switch (parsed.kind) {
    case 'opaque':
      return { ok: false, reason: 'opaque' };
    case 'invalid':
      return parsed.type === type ? { ok: false, reason: 'invalid', issues: parsed.issues } : { ok: false, reason: 'other-type', type: parsed.type };
    case 'typed':
      return parsed.value.type === type ? { ok: true, value: parsed.value as TypedValueOf<T> } : { ok: false, reason: 'other-type', type: parsed.value.type };
    default:
      return assertNever(parsed, 'parsed value');
  }
}

/** Checks a value built in code; the issues, or an empty list when it would be accepted. */
export function checkTypedValue(value: TypedValue): ValueIssue[] {
  const type: unknown = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !isTypeName(type)) return [{ path: '$.type', message: `type must be one of ${TYPED_VALUE_TYPES.join(', ')}` }];
  const checked = typedValueSchemas[type].safeParse(value, { error: stableIssueMessage });
  return checked.success ? [] : capIssues(zodIssues(checked.error));
}

/**
 * The bytes of a typed value: UTF-8 of its RFC 8785 (JCS) JSON text, so one
 * value has one encoding. Refuses (RangeError, with the issues) a value that
 * parseTypedValue would not read back as the same typed value, so a client
 * never signs a write bound to be refused.
 */
export function encodeTypedValue(value: TypedValue): Uint8Array {
  const issues = checkTypedValue(value);
  if (issues.length > 0) throw new RangeError(`typed value: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const bytes = utf8(canonicalJson(value as JsonValue));
  const readBack = parseTypedValue(bytes);
  if (readBack.kind !== 'typed') {
    const why = readBack.kind === 'invalid' ? readBack.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : 'not typed';
    throw new RangeError(`typed value: ${why}`);
  }
  return bytes;
}
