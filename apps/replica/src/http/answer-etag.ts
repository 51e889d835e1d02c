// The ETag express gives a JSON answer (its default `etag` setting: weak, from
// the `etag` package): W/"<byte length in hex>-<first 27 characters of the
// body's SHA-1 in base64>". Made here once per cached answer, so the fast read
// path (fast-read.ts) answers with the same header express would, and express
// does not hash the body again for every read.

import { createHash } from 'node:crypto';

export function weakEtagOf(body: Buffer): string {
  if (body.length === 0) return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  return `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64').substring(0, 27)}"`;
}
