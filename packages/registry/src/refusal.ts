// The detail of a refused request (docs/registry.md section 5): which rule,
// which field. It is part of the result, so it is certified with the block and
// every replica must build the same text from the same state and request:
// built only from the request's bytes, the state's records and the
// deterministic issue messages (values/issue-text.ts), and bounded so a long
// key or field name cannot grow every reply cache entry and log leaf.

import { isWellFormedText } from '@vcr/proofs';
import { registryLimits } from './limits';
import type { RegistryErrorCode, RegistryResult } from './ops';
import { parseTypedValue, type ParsedValue } from './values/typed-value';
import type { ValueIssue } from './values/json';
import type { TypedValueType } from './values/schemas';

/** Cuts `text` to the detail bound, never inside a surrogate pair, marking the cut. */
export function boundDetail(text: string): string {
  const max = registryLimits.resultDetailCharsMax;
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** True when `detail` is one this package could have built: decoders refuse anything else. */
export function isValidDetail(untrustedDetail: unknown): untrustedDetail is string {
  return typeof untrustedDetail === 'string' && untrustedDetail.length > 0 && untrustedDetail.length <= registryLimits.resultDetailCharsMax && isWellFormedText(untrustedDetail);
}

/** A refusal with its detail, bounded. */
export function refusal(error: RegistryErrorCode, detail: string): Extract<RegistryResult, { ok: false }> {
  return { ok: false, error, detail: boundDetail(detail) };
}

/** `variants` for `$.variants`; the root stays `$`. */
function fieldOf(path: string): string {
  return path.startsWith('$.') ? path.slice(2) : path;
}

/** The first issue as `field: message`, and how many more there are. */
export function issueDetail(issues: readonly ValueIssue[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${fieldOf(first.path)}: ${first.message}${more}`;
}

export type ValueRefusal = { error: 'invalid-value' | 'wrong-type'; detail: string };

function typeOf(parsed: ParsedValue): TypedValueType | 'opaque bytes' {
  if (parsed.kind === 'opaque') return 'opaque bytes';
  return parsed.kind === 'typed' ? parsed.value.type : parsed.type;
}

/**
 * Why a put or cas value is refused, if it is: `invalid-value` when it claims
 * a typed value type and breaks that type's rules (docs/values.md), checked
 * first because it holds in every namespace; then `wrong-type` when the
 * namespace takes one type (`expected`, absent for `any`) and the value is
 * another one or opaque bytes.
 */
export function valueRefusal(value: Uint8Array, expected?: TypedValueType): ValueRefusal | undefined {
  const parsed = parseTypedValue(value);
  if (parsed.kind === 'invalid') return { error: 'invalid-value', detail: issueDetail(parsed.issues) };
  if (expected === undefined) return undefined;
  const actual = typeOf(parsed);
  if (actual === expected) return undefined;
  return { error: 'wrong-type', detail: `the namespace takes ${expected}, the value is ${actual}` };
}
