// The replica's HTTP API (express 5): client endpoints, peer endpoints,
// health and metrics. Every input is parsed with zod before it reaches the
// node; bad input gets a 4xx with a machine-readable body and changes nothing.
// Contract: apps/replica/openapi.yaml.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import express, { type NextFunction, type Request, type Response } from 'express';
import { limits as proofLimits, logProofToJson } from '@vcr/proofs';
import { z } from 'zod';
import type { ReplicaNode } from '../replica-node';
import { OPENAPI_FILE } from '../openapi-file';
import { AnswerCache } from './answer-cache';
import { approvalRoutes } from './approval-routes';
import { auditRoutes } from './audit-routes';
import { certificateJsonOf } from './certificate-json';
import { mirrorHealth, mirrorRoutes } from './mirror-routes';
import { fastKeyRead } from './fast-read';
import { fastWrite } from './fast-write';
import { httpLimits } from './http-limits';
import { keyReadAnswer } from './key-read';
import { fail, heightParam, limitParam, sizeParam } from './query-params';
import { readinessOf } from './readiness';
import { changeEntryTexts, registryRoutes } from './registry-routes';
import { requestMetrics } from './request-metrics';
import { removalHealth } from '../removal';
import { viewRoutes } from './view-routes';
import { witnessRoutes } from './witness-routes';
import { MAX_CLIENT_BODY_BYTES, MAX_PEER_BODY_BYTES } from '../wire';
import { submitAnswer, writeRequestOf } from './submit-answer';

/** State-transfer answers stay well under the peer body limit however large the blocks are. */
const TRANSFER_BYTES_MAX = MAX_PEER_BODY_BYTES / 2;
const keyParam = z.string().min(1).max(256);

/** `?proveFrom=N` on a write or a read: the client trusts log size N; an answer certified at size `to` carries the proof from N (saves it a GET /v1/log/consistency). */
const proveFromQuery = z.strictObject({ proveFrom: sizeParam.optional() });

/**
 * The listening socket for the node's API: plain HTTP, or HTTPS with the
 * replica's certificate chain and key (config `tls`). Peers upgrade to
 * WebSocket on the same server, so the peer links get the same TLS as the
 * client API. Key reads and writes in their plain form are answered before
 * express (fast-read.ts, fast-write.ts), with the answers the express routes give.
 */
export function createListener(node: ReplicaNode, tls?: { cert: Buffer; key: Buffer }): Server {
  const answers = new AnswerCache(httpLimits.readAnswerCacheBytesMax);
  const app = createServer(node, answers);
  const fastRead = fastKeyRead(node, answers);
  const fastWriteStep = fastWrite(node);
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (!fastRead(req, res) && !fastWriteStep(req, res)) app(req, res);
  };
  if (tls === undefined) return createHttpServer(listener);
  return createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, listener);
}

/** The express app; `answers` holds the serialized key reads (shared with the fast path when createListener made it). */
export function createServer(node: ReplicaNode, answers = new AnswerCache(httpLimits.readAnswerCacheBytesMax)): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestMetrics(node.metrics));
  const clientJson = express.json({ limit: MAX_CLIENT_BODY_BYTES, strict: true });

  // Reads are public and carry their own proofs: any origin (the audit console in a browser) may fetch
  // them. Writes are not opened to cross-origin browsers (no preflight is answered for POST).
  app.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') res.setHeader('Access-Control-Allow-Origin', '*');
    next();
  });

  app.get('/healthz', (_req, res) => {
    const s = node.status;
    res.status(s.status === 'normal' ? 200 : 503).json({ ...s, connectedPeers: node.connectedPeers(), ...mirrorHealth(node), ...removalHealth(node.store) });
  });

  // A read-only mirror refuses writes before the write route sees them (docs/mirror.md).
  mirrorRoutes(app, node);

  // Readiness for load balancers (readiness.ts); liveness only says the event loop answers.
  app.get('/readyz', (_req, res) => {
    const readiness = readinessOf(node);
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  app.get('/livez', (_req, res) => {
    res.json({ live: true });
  });

  app.get('/metrics', (_req, res, next) => {
    const s = node.status;
    node.metrics
      .render({
        replica: String(s.replicaId),
        view: Number(s.view),
        height: Number(s.committed),
        connectedPeers: node.connectedPeers().length,
        membershipSize: node.currentMembership.replicas.length,
        storage: node.store.durabilityStats,
        databaseBytes: node.store.databaseBytes,
        walBytes: node.store.walBytes,
        snapshotBytes: node.store.snapshotBytes,
        volume: node.store.volumeBytes,
        pendingRequests: Number(s.pending ?? 0),
        ready: readinessOf(node).ready,
      })
      .then((text) => res.type(node.metrics.contentType).send(text), next);
  });

  app.post('/v1/requests', clientJson, (req, res) => {
    const q = proveFromQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', 'the only query parameter is proveFrom, a decimal log size');
    const checked = writeRequestOf(req.body);
    const answered = checked.ok ? submitAnswer(node, checked.request, q.data.proveFrom) : Promise.resolve(checked.answer);
    void answered.then((answer) => res.status(answer.status).set(answer.headers).json(answer.body));
  });

  app.get('/v1/keys/:key', (req, res) => {
    const key = keyParam.safeParse(req.params.key);
    if (!key.success) return fail(res, 400, 'malformed', 'key must be 1 to 256 characters');
    const q = proveFromQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', 'the only query parameter is proveFrom, a decimal log size');
    const made = keyReadAnswer(node, answers, key.data, q.data.proveFrom);
    if (!made.ok) return fail(res, made.status, made.code, made.message);
    // A Buffer with its type and ETag set: express sends it as it sent the JSON it made before (same headers, 304 on If-None-Match).
    res.set('ETag', made.answer.etag).type('application/json; charset=utf-8').send(made.answer.body);
  });

  // The epoch chain (docs/certificates.md, "Epoch chain"): links into epochs after+1, after+2, ... in order.
  app.get('/v1/epochs', (req, res) => {
    // The page size every verifier shares (@vcr/proofs epochs-page.ts).
    const pageMax = proofLimits.epochsPageLinksMax;
    const q = z.strictObject({ after: sizeParam.optional(), limit: limitParam(pageMax).optional() }).safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `after must be a decimal epoch, limit 1 to ${pageMax}`);
    const { links, current } = node.epochLinks(q.data.after ?? 0n, q.data.limit ?? pageMax);
    res.type('application/json').send(`{"current":"${current}","links":[${links.join(',')}]}`);
  });

  app.get('/v1/headers/latest', (_req, res) => {
    const block = node.latestBlock();
    if (!block) return fail(res, 503, 'no-certified-state', 'no block committed yet');
    res.json(certificateJsonOf(block));
  });

  app.get('/v1/blocks/:height', (req, res) => {
    const height = heightParam.safeParse(req.params.height);
    if (!height.success) return fail(res, 400, 'malformed', 'height must be a positive decimal integer');
    const json = node.block(height.data);
    if (!json) return fail(res, 404, 'not-found', 'no block at that height');
    res.type('application/json').send(json);
  });

  app.get('/v1/log/inclusion', (req, res) => {
    const q = z.strictObject({ index: sizeParam, size: sizeParam }).safeParse(req.query);
    if (!q.success || q.data.index >= q.data.size || q.data.size > node.logSize) return fail(res, 400, 'malformed', 'need 0 <= index < size <= log size');
    res.json({ index: q.data.index.toString(), size: q.data.size.toString(), proof: logProofToJson(node.inclusionProof(q.data.index, q.data.size)) });
  });

  app.get('/v1/log/consistency', (req, res) => {
    const q = z.strictObject({ from: sizeParam, to: sizeParam }).safeParse(req.query);
    if (!q.success || q.data.from < 1n || q.data.from > q.data.to || q.data.to > node.logSize) return fail(res, 400, 'malformed', 'need 1 <= from <= to <= log size');
    res.json({ from: q.data.from.toString(), to: q.data.to.toString(), proof: logProofToJson(node.consistencyProof(q.data.from, q.data.to)) });
  });

  app.get('/v1/peer/blocks', (req, res) => {
    const q = z.strictObject({ from: heightParam, limit: limitParam(256).optional() }).safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', 'from must be a positive height, limit 1..256');
    const blocks: string[] = [];
    let bytes = 0;
    for (const block of node.blocksFrom(q.data.from, q.data.limit ?? 256)) {
      if (blocks.length > 0 && bytes + block.length > TRANSFER_BYTES_MAX) break;
      blocks.push(block);
      bytes += block.length;
    }
    // `latest`: this server's height, so a mirror following it can say how far behind it is.
    res.type('application/json').send(`{"blocks":[${blocks.join(',')}],"latest":"${node.latestBlock()?.header.height ?? 0n}"}`);
  });

  const entryTexts = changeEntryTexts(httpLimits.changeEntryCacheBytesMax);
  registryRoutes(app, node, entryTexts);
  viewRoutes(app, node, entryTexts);
  auditRoutes(app, node);
  approvalRoutes(app, node);
  witnessRoutes(app, node);

  const openapiYaml = readFileSync(OPENAPI_FILE, 'utf8');
  app.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(openapiYaml);
  });

  app.use((_req, res) => fail(res, 404, 'not-found', 'no such endpoint'));

  // Body-parser errors (bad JSON, too large) and anything unexpected: a typed error, never a stack trace.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = error as { type?: string; status?: number };
    if (e.type === 'entity.too.large') return fail(res, 413, 'too-large', 'body too large');
    if (e.type === 'entity.parse.failed' || e.status === 400) return fail(res, 400, 'malformed', 'body is not valid JSON');
    if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported' || e.status === 415) return fail(res, 415, 'malformed', 'unsupported charset or content encoding');
    fail(res, 500, 'internal', 'internal error');
  });
  return app;
}
