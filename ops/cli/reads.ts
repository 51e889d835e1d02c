// The CLI's verified reads: get, list, history, watch. Each answer is printed
// only after the SDK verified it (certificate of 2f+1, then the map proof or
// the inclusion proof); freshness fails closed unless --allow-stale.

import type { RegistryClient, VerifiedChange } from '@vcr/client-sdk';
import { CliError, exitCodes } from './exit-codes';
import type { ParsedCommand } from './args';
import { parseBoundedInteger } from './args';
import { isoTime, table, toJson, valueJson, valueText } from './format';

type Print = (line: string) => void;

export function freshnessOf(cmd: ParsedCommand): { allowStale: boolean; maxStalenessMs?: number } {
  if (cmd.maxStalenessMs === undefined) return { allowStale: cmd.allowStale };
  const maxStalenessMs = parseBoundedInteger(cmd.maxStalenessMs, 0, Number.MAX_SAFE_INTEGER);
  if (maxStalenessMs === undefined) throw new CliError('usage', `--max-staleness-ms ${JSON.stringify(cmd.maxStalenessMs)}: a whole number of milliseconds`);
  return { allowStale: cmd.allowStale, maxStalenessMs };
}

export async function runGet(client: RegistryClient, cmd: ParsedCommand, print: Print): Promise<number> {
  const key = cmd.args.key as string;
  const r = await client.get(key, freshnessOf(cmd));
  const when = `${isoTime(r.timestampMs)}${r.stale ? ` (STALE: ${r.ageMs} ms old)` : ''}`;
  if (cmd.output === 'json') {
    print(toJson({ key, found: r.entry !== undefined, ...valueJson(r.entry?.value), revision: r.entry?.revision ?? null, height: r.height, epoch: r.epoch, timestampMs: r.timestampMs, ageMs: r.ageMs, stale: r.stale, replica: r.replica, verified: true }));
  } else if (cmd.output === 'table') {
    print(table(['key', 'value', 'revision', 'height', 'certified', 'stale', 'replica'], [[key, valueText(r.entry?.value), r.entry ? String(r.entry.revision) : '-', String(r.height), isoTime(r.timestampMs), r.stale ? `yes (${r.ageMs} ms)` : 'no', r.replica]]));
  } else if (!r.entry) {
    print(`${key}: absent (proof of absence verified) at height ${r.height}, certified ${when}`);
  } else {
    print(`${key} = ${valueText(r.entry.value)}\n  revision ${r.entry.revision}, height ${r.height}, certified ${when}, verified (certificate + map proof) from ${r.replica}`);
  }
  return exitCodes.ok;
}

export async function runList(client: RegistryClient, cmd: ParsedCommand, print: Print): Promise<number> {
  const prefix = cmd.args.prefix ?? '';
  const r = await client.list(prefix, freshnessOf(cmd));
  if (cmd.output === 'json') {
    print(toJson({ prefix, stale: r.stale, keys: r.keys.map((k) => ({ key: k.key, ...valueJson(k.value), revision: k.revision, height: k.height })) }));
  } else if (cmd.output === 'table') {
    print(table(['key', 'value', 'revision', 'height'], r.keys.map((k) => [k.key, valueText(k.value), String(k.revision), String(k.height)])));
  } else {
    for (const k of r.keys) print(`${k.key} = ${valueText(k.value)}  (revision ${k.revision}, height ${k.height})`);
    print(`${r.keys.length} keys under ${JSON.stringify(prefix)}${r.stale ? ' (STALE)' : ''}; each verified by its map proof (a listing's completeness cannot be proven)`);
  }
  return exitCodes.ok;
}

function changeJson(c: VerifiedChange): Record<string, unknown> {
  return { key: c.key, op: c.op, ...valueJson(c.value), revision: c.revision, height: c.height, logIndex: c.logIndex, timestampMs: c.timestampMs, clientId: c.clientId, requestId: c.requestId, verified: true };
}

function describeChange(c: VerifiedChange): string {
  const what = c.op === 'delete' ? 'deleted' : `= ${valueText(c.value)}`;
  return `[log ${c.logIndex}, height ${c.height}, ${isoTime(c.timestampMs)}] ${c.key} ${what} (revision ${c.revision}) by client ${c.clientId.slice(0, 16)}..., verified`;
}

export async function runHistory(client: RegistryClient, cmd: ParsedCommand, print: Print): Promise<number> {
  const key = cmd.args.key as string;
  const changes = await client.history(key);
  if (cmd.output === 'json') print(toJson({ key, changes: changes.map(changeJson) }));
  else if (cmd.output === 'table') print(table(['log', 'height', 'time', 'op', 'value', 'revision', 'client'], changes.map((c) => [String(c.logIndex), String(c.height), isoTime(c.timestampMs), c.op, c.op === 'delete' ? '-' : valueText(c.value), String(c.revision), `${c.clientId.slice(0, 16)}...`])));
  else {
    for (const c of changes) print(describeChange(c));
    print(`${changes.length} changes to ${key}; each verified (certificate, client signature, inclusion in the certified log)`);
  }
  return exitCodes.ok;
}

const DECIMAL = /^(?:0|[1-9][0-9]{0,18})$/;

/**
 * Where a watch starts: now (the log size of the newest verified header) by default; `--from N`
 * replays from log index N; `--from-revision R` (the prefix names one key) from the verified change
 * that made revision R of it.
 */
async function watchStart(client: RegistryClient, prefix: string, cmd: ParsedCommand): Promise<{ from: bigint; why: string }> {
  if (cmd.from !== undefined && cmd.fromRevision !== undefined) throw new CliError('usage', '--from and --from-revision: give one of them');
  if (cmd.from !== undefined) {
    if (!DECIMAL.test(cmd.from)) throw new CliError('usage', `--from ${JSON.stringify(cmd.from)}: a log index (a whole number)`);
    return { from: BigInt(cmd.from), why: '(--from)' };
  }
  if (cmd.fromRevision !== undefined) {
    const r = cmd.fromRevision;
    if (!DECIMAL.test(r)) throw new CliError('usage', `--from-revision ${JSON.stringify(r)}: a revision (a whole number)`);
    if (prefix === '' || prefix.endsWith('/')) throw new CliError('usage', '--from-revision: the prefix must name one key');
    const made = (await client.history(prefix)).find((c) => c.revision === BigInt(r) && c.op === 'put');
    if (made === undefined) throw new CliError('usage', `no verified change made revision ${r} of ${JSON.stringify(prefix)}`);
    return { from: made.logIndex, why: `(revision ${r} of ${prefix}, height ${made.height})` };
  }
  const latest = await client.latest();
  return { from: latest.certificate.header.logSize, why: `(now: height ${latest.height})` };
}

export async function runWatch(client: RegistryClient, cmd: ParsedCommand, print: Print): Promise<number> {
  const output = cmd.output;
  const prefix = cmd.args.prefix ?? '';
  const start = await watchStart(client, prefix, cmd);
  if (output === 'text') print(`watching ${JSON.stringify(prefix)} from log index ${start.from} ${start.why} (Ctrl-C to stop)`);
  const onFailure = (a: { replica: string; code: string; detail: string }) => console.error(`NOT USED: ${a.replica}: ${a.code}: ${a.detail}`);
  for await (const c of client.watch(prefix, { onFailure, fromLogIndex: start.from })) print(output === 'json' ? toJson(changeJson(c)) : describeChange(c));
  return exitCodes.ok;
}
