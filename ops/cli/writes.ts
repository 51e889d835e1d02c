// The CLI's writes: put and delete. A verified receipt proves the registry
// ordered the request; what it decided is read through the SDK's
// receiptOutcome, so a refusal prints as a refusal (exit 3) and a recorded
// approval as pending (exit 4), never as "committed".

import { describeReceipt, type RegistryClient, receiptOutcome } from '@vcr/client-sdk';
import type { ParsedCommand } from './args';
import { exitCodes } from './exit-codes';
import { table, toJson } from './format';

export async function runWrite(client: RegistryClient, cmd: ParsedCommand, print: (line: string) => void): Promise<number> {
  const key = cmd.args.key as string;
  const r = cmd.command === 'put' ? await client.put(key, cmd.args.value as string) : await client.delete(key);
  const outcome = receiptOutcome(r);
  const proof = `certificate + inclusion proof verified from ${r.replica}`;
  if (cmd.output === 'json') {
    print(toJson({ key, op: cmd.command, outcome: outcome.kind, ...(outcome.kind === 'applied' ? { revisions: outcome.revisions } : {}), ...(outcome.kind === 'refused' ? { code: outcome.code } : {}), ...('detail' in outcome ? { detail: outcome.detail } : {}), height: r.height, logIndex: r.logIndex, requestId: r.requestId, replica: r.replica, verified: true }));
  } else if (cmd.output === 'table') {
    const what = outcome.kind === 'refused' ? `refused: ${outcome.code}${outcome.detail ? `: ${outcome.detail}` : ''}` : outcome.kind;
    print(table(['key', 'op', 'outcome', 'height', 'log', 'request', 'replica'], [[key, cmd.command, what, String(r.height), String(r.logIndex), String(r.requestId), r.replica]]));
  } else {
    print(`${cmd.command} ${key}: ${describeReceipt(r)}\n  request ${r.requestId}; ${proof}`);
  }
  switch (outcome.kind) {
    case 'applied':
      return exitCodes.ok;
    case 'refused':
      return exitCodes.refused;
    case 'pending-approval':
      return exitCodes.pendingApproval;
  }
}
