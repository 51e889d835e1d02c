// Issue messages built from zod's issue codes and their fields, not zod's
// English text. A refused write's result names its first issue (docs/values.md
// section 2), and that result is certified: every replica must produce the
// same bytes. Zod's default messages are prose that a minor release may
// reword; its issue codes and their fields are its API. Messages that a
// schema sets itself (a regex's `message`, a refinement's `addIssue`) are
// ours and take precedence over this map, as zod gives schema-level messages
// precedence over a per-parse error map.

import type { z } from 'zod';

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

function bound(origin: string, n: number | bigint, exact: boolean | undefined, inclusive: boolean | undefined, side: 'least' | 'most'): string {
  const one = n === 1 || n === 1n;
  const unit = origin === 'string' ? (one ? ' character' : ' characters') : origin === 'array' || origin === 'set' ? (one ? ' item' : ' items') : '';
  if (exact === true) return `must have exactly ${n}${unit}`;
  if (inclusive === false) return side === 'least' ? `must be more than ${n}${unit}` : `must be less than ${n}${unit}`;
  return `must have at ${side} ${n}${unit}`;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The stable message of one zod issue; pass it as the per-parse `error` option of safeParse. */
export function stableIssueMessage(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // Zod reports a missing member as an invalid_type with no input.
      return issue.input === undefined ? 'required' : `expected ${issue.expected === 'int' ? 'integer' : issue.expected}`;
    case 'too_small':
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') return issue.inclusive === false ? `must be more than ${issue.minimum}` : `must be at least ${issue.minimum}`;
      return bound(issue.origin, issue.minimum, issue.exact, issue.inclusive, 'least');
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') return issue.inclusive === false ? `must be less than ${issue.maximum}` : `must be at most ${issue.maximum}`;
      return bound(issue.origin, issue.maximum, issue.exact, issue.inclusive, 'most');
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map(describe).join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed forms';
    case 'invalid_format':
      return `not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_key':
      // The nested issues were finalized with this same map, so their messages are stable too.
      // The path already names the key.
      return `key ${issue.issues[0]?.message ?? 'is invalid'}`;
    case 'invalid_element':
      return 'has an invalid element';
    case 'custom':
      return issue.message ?? 'invalid';
    default:
      return 'invalid';
  }
}
