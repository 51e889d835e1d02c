// Key history and watch, both built on verified change records
// (docs/replica.md, "History and changes"). A page is used only if every
// entry in it verifies (certificate through the trust state, signed request,
// rebuilt leaf, inclusion, op and revision), its entries are in strictly
// increasing log order at or after the cursor, and its `next` cursor is
// exactly one past its last entry (or the cursor itself when empty), so a
// replica can neither replay old changes as new nor skip ahead.
// Completeness cannot be proven: a replica may leave changes out.

import { acceptCertificate } from './accept';
import type { ClientCore } from './core';
import { type Attempt, ReplicasFailedError } from './errors';
import { sdkLimits } from './limits';
import { type VerifiedChange, verifyChange } from './verify';
import { changesAnswerSchema, historyAnswerSchema, parseAnswer, type UntrustedChange } from './wire';

type Page = { ok: true; changes: VerifiedChange[]; next: bigint | null } | { ok: false; attempt: Attempt };

export async function verifyEntries(core: ClientCore, url: string, entries: readonly UntrustedChange[], from: bigint, belongs: (key: string) => boolean, oneKey: boolean): Promise<{ ok: true; changes: VerifiedChange[] } | { ok: false; attempt: Attempt }> {
  const bad = (detail: string) => ({ ok: false as const, attempt: { replica: url, code: 'verification-failed' as const, detail } });
  const changes: VerifiedChange[] = [];
  let floor = from;
  let keysAtFloor = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    if (!belongs(entry.key)) return bad(`change ${i} is for a key outside the request`);
    if (entry.logIndex < floor || (entry.logIndex === floor && keysAtFloor.has(entry.key))) return bad(`change ${i} is out of log order, repeated or before the cursor`);
    const verdict = verifyChange(core.backend, entry);
    if (!verdict.ok) return bad(`change ${i}: ${verdict.detail}`);
    const accepted = await acceptCertificate(core, url, entry.certificate, 'historic');
    if (!accepted.ok) return { ok: false, attempt: { ...accepted.attempt, detail: `change ${i}: ${accepted.attempt.detail}` } };
    changes.push(verdict.value);
    // Changes of one request (a transaction) to several keys share a log index; one key's changes never do.
    if (oneKey) floor = entry.logIndex + 1n;
    else {
      if (entry.logIndex !== floor) keysAtFloor = new Set();
      floor = entry.logIndex;
      keysAtFloor.add(entry.key);
    }
  }
  return { ok: true, changes };
}

async function historyPage(core: ClientCore, url: string, key: string, from: bigint): Promise<Page> {
  const answer = await core.getOk(url, `/v1/keys/${encodeURIComponent(key)}/history?from=${from}&limit=${sdkLimits.changesPageSize}`);
  if (!answer.ok) return answer;
  const parsed = parseAnswer(historyAnswerSchema, answer.body);
  if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
  const verified = await verifyEntries(core, url, parsed.value.entries, from, (k) => k === key, true);
  if (!verified.ok) return verified;
  const last = verified.changes.at(-1);
  const next = parsed.value.next;
  if (next !== null && (last === undefined || next !== last.logIndex + 1n)) return { ok: false, attempt: { replica: url, code: 'verification-failed', detail: 'history cursor does not follow its last entry' } };
  return { ok: true, changes: verified.changes, next };
}

/** Every change to a key from log index `from`, each verified, page by page with failover. */
export async function keyHistory(core: ClientCore, key: string, from = 0n): Promise<VerifiedChange[]> {
  const out: VerifiedChange[] = [];
  let cursor: bigint | null = from;
  for (let page = 0; cursor !== null && page < sdkLimits.pagesMax; page++) {
    const attempts: Attempt[] = [];
    let got: Page | undefined;
    for (const url of core.order()) {
      const r = await historyPage(core, url, key, cursor);
      if (r.ok) {
        core.markGood(url);
        got = r;
        break;
      }
      attempts.push(r.attempt);
    }
    if (got === undefined || !got.ok) throw new ReplicasFailedError(`history ${JSON.stringify(key)}`, attempts);
    out.push(...got.changes);
    cursor = got.next;
  }
  return out;
}

export interface WatchOptions {
  /** Log index to start from (0: from the beginning). Resume with the last yielded change's logIndex + 1. */
  fromLogIndex?: bigint;
  /** Long-poll wait per request, 1 s to 30 s (the replica caps it at 30 s). */
  waitMs?: number;
  /** Stops the watch: the iterator ends. */
  signal?: AbortSignal;
  /** Called for every replica answer that was not used (logging); the watch keeps going. */
  onFailure?: (attempt: Attempt) => void;
  /** Throw after this many rounds in which every replica failed (default: never give up). */
  maxFailedRounds?: number;
}

async function changesPage(core: ClientCore, url: string, prefix: string, from: bigint, waitMs: number, signal: AbortSignal | undefined): Promise<{ ok: true; changes: VerifiedChange[]; next: bigint } | { ok: false; attempt: Attempt }> {
  const path = `/v1/changes?prefix=${encodeURIComponent(prefix)}&from=${from}&limit=${sdkLimits.changesPageSize}&waitMs=${waitMs}`;
  const opts: { timeoutMs: number; signal?: AbortSignal } = { timeoutMs: waitMs + sdkLimits.watchSlackMs };
  if (signal !== undefined) opts.signal = signal;
  const answer = await core.getOk(url, path, opts);
  if (!answer.ok) return answer;
  const parsed = parseAnswer(changesAnswerSchema, answer.body);
  if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
  const verified = await verifyEntries(core, url, parsed.value.entries, from, (k) => k.startsWith(prefix), false);
  if (!verified.ok) return verified;
  const last = verified.changes.at(-1);
  const expected = last === undefined ? from : last.logIndex + 1n;
  if (parsed.value.next !== expected) return { ok: false, attempt: { replica: url, code: 'verification-failed', detail: `changes cursor ${parsed.value.next} where ${expected} was due` } };
  return { ok: true, changes: verified.changes, next: expected };
}

/** The pause after the k-th early empty answer in a row: doubling from watchEarlyBackoffMs, bounded. */
export function earlyBackoffMs(k: number): number {
  return Math.min(sdkLimits.watchEarlyBackoffMs * 2 ** Math.min(Math.max(k - 1, 0), 30), sdkLimits.watchEarlyBackoffMsMax);
}

/** core.sleep, cut short when the watch is stopped. */
function pause(core: ClientCore, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return core.sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void core.sleep(ms).then(done);
  });
}

/**
 * Verified changes under a prefix, in log order, forever (until the signal
 * aborts or the consumer stops). Resumes from the last index seen after any
 * failure, on the next replica.
 *
 * An honest replica answers a long poll with nothing only at the end of its
 * wait. An empty answer before half the wait is "early": the watch pauses
 * (a growing, bounded delay) before asking again, and watchEarlyEmptyMax
 * early answers in a row count as a failure of that replica (attempt code
 * 'no-progress'), so a replica that answers every poll at once and empty
 * can neither make the watch hammer it nor keep it from the others.
 */
export async function* watchChanges(core: ClientCore, prefix: string, opts: WatchOptions = {}): AsyncGenerator<VerifiedChange, void, undefined> {
  let from = opts.fromLogIndex ?? 0n;
  const waitMs = Math.min(Math.max(opts.waitMs ?? sdkLimits.watchWaitMs, sdkLimits.watchWaitMsMin), 30_000);
  let failedInRow = 0;
  let failedRounds = 0;
  let attempts: Attempt[] = [];
  let index = 0;
  // Early empty answers in a row: from any replica (the pause grows with it), and from the one asked now.
  let earlyInRow = 0;
  let earlyHere = 0;
  while (!opts.signal?.aborted) {
    const order = core.order();
    const url = order[index % order.length] as string;
    const sentAtMs = core.now();
    const r = await changesPage(core, url, prefix, from, waitMs, opts.signal);
    if (opts.signal?.aborted) return;
    let failure = r.ok ? undefined : r.attempt;
    if (r.ok && r.changes.length === 0 && core.now() - sentAtMs < waitMs / 2) {
      await pause(core, earlyBackoffMs(++earlyInRow), opts.signal);
      if (++earlyHere < sdkLimits.watchEarlyEmptyMax) continue;
      failure = { replica: url, code: 'no-progress', detail: `${earlyHere} long polls in a row answered empty before half their ${waitMs} ms wait` };
    }
    if (failure !== undefined) {
      earlyHere = 0;
      opts.onFailure?.(failure);
      attempts.push(failure);
      index++;
      if (++failedInRow >= order.length) {
        failedInRow = 0;
        if (opts.maxFailedRounds !== undefined && ++failedRounds >= opts.maxFailedRounds) throw new ReplicasFailedError(`watch ${JSON.stringify(prefix)} from ${from}`, attempts);
        attempts = [];
        await pause(core, sdkLimits.watchRetryMs, opts.signal);
      }
      continue;
    }
    if (!r.ok) continue;
    core.markGood(url);
    index = 0;
    failedInRow = 0;
    failedRounds = 0;
    attempts = [];
    earlyInRow = 0;
    earlyHere = 0;
    for (const change of r.changes) {
      yield change;
      from = change.logIndex + 1n;
    }
    from = r.next;
  }
}
