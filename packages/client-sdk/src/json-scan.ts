// A bounded scan of an answer's bytes before JSON.parse. V8's parser builds
// whatever it is given: 8 MB of nested arrays costs hundreds of MiB, and so
// do millions of tiny elements. One pass over the bytes, no allocation,
// refuses both before anything is built. It does not validate JSON (the
// parser does that); it only counts brackets and commas outside strings, which
// it can do exactly because a string's bytes never contain an unescaped quote.

export interface JsonBounds {
  /** Arrays and objects open at once, at most. */
  depthMax: number;
  /** Commas, arrays and objects, at most: an upper bound on the values the parser would build. */
  elementsMax: number;
}

export type JsonScan = { ok: true } | { ok: false; reason: 'json-too-deep' | 'json-too-many-elements'; detail: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

export function scanJson(bytes: Uint8Array, bounds: JsonBounds): JsonScan {
  let depth = 0;
  let elements = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === QUOTE) {
      // Jump to the quote that closes the string (indexOf is native; an answer is mostly hex strings).
      i = closingQuote(bytes, i);
      continue;
    }
    if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > bounds.depthMax) return { ok: false, reason: 'json-too-deep', detail: `JSON nested deeper than ${bounds.depthMax} levels (at byte ${i})` };
      if (++elements > bounds.elementsMax) return tooMany(bounds, i);
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--;
    else if (b === COMMA && ++elements > bounds.elementsMax) return tooMany(bounds, i);
  }
  return { ok: true };
}

/**
 * Where the string opened at `open` ends: the next quote after an even run
 * of backslashes (an odd run escapes it), or the end of the bytes when it
 * never closes (the parser refuses that). UTF-8 continuation bytes are never
 * a quote or a backslash, so bytes compare like characters.
 */
function closingQuote(bytes: Uint8Array, open: number): number {
  let q = bytes.indexOf(QUOTE, open + 1);
  while (q !== -1) {
    let backslashes = 0;
    while (bytes[q - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q;
    q = bytes.indexOf(QUOTE, q + 1);
  }
  return bytes.length;
}

function tooMany(bounds: JsonBounds, at: number): JsonScan {
  return { ok: false, reason: 'json-too-many-elements', detail: `JSON with more than ${bounds.elementsMax} elements (at byte ${at})` };
}
