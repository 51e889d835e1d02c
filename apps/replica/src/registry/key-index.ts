// Which user keys a committed block changed, derived from the block's batch
// and its log leaves (one leaf per executed request, in order). The replica
// keeps these rows in SQLite to answer "list keys by prefix", "history of a
// key" and "changes under a prefix since log index i" (watch). The rows are an
// index only: every answer built from them carries the certified block and an
// inclusion proof, so a client never has to trust the index.

import type { ClientRequest, CommittedBlock } from '@vcr/consensus';
import { decodeLeaf } from '@vcr/registry';
import { decodeOp, decodeResult, singleOps } from '@vcr/registry';

export interface KeyChange {
  key: string;
  height: bigint;
  /** The log leaf of the request that made the change. */
  logIndex: bigint;
  /** The key's revision after the change; 0 after a delete. */
  revision: bigint;
  op: 'put' | 'delete';
}

/** One executed request of a block: the request, its result and its log leaf's index. */
export interface ExecutedRequest {
  request: ClientRequest;
  result: Uint8Array;
  logIndex: bigint;
}

/**
 * The key changes of the requests a block at `height` executed (a failed request, whose result
 * is an error, changed nothing).
 */
export function keyChangesOfExecuted(height: bigint, executed: readonly ExecutedRequest[]): KeyChange[] {
  const changes: KeyChange[] = [];
  for (const { request, result: resultBytes, logIndex } of executed) {
    const result = decodeResult(resultBytes);
    const op = decodeOp(request.payload);
    if (!result.ok || !result.result.ok || !op.ok) continue;
    const ops = singleOps(op.op);
    const revisions = result.result.revisions;
    // A transaction may touch one key twice: its last op is the change the key saw.
    const last = new Map<string, KeyChange>();
    ops.forEach((single, i) => {
      last.set(single.key, { key: single.key, height, logIndex, revision: revisions[i] ?? 0n, op: single.op === 'delete' ? 'delete' : 'put' });
    });
    changes.push(...last.values());
  }
  return changes;
}

/**
 * The key changes of one stored block (recovery of a store written before the key index). `leaves`
 * are the block's log leaves with their indices, in log order. Leaves whose request is not in the
 * batch cannot happen for a block we executed ourselves and are skipped.
 */
export function keyChangesOfBlock(block: CommittedBlock, leaves: readonly { index: bigint; data: Uint8Array }[]): KeyChange[] {
  const byRequest = new Map(block.batch.map((r) => [`${r.clientId}/${r.requestId}`, r]));
  const executed: ExecutedRequest[] = [];
  for (const leaf of leaves) {
    const decoded = decodeLeaf(leaf.data);
    const request = decoded && byRequest.get(`${decoded.clientId}/${decoded.requestId}`);
    if (!decoded || !request) continue;
    executed.push({ request, result: decoded.result, logIndex: leaf.index });
  }
  return keyChangesOfExecuted(block.header.height, executed);
}
