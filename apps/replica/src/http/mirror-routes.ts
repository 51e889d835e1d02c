// What a read-only mirror (docs/mirror.md) answers differently from a
// replica: writes are refused with `read-only-mirror` and the upstream URLs
// to send them to, peer WebSocket upgrades are refused, and /healthz says it
// is a mirror and how far behind its upstream it is. Everything else (reads
// with their proofs, blocks, epochs, the log, audit) is the same API, served
// from what the mirror has verified, so clients and other mirrors use it as
// they use a replica.

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import type { ReplicaNode } from '../replica-node';
import { fail } from './query-params';

/** The refusal's hint: where writes go instead. */
function writeHint(upstream: readonly string[]): string {
  return `this is a read-only mirror: it serves verified reads and accepts no writes; send writes to a replica (it follows ${upstream.join(', ')})`;
}

/**
 * Registered before the write route: on a mirror, POST /v1/requests answers
 * 405 read-only-mirror (the method exists, this server does not take it;
 * `Allow` is empty), with the upstream URLs. A client SDK moves on to its next
 * URL at once (a 4xx is a refusal, not a reason to retry here).
 */
export function mirrorRoutes(app: Express, node: ReplicaNode): void {
  const upstream = node.mirrorUpstream?.map((u) => u.url);
  if (upstream === undefined) return;
  app.post('/v1/requests', (_req, res) => {
    res.setHeader('Allow', '');
    fail(res, 405, 'read-only-mirror', writeHint(upstream), { upstream });
  });
}

/**
 * The mirror part of GET /healthz: `mode`, and for a mirror its upstreams (the
 * height each last claimed, unverified, and how long ago it answered or
 * failed), how many blocks it is behind the highest claim, and the age of its
 * newest certified timestamp (what a client's staleness bound is checked
 * against).
 */
export function mirrorHealth(node: ReplicaNode, nowMs = Date.now()): Record<string, unknown> {
  const upstream = node.mirrorUpstream;
  if (upstream === undefined) return { mode: 'replica' };
  const committed = node.latestBlock()?.header;
  const height = committed?.height ?? 0n;
  const claims = upstream.flatMap((u) => (u.claimedHeight === undefined ? [] : [u.claimedHeight]));
  const upstreamHeight = claims.reduce<bigint | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
  const ago = (ms: number | undefined) => (ms === undefined ? null : Math.max(0, nowMs - ms));
  return {
    mode: 'mirror',
    mirror: {
      upstream: upstream.map((u) => ({ url: u.url, claimedHeight: u.claimedHeight?.toString() ?? null, lastAnswerMsAgo: ago(u.lastAnswerMs), lastErrorMsAgo: ago(u.lastErrorMs) })),
      height: height.toString(),
      upstreamHeight: upstreamHeight?.toString() ?? null,
      behindBlocks: upstreamHeight === undefined ? null : (upstreamHeight > height ? upstreamHeight - height : 0n).toString(),
      certifiedAgeMs: committed === undefined ? null : Math.max(0, nowMs - Number(committed.timestampMs)),
    },
  };
}

/** A mirror takes no peer connections: every WebSocket upgrade gets 403 read-only-mirror and the socket is closed. */
export function refusePeerUpgrades(server: Server, upstream: readonly string[]): void {
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    const body = JSON.stringify({ error: { code: 'read-only-mirror', message: 'this is a read-only mirror: it takes no peer connections', upstream } });
    socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}
