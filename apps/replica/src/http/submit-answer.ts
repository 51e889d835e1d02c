// What POST /v1/requests answers once the node has its request: the receipt,
// or the refusal a submit error stands for. One place for both the express
// route (server.ts) and the fast path in front of it (fast-write.ts), so the
// two give the same status, code, message and headers.

import type { ClientRequest } from '@vcr/proofs';
import { clientPublicKey, type Receipt, type ReplicaNode } from '../replica-node';
import { RequestIdRefused } from '../request-intake';
import { parseClientRequestJson } from '../wire';
import { consistencyFor } from './key-read';
import type { ErrorCode } from './query-params';
import { receiptToJson } from './receipt-json';

export type WriteAnswer = { status: number; body: unknown; headers: Record<string, string> };

function refusal(status: number, code: ErrorCode, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): WriteAnswer {
  return { status, body: { error: { code, message, ...extra } }, headers };
}

/** A request body that is not what the route takes (before the node sees it). */
export function malformedWrite(message: string, extra: Record<string, unknown> = {}): WriteAnswer {
  return refusal(400, 'malformed', message, extra);
}

/** The client request in a parsed JSON body, or the answer that refuses it. */
export function writeRequestOf(body: unknown): { ok: true; request: ClientRequest } | { ok: false; answer: WriteAnswer } {
  const parsed = parseClientRequestJson(body);
  if (!parsed.ok) return { ok: false, answer: malformedWrite('request does not match the schema', { issues: parsed.issues }) };
  if (clientPublicKey(parsed.value.clientId) === undefined) return { ok: false, answer: malformedWrite('clientId must be the hex of the client Ed25519 public key') };
  return { ok: true, request: parsed.value };
}

/**
 * Submits a parsed, well-formed request and resolves with the answer: the receipt (with a
 * consistency proof from `proveFrom` when asked), or the refusal. Never rejects: an unexpected
 * error is a 500 `internal` with no detail, as every route answers one.
 */
export function submitAnswer(node: ReplicaNode, request: ClientRequest, proveFrom: bigint | undefined): Promise<WriteAnswer> {
  const receivedMs = performance.now();
  const answered = (receipt: Receipt): WriteAnswer => {
    node.metrics.requestCommitted((performance.now() - receivedMs) / 1000);
    return { status: 200, body: receiptToJson(receipt, consistencyFor(node, proveFrom, receipt.block.header.logSize)), headers: {} };
  };
  // A throw anywhere (in submit itself, or while making the receipt's JSON) is a 500, as express
  // gives one: never an unhandled rejection, which would end the process.
  return Promise.resolve()
    .then(() => node.submit(request))
    .then(answered, submitRefusal)
    .catch(() => refusal(500, 'internal', 'internal error'));
}

function submitRefusal(error: unknown): WriteAnswer {
  if (error instanceof RequestIdRefused) return refusal(error.status, error.code, error.message, error.details);
  const message = error instanceof Error ? error.message : undefined;
  switch (message) {
    case 'bad-signature':
      return refusal(400, 'bad-signature', 'client signature does not verify (sign for the current epoch or the one before; GET /v1/epochs)');
    case 'not-a-member':
      return refusal(503, 'not-a-member', 'this replica has no vote in the current epoch; send the request to a member (GET /v1/epochs)');
    case 'overloaded':
      return refusal(429, 'overloaded', 'too many requests waiting; retry with the same request id', {}, { 'Retry-After': '1' });
    case 'not committed in time':
      return refusal(503, 'timeout', 'not committed in time; retry with the same request id', {}, { 'Retry-After': '1' });
    default:
      return refusal(500, 'internal', 'internal error');
  }
}
