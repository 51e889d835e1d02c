// What the replica answers at once about a client request's id, instead of
// letting the client wait for a commit that cannot come (docs/protocol.md,
// "Request ids"). Exactly-once keeps one reply per client, for its highest
// executed id, so:
// - an id beyond the window (@vcr/consensus request-ids.ts) would be skipped
//   by every replica's executor: refused, 400 `request-id-ahead`;
// - an id below the client's last executed one that this replica has no
//   receipt for will never execute: refused, 409 `request-id-superseded`;
// - an id already used for another operation names that operation, and its
//   receipt is no answer to this one: refused, 409 `request-id-conflict`.
// These answers are this replica's view of certified state; the executor's
// rule, the same on every replica, is what decides.

import type { ClientRequest } from '@vcr/proofs';
import { type CommittedBlock, consensusLimits, isRequestIdAhead, requestIdCeiling } from '@vcr/consensus';

export type RequestIdRefusalCode = 'request-id-ahead' | 'request-id-superseded' | 'request-id-conflict';

/** A request refused for its id; `status` and `details` go into the HTTP error body. */
export class RequestIdRefused extends Error {
  constructor(
    readonly code: RequestIdRefusalCode,
    readonly status: 400 | 409,
    message: string,
    readonly details: Record<string, string>,
  ) {
    super(message);
    this.name = 'RequestIdRefused';
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * The refusal for a request this replica holds no receipt for, or undefined
 * when it may wait for ordering. `lastExecutedId` is the client's highest
 * executed id in the committed state; `nowMs` this replica's clock.
 */
export function requestIdRefusal(request: ClientRequest, ctx: { nowMs: number; lastExecutedId: bigint | undefined }): RequestIdRefused | undefined {
  const nowMs = BigInt(Math.floor(ctx.nowMs));
  if (isRequestIdAhead(request.requestId, nowMs)) {
    const ceiling = requestIdCeiling(nowMs);
    return new RequestIdRefused('request-id-ahead', 400, `request id ${request.requestId} is beyond the window: at most ${ceiling} now (1000 per ms of the replicas' clock, at most ${consensusLimits.requestIdAheadMsMax / 60_000} minutes ahead); check the client's clock and sign with a smaller id`, {
      requestId: request.requestId.toString(),
      requestIdMax: ceiling.toString(),
    });
  }
  if (ctx.lastExecutedId !== undefined && request.requestId < ctx.lastExecutedId) {
    return new RequestIdRefused(
      'request-id-superseded',
      409,
      `request id ${request.requestId} is below this client's last executed id ${ctx.lastExecutedId}: it will never execute; sign the operation again with a larger id (if this request was sent before, look for it in the key's history first)`,
      { requestId: request.requestId.toString(), lastExecutedRequestId: ctx.lastExecutedId.toString() },
    );
  }
  return undefined;
}

/**
 * The refusal when `executed` (the request ordered under this client and id)
 * is another operation than `request`. The same payload under another
 * signature is the same operation: a client re-signs an id in a newer epoch.
 */
export function conflictWith(request: ClientRequest, executed: ClientRequest | undefined): RequestIdRefused | undefined {
  if (executed === undefined || equalBytes(executed.payload, request.payload)) return undefined;
  return new RequestIdRefused('request-id-conflict', 409, `request id ${request.requestId} of this client was already used for another operation; its receipt does not answer this one (sign this operation with a new id)`, {
    requestId: request.requestId.toString(),
  });
}

/** The request a committed block ordered under this client and id. */
export function orderedRequest(block: CommittedBlock, clientId: string, requestId: bigint): ClientRequest | undefined {
  return block.batch.find((r) => r.clientId === clientId && r.requestId === requestId);
}
