// Which user keys a committed block changed, derived from the block's batch
// and its log leaves (one leaf per executed request, in order). The replica
// keeps these rows in SQLite to answer "list keys by prefix", "history of a
// key" and "changes under a prefix since log index i" (watch). The rows are an
// index only: every answer built from them carries the certified block and an
// inclusion proof, so a client never has to trust the index.

import type { CommittedBlock } from '@vcr/consensus';
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

/**
 * The key changes of one block. `leaves` are the block's log leaves with
 * their indices, in log order; a failed request (its result is an error)
 * changed nothing. Leaves whose request is not in the batch cannot happen for
 * a block we executed ourselves and are skipped.
 */
export function keyChangesOfBlock(block: CommittedBlock, leaves: readonly { index: bigint; data: Uint8Array }[]): KeyChange[] {
  const changes: KeyChange[] = [];
  const byRequest = new Map(block.batch.map((r) => [`${r.clientId}/${r.requestId}`, r]));
  for (const leaf of leaves) {
    const decoded = decodeLeaf(leaf.data);
    const request = decoded && byRequest.get(`${decoded.clientId}/${decoded.requestId}`);
    if (!decoded || !request) continue;
    const result = decodeResult(decoded.result);
    const op = decodeOp(request.payload);
    if (!result.ok || !result.result.ok || !op.ok) continue;
    const ops = singleOps(op.op);
    const revisions = result.result.revisions;
    // A transaction may touch one key twice: its last op is the change the key saw.
    const last = new Map<string, KeyChange>();
    ops.forEach((single, i) => {
      last.set(single.key, {
        key: single.key,
        height: block.header.height,
        logIndex: leaf.index,
        revision: revisions[i] ?? 0n,
        op: single.op === 'delete' ? 'delete' : 'put',
      });
    });
    changes.push(...last.values());
  }
  return changes;
}
