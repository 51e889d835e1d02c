// `vcr pending`: the changes waiting for approvals (GET /v1/pending through
// the SDK: each record proven against the certified state, each submission
// verified like a history entry). Exits 4 (pending approval) when at least
// one change still waits, 0 when none does, so a script can wait on it.

import type { RegistryClient, VerifiedPendingChange } from '@vcr/client-sdk';
import { singleOps } from '@vcr/registry';
import { exitCodes } from './exit-codes';
import type { ParsedCommand } from './args';
import { isoTime, table, toJson, valueJson } from './format';

type Print = (line: string) => void;

function opsOf(c: VerifiedPendingChange) {
  const first = c.submissions[0];
  return first ? singleOps(first.op) : [];
}

function changeJson(c: VerifiedPendingChange) {
  return {
    change: c.change,
    waiting: c.record !== undefined,
    ops: opsOf(c).map((o) => ({ op: o.op, key: o.key, ...(o.op === 'delete' ? {} : valueJson(o.value)) })),
    approvals: c.record?.approvals ?? null,
    proposer: c.record?.proposer ?? null,
    expiresAtMs: c.record?.expiresAtMs ?? null,
    submissions: c.submissions.map((s) => ({ height: s.height, logIndex: s.logIndex, timestampMs: s.timestampMs, clientId: s.clientId, result: s.result })),
    verified: true,
  };
}

export async function runPending(client: RegistryClient, cmd: ParsedCommand, print: Print): Promise<number> {
  const list = await client.pending();
  const waiting = list.changes.filter((c) => c.record !== undefined);
  const what = (c: VerifiedPendingChange) => opsOf(c).map((o) => `${o.op} ${o.key}`).join('; ');
  if (cmd.output === 'json') {
    print(toJson({ height: list.height, timestampMs: list.timestampMs, replica: list.replica, changes: waiting.map(changeJson) }));
  } else if (cmd.output === 'table') {
    print(table(['change', 'does', 'approved by', 'expires', 'submissions'], waiting.map((c) => [c.change, what(c), c.record?.approvals.join(', ') ?? '', c.record ? isoTime(c.record.expiresAtMs) : '', String(c.submissions.length)])));
  } else {
    for (const c of waiting) {
      const last = c.submissions.at(-1);
      const progress = last && !last.result.ok ? last.result.detail : undefined;
      print(`${what(c)}: ${progress ?? `approved by ${c.record?.approvals.join(', ')}`}; expires ${c.record ? isoTime(c.record.expiresAtMs) : '?'} (change ${c.change}, ${c.submissions.length} submissions verified)`);
    }
    print(`${waiting.length} changes waiting for approvals at height ${list.height}, certified ${isoTime(list.timestampMs)}; each record proven against the certified state (a replica may leave one out, never forge one)`);
  }
  return waiting.length > 0 ? exitCodes.pendingApproval : exitCodes.ok;
}
