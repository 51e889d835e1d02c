// The hot path of writes, in front of express: `POST /v1/requests` taken
// straight from the node http server's request event, without express's
// router, body-parser (raw-body, iconv, type-is), zod for the query and
// res.json with its ETag hash (issue 16: the express route was about 10 % of
// the primary's busy time at 256 clients). It takes only the plain form:
// exactly `/v1/requests` or `/v1/requests?proveFrom=<decimal>`, a
// `Content-Type` of `application/json` (charset absent or utf-8), no
// `Content-Encoding` other than identity, and a `Content-Length` within the
// route's limit, on a replica (a mirror's route refuses writes). Anything else
// goes to express untouched. Once it has taken a request it answers every
// outcome itself, with the status, code and message the express route gives
// (submit-answer.ts makes both): a body that is not JSON, or a JSON value that
// is not an object or array (express.json's strict mode), is 400 `malformed`
// "body is not valid JSON"; a body cut short is never answered.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReplicaNode } from '../replica-node';
import { MAX_CLIENT_BODY_BYTES } from '../wire';
import { plainUrl } from './plain-query';
import { malformedWrite, submitAnswer, type WriteAnswer, writeRequestOf } from './submit-answer';

const ROUTE = '/v1/requests';

/** True when the headers are ones express.json would read the body under, as UTF-8 JSON, without inflating it. */
function isPlainJsonBody(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (type === undefined) return false;
  const [mime, ...params] = type.toLowerCase().split(';').map((p) => p.trim());
  if (mime !== 'application/json') return false;
  if (params.some((p) => p !== 'charset=utf-8' && p !== '')) return false;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  if (length === undefined || !/^[0-9]{1,7}$/.test(length)) return false;
  return Number(length) <= MAX_CLIENT_BODY_BYTES;
}

/** The body as JSON the way express.json reads it (UTF-8, a leading BOM dropped, empty as {}, strict: an object or array), or undefined. */
function jsonOf(body: Buffer): unknown {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, answer: WriteAnswer): void {
  const body = Buffer.from(JSON.stringify(answer.body));
  res.writeHead(answer.status, { ...answer.headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}

/** A request listener step: true when it took the request (and will answer it), false to hand it to express as it came. */
export function fastWrite(node: ReplicaNode): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || req.url === undefined || !req.url.startsWith(ROUTE) || node.mirrorUpstream !== undefined) return false;
    const plain = plainUrl(req.url);
    if (plain === undefined || plain.path !== ROUTE || !isPlainJsonBody(req)) return false;
    const startMs = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => req.destroy());
    req.on('end', () => {
      const body = jsonOf(Buffer.concat(chunks));
      const checked = body === undefined ? { ok: false as const, answer: malformedWrite('body is not valid JSON') } : writeRequestOf(body);
      const answered = checked.ok ? submitAnswer(node, checked.request, plain.proveFrom) : Promise.resolve(checked.answer);
      void answered.then((answer) => {
        if (res.destroyed) return;
        send(res, answer);
        node.metrics.httpRequest(ROUTE, 'POST', answer.status, (performance.now() - startMs) / 1000);
      });
    });
    return true;
  };
}
