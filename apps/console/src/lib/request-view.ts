// A request of a block as an auditor reads it: what it asked (operation,
// keys, values), who signed it (organizations from the certified registry
// state), and what came of it (its certified result): applied, refused with
// the rule and its detail, or pending approval with the approvals so far.
// Built only from verified inputs: the batch matched the certified batchHash,
// the result came from a leaf included in the certified log root.

import type { ClientRequest } from '@vcr/proofs';
import { decodeOp, type RegistryOp, type RegistryResult, singleOps } from '@vcr/registry';
import type { RequestOutcome } from '@vcr/client-sdk';
import { valueText } from './line-diff';

export type ResultView =
  | { kind: 'applied'; revisions: bigint[] }
  | { kind: 'refused'; rule: string; detail: string | undefined }
  | { kind: 'pending'; progress: string | undefined }
  | { kind: 'not-executed' };

export interface RequestView {
  clientId: string;
  requestId: bigint;
  /** The signer's organizations; empty when the key belongs to none of the organizations read. */
  orgs: string[];
  /** `put`, `delete`, `cas`, `txn`, `noop`, `org`, `namespace`, `membership`, or `malformed`. */
  operation: string;
  /** One line per single op: key and new value (text), or the governance op in short. */
  changes: { op: string; key: string; value: string | undefined }[];
  result: ResultView;
  logIndex: bigint | undefined;
}

export function resultView(outcome: RequestOutcome): ResultView {
  if (!outcome.executed) return { kind: 'not-executed' };
  const r: RegistryResult = outcome.result;
  if (r.ok) return { kind: 'applied', revisions: r.revisions };
  if (r.error === 'pending-approval') return { kind: 'pending', progress: r.detail };
  return { kind: 'refused', rule: r.error, detail: r.detail };
}

function governanceSummary(op: RegistryOp): string {
  switch (op.op) {
    case 'org':
      return `organization ${op.org}: ${op.clients.length} client keys, ${op.admins.length} admin keys`;
    case 'namespace':
      return `namespace ${op.prefix}: owner ${op.owner}, writers ${op.writers.join(', ')}, type ${op.valueType}${op.approvals ? `, needs ${op.approvals.threshold} of ${op.approvals.from.join(', ')}` : ''}`;
    case 'membership':
      return `membership change for epoch ${op.change.epoch + 1n}`;
    default:
      return op.op;
  }
}

export function requestView(request: ClientRequest, outcome: RequestOutcome, orgs: string[]): RequestView {
  const decoded = decodeOp(request.payload);
  const base = { clientId: request.clientId, requestId: request.requestId, orgs, result: resultView(outcome), logIndex: outcome.executed ? outcome.logIndex : undefined };
  if (!decoded.ok) return { ...base, operation: 'malformed', changes: [{ op: 'malformed', key: '', value: decoded.reason }] };
  const op = decoded.op;
  const singles = singleOps(op);
  const changes =
    singles.length > 0
      ? singles.map((s) => ({ op: s.op === 'cas' ? `cas (expects revision ${s.expectedRevision})` : s.op, key: s.key, value: s.op === 'delete' ? undefined : valueText(s.value) }))
      : op.op === 'noop'
        ? []
        : [{ op: op.op, key: '', value: governanceSummary(op) }];
  return { ...base, operation: op.op, changes };
}
