// The hot path of verified reads, in front of express: `GET /v1/keys/{key}`
// answered straight from the node http server's request event, without
// express's router, query parser, zod and res.json (issue 19: 70 to 80 % of
// the route's busy time). It takes only the plain, valid form of the request,
// `/v1/keys/<one path segment>` with no query or exactly `?proveFrom=<decimal>`,
// no conditional headers, a key the registry accepts, a certified state, and
// answers it with the bytes and headers the express route gives (key-read.ts
// makes both). Anything else, and every error, falls through to express
// untouched, so hostile input meets the same checks and gets the same errors
// as before.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReplicaNode } from '../replica-node';
import type { AnswerCache } from './answer-cache';
import { keyReadAnswer } from './key-read';
import { plainUrl } from './plain-query';

const PREFIX = '/v1/keys/';
/** The route's key bound (server.ts keyParam), in UTF-16 code units like zod's max. */
const KEY_LENGTH_MAX = 256;

/** The key and proveFrom of a request the fast path takes; undefined for anything it leaves to express. */
function plainKeyRead(req: IncomingMessage): { key: string; proveFrom: bigint | undefined } | undefined {
  if (req.method !== 'GET' || req.url === undefined || !req.url.startsWith(PREFIX)) return undefined;
  // A conditional GET may be answered 304: express's freshness check does that.
  if (req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) return undefined;
  const plain = plainUrl(req.url);
  if (plain === undefined) return undefined;
  const segment = plain.path.slice(PREFIX.length);
  if (segment.length === 0 || segment.includes('/')) return undefined;
  let key = segment;
  if (segment.includes('%')) {
    try {
      key = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  }
  if (key.length === 0 || key.length > KEY_LENGTH_MAX) return undefined;
  return { key, proveFrom: plain.proveFrom };
}

/** A request listener step: true when it answered the request, false to hand it to express as it came. */
export function fastKeyRead(node: ReplicaNode, cache: AnswerCache): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const startMs = performance.now();
    let made: ReturnType<typeof keyReadAnswer>;
    try {
      const read = plainKeyRead(req);
      if (read === undefined) return false;
      made = keyReadAnswer(node, cache, read.key, read.proveFrom);
    } catch {
      // Nothing was written: express meets the same failure and answers it as every route does (500 internal).
      return false;
    }
    if (!made.ok) return false;
    const { body, etag } = made.answer;
    node.metrics.httpRequest('/v1/keys/:key', 'GET', 200, (performance.now() - startMs) / 1000);
    res.writeHead(200, {
      'Access-Control-Allow-Origin': '*',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': body.length,
      ETag: etag,
    });
    res.end(body);
    return true;
  };
}
