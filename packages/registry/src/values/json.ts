// The JSON reader and writer of typed values (docs/values.md section 2).
//
// Our own small RFC 8259 parser rather than JSON.parse, because the replica's
// verdict must be identical everywhere and JSON.parse hides three things:
// it keeps the last of duplicate member names (another reader may keep the
// first, so one value would mean two things), it accepts escapes that make
// lone surrogates, and its recursion limit depends on the engine's stack. This
// parser is iterative (an explicit stack, so depth costs no native stack), and
// reports those three as issues on a value that otherwise parses; the caller
// decides what they mean (typed candidates are refused, opaque bytes are not
// looked at).
//
// The writer is the RFC 8785 (JCS) form: members sorted by UTF-16 code units,
// no whitespace, numbers and strings as ECMAScript serializes them.

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** One readable problem: where (`$.rules[0].id`) and what. */
export interface ValueIssue {
  path: string;
  message: string;
}

export type JsonPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$.rules[0]["odd key"]`: a JSONPath-like rendering of a path. */
export function formatPath(path: JsonPath): string {
  let out = '$';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += IDENTIFIER.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return out;
}

export type ParseJsonResult =
  | { ok: false }
  | {
      ok: true;
      value: JsonValue;
      /** Duplicate member names, `__proto__` members, lone surrogates, numbers out of range, nesting past the limit. */
      issues: ValueIssue[];
      /** Every string value of a top-level member named "type" (more than one only with duplicates). */
      topLevelTypes: string[];
    };

// Frames hold no path: a copied path per frame would cost memory quadratic in the depth
// (a 64 KiB value of "[" is 65536 levels deep). Paths are built from the stack only for an issue.
type ArrayFrame = { kind: 'array'; items: JsonValue[] };
type ObjectFrame = { kind: 'object'; members: Record<string, JsonValue>; names: Set<string>; name: string };
type Frame = ArrayFrame | ObjectFrame;

/** More than any caller reports (valueLimits.issuesMax), so the "and N more" line still shows. */
const ISSUES_RECORDED_MAX = 64;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const HEX4 = /^[0-9A-Fa-f]{4}$/;
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Parses one JSON text (RFC 8259; whitespace around it allowed). `{ ok: false }`
 * when the text is not JSON at all. Never throws, never recurses.
 */
export function parseJsonText(text: string, depthMax: number): ParseJsonResult {
  let i = 0;
  const issues: ValueIssue[] = [];
  const topLevelTypes: string[] = [];
  const stack: Frame[] = [];
  let depthReported = false;

  const skipWhitespace = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else return;
    }
  };
  /** The path of the value being read; past the depth limit, cut short (paths of issues stay small). */
  const here = (): JsonPath => {
    const shown = stack.slice(0, depthMax + 1).map((frame) => (frame.kind === 'array' ? frame.items.length : frame.name));
    return stack.length > depthMax + 1 ? [...shown, '…'] : shown;
  };
  // Every issue past the reported ones would be dropped anyway; stop recording (and building paths) there.
  const report = (message: string): void => {
    if (issues.length < ISSUES_RECORDED_MAX) issues.push({ path: formatPath(here()), message });
  };

  /** A string starting at `i` (which holds the opening quote), or undefined when malformed. */
  const readString = (): string | undefined => {
    i++;
    let out = '';
    let start = i;
    let escaped = false;
    for (;;) {
      if (i >= text.length) return undefined;
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        break;
      }
      if (c < 0x20) return undefined;
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(start, i);
      const e = text[i + 1];
      if (e === undefined) return undefined;
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!HEX4.test(hex)) return undefined;
        out += String.fromCharCode(parseInt(hex, 16));
        escaped = true;
        i += 6;
      } else {
        const simple = SIMPLE_ESCAPES[e];
        if (simple === undefined) return undefined;
        out += simple;
        i += 2;
      }
      start = i;
    }
    // The text came from a fatal UTF-8 decoder, so only \u escapes can make a lone surrogate.
    if (escaped && LONE_SURROGATE.test(out)) report('a \\u escape makes a lone surrogate (not Unicode text)');
    return out;
  };

  /** Reads `"name" :` into the object frame; false when malformed. */
  const readMemberName = (frame: ObjectFrame): boolean => {
    skipWhitespace();
    if (text[i] !== '"') return false;
    const name = readString();
    if (name === undefined) return false;
    frame.name = name;
    skipWhitespace();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };

  const openContainer = (): void => {
    if (stack.length + 1 > depthMax && !depthReported) {
      depthReported = true;
      report(`nesting deeper than ${depthMax} levels`);
    }
  };

  let result: JsonValue | undefined;
  outer: for (;;) {
    skipWhitespace();
    let value: JsonValue;
    const c = text[i];
    if (c === '{') {
      openContainer();
      const frame: ObjectFrame = { kind: 'object', members: {}, names: new Set(), name: '' };
      i++;
      skipWhitespace();
      if (text[i] === '}') {
        i++;
        value = frame.members;
      } else {
        if (!readMemberName(frame)) return { ok: false };
        stack.push(frame);
        continue outer;
      }
    } else if (c === '[') {
      openContainer();
      const frame: ArrayFrame = { kind: 'array', items: [] };
      i++;
      skipWhitespace();
      if (text[i] === ']') {
        i++;
        value = frame.items;
      } else {
        stack.push(frame);
        continue outer;
      }
    } else if (c === '"') {
      const s = readString();
      if (s === undefined) return { ok: false };
      value = s;
    } else if (c === 't' && text.startsWith('true', i)) {
      i += 4;
      value = true;
    } else if (c === 'f' && text.startsWith('false', i)) {
      i += 5;
      value = false;
    } else if (c === 'n' && text.startsWith('null', i)) {
      i += 4;
      value = null;
    } else {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (match === null) return { ok: false };
      i += match[0].length;
      value = Number(match[0]);
      if (!Number.isFinite(value)) report(`number ${match[0].slice(0, 32)} is out of range`);
    }

    // A value is complete: attach it to its container, then close every container that ends here.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        result = value;
        break outer;
      }
      if (top.kind === 'array') {
        top.items.push(value);
      } else {
        const name = top.name;
        // here() names the member being attached: the top frame still holds its name.
        if (top.names.has(name)) report('duplicate member name');
        else if (name === '__proto__') report('member name __proto__ is not allowed');
        else top.members[name] = value;
        top.names.add(name);
        if (stack.length === 1 && name === 'type' && typeof value === 'string') topLevelTypes.push(value);
      }
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        if (top.kind === 'object' && !readMemberName(top)) return { ok: false };
        continue outer;
      }
      if (text[i] !== (top.kind === 'array' ? ']' : '}')) return { ok: false };
      i++;
      stack.pop();
      value = top.kind === 'array' ? top.items : top.members;
    }
  }
  skipWhitespace();
  if (i !== text.length) return { ok: false };
  return { ok: true, value: result, issues, topLevelTypes };
}

/**
 * The first rule a programmatic value breaks to be JSON within `depthMax`
 * (plain objects and arrays, finite numbers, well-formed strings, no
 * `__proto__` member), or undefined. Iterative, so it never overflows the stack.
 */
export function checkJsonValue(value: unknown, depthMax: number, at: JsonPath = []): ValueIssue | undefined {
  const work: { value: unknown; at: JsonPath; depth: number }[] = [{ value, at, depth: at.length }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const v = item.value;
    const where = formatPath(item.at);
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path: where, message: 'not a finite number' };
      continue;
    }
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return { path: where, message: 'string has a lone surrogate' };
      continue;
    }
    if (typeof v !== 'object') return { path: where, message: `not JSON (${typeof v})` };
    if (item.depth + 1 > depthMax) return { path: where, message: `nesting deeper than ${depthMax} levels` };
    if (Array.isArray(v)) {
      v.forEach((child: unknown, index) => work.push({ value: child, at: [...item.at, index], depth: item.depth + 1 }));
      continue;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return { path: where, message: 'not a plain object' };
    for (const [name, child] of Object.entries(v as Record<string, unknown>)) {
      if (name === '__proto__') return { path: where, message: 'member name __proto__ is not allowed' };
      if (LONE_SURROGATE.test(name)) return { path: where, message: 'member name has a lone surrogate' };
      work.push({ value: child, at: [...item.at, name], depth: item.depth + 1 });
    }
  }
  return undefined;
}

/** Code-unit order, as RFC 8785 section 3.2.3 sorts member names. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The RFC 8785 (JCS) text of a value that `checkJsonValue` accepts. Iterative.
 * Throws TypeError on anything else (a bug in the caller).
 */
export function canonicalJson(value: JsonValue): string {
  const problem = checkJsonValue(value, Number.MAX_SAFE_INTEGER);
  if (problem !== undefined) throw new TypeError(`canonical JSON: ${problem.path}: ${problem.message}`);
  // A work list (last first) of values to write and punctuation to emit between them.
  type Work = { value: JsonValue } | { text: string };
  const work: Work[] = [{ value }];
  let out = '';
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    if ('text' in item) {
      out += item.text;
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      // ECMAScript's Number::toString and JSON string quoting are what RFC 8785 section 3.2.2 prescribes.
      out += JSON.stringify(v);
      continue;
    }
    const parts: Work[] = [];
    if (Array.isArray(v)) {
      const items = v as readonly JsonValue[];
      parts.push({ text: '[' });
      items.forEach((child, index) => parts.push(...(index > 0 ? [{ text: ',' }] : []), { value: child }));
      parts.push({ text: ']' });
    } else {
      const members = v as { readonly [key: string]: JsonValue };
      parts.push({ text: '{' });
      Object.keys(members)
        .sort(compareCodeUnits)
        .forEach((name, index) => parts.push({ text: `${index > 0 ? ',' : ''}${JSON.stringify(name)}:` }, { value: members[name] as JsonValue }));
      parts.push({ text: '}' });
    }
    for (let k = parts.length - 1; k >= 0; k--) work.push(parts[k] as Work);
  }
  return out;
}
