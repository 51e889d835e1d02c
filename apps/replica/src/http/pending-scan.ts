// Where the pending changes are: the requests of recent blocks whose result
// was `pending-approval`, grouped by the change they submit (its change key,
// @vcr/registry pending.ts). The state map holds each pending record under
// that key but not the operations, and has no index of its reserved keys, so
// the listing starts from the requests: it reads back through the newest
// blocks, at most `blocksMax` of them and none older than the longest
// approval window, and keeps what each block held so a block is decoded once.
// The records themselves are then read from the certified state with proofs
// (approval-routes.ts); what a scan cannot prove is its completeness.

import type { CommittedBlock } from '@vcr/consensus';
import { decodeLeaf, decodeOp, decodeResult, governanceLimits, singleOps, changeKey } from '../registry';
import type { ReplicaNode } from '../replica-node';
import type { CryptoBackend } from '@vcr/proofs';

export const pendingScanLimits = {
  /** Blocks read back from the newest one per listing. */
  blocksMax: 2_048,
  /** Decoded blocks kept between listings. */
  blocksKeptMax: 4_096,
  /** Pending changes in one answer. */
  changesMax: 64,
  /** Submissions of one change in one answer (a threshold is at most 16 organizations). */
  submissionsMax: 32,
} as const;

export interface Submission {
  /** The pending key of the change this request submits. */
  key: string;
  height: bigint;
  logIndex: bigint;
  /** Index of the request in the block's batch. */
  batchIndex: number;
}

function submissionsOf(backend: CryptoBackend, node: ReplicaNode, block: CommittedBlock): Submission[] {
  const out: Submission[] = [];
  for (const leaf of node.store.leavesOfBlock(block.header.height)) {
    const names = decodeLeaf(leaf.data);
    const result = names && decodeResult(names.result);
    if (!names || !result?.ok || result.result.ok || result.result.error !== 'pending-approval') continue;
    const batchIndex = block.batch.findIndex((r) => r.clientId === names.clientId && r.requestId === names.requestId);
    const request = block.batch[batchIndex];
    const op = request && decodeOp(request.payload);
    if (!op?.ok) continue;
    out.push({ key: changeKey(backend, singleOps(op.op)), height: block.header.height, logIndex: leaf.index, batchIndex });
  }
  return out;
}

export class PendingScan {
  private readonly kept = new Map<bigint, Submission[]>();

  constructor(
    private readonly backend: CryptoBackend,
    private readonly node: ReplicaNode,
  ) {}

  /** Submissions of recent blocks, oldest first, grouped by change key (in order of first submission). */
  scan(latest: CommittedBlock): Map<string, Submission[]> {
    const found: Submission[][] = [];
    const oldestMs = latest.header.timestampMs - BigInt(governanceLimits.approvalTtlMsMax);
    for (let h = latest.header.height, n = 0; h >= 1n && n < pendingScanLimits.blocksMax; h--, n++) {
      let subs = this.kept.get(h);
      if (subs === undefined) {
        let block: CommittedBlock;
        try {
          block = h === latest.header.height ? latest : this.node.loadCommittedBlock(h);
        } catch {
          break; // pruned below here: what is older is in the archive
        }
        if (block.header.timestampMs < oldestMs) break;
        subs = submissionsOf(this.backend, this.node, block);
        this.keep(h, subs);
      }
      found.push(subs);
    }
    const byKey = new Map<string, Submission[]>();
    for (const subs of found.reverse()) {
      for (const s of subs) {
        const list = byKey.get(s.key) ?? [];
        if (list.length < pendingScanLimits.submissionsMax) list.push(s);
        byKey.set(s.key, list);
      }
    }
    return byKey;
  }

  private keep(height: bigint, subs: Submission[]): void {
    this.kept.set(height, subs);
    if (this.kept.size <= pendingScanLimits.blocksKeptMax) return;
    const oldest = [...this.kept.keys()].reduce((a, b) => (b < a ? b : a));
    this.kept.delete(oldest);
  }
}
