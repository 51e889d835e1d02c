// Loading and following a local view from one replica (docs/client-sdk.md,
// "Local views"; the argument is docs/merkle-map.md section 8). A load reads
// the prefix's keys page by page, each page proven against its certificate,
// then reads the changes from the first page's log size to a head and
// accepts the result only if the head's prefix index counts come out
// exactly. A follow step reads the changes from the view's head to a newer
// head under the same rule. Nothing is applied unless all of it verified;
// the caller tries the next replica.

import { bytesToHex, type BlockHeader, type Certificate } from '@vcr/proofs';
import type { PrefixCounts } from '@vcr/registry';
import { acceptCertificate } from './accept';
import { verifyEntries } from './changes';
import type { ClientCore } from './core';
import type { Attempt } from './errors';
import { sdkLimits } from './limits';
import type { VerifiedChange } from './verify';
import { advanceEntries, type FloorOf, verifyKeysPage, verifyPrefixIndex, type ViewEntry } from './view-state';
import { parseAnswer, viewChangesAnswerSchema, viewKeysAnswerSchema } from './wire';

/** The certified header a view is at, with the prefix's counts there. */
export interface ViewHead {
  certificate: Certificate;
  header: BlockHeader;
  headerHash: string;
  replica: string;
  counts: PrefixCounts;
}

export type Synced<T> = { ok: true; value: T } | { ok: false; attempt: Attempt };

const refuse = (replica: string, detail: string): { ok: false; attempt: Attempt } => ({ ok: false, attempt: { replica, code: 'verification-failed', detail } });

async function acceptHead(core: ClientCore, url: string, certificate: Certificate, counts: PrefixCounts, floorHeight: bigint): Promise<Synced<ViewHead>> {
  const accepted = await acceptCertificate(core, url, certificate, 'current', floorHeight);
  if (!accepted.ok) return accepted;
  return { ok: true, value: { certificate, header: certificate.header, headerHash: bytesToHex(accepted.headerHash), replica: url, counts } };
}

/** Every change under the prefix from `from` up to the head of the last page, verified, and that head. */
async function changesToHead(core: ClientCore, url: string, prefix: string, from: bigint, waitMs: number, floorHeight: bigint, signal: AbortSignal | undefined): Promise<Synced<{ changes: VerifiedChange[]; head: ViewHead }>> {
  const changes: VerifiedChange[] = [];
  let cursor = from;
  for (let page = 0; ; page++) {
    const wait = page === 0 ? waitMs : 0;
    const path = `/v1/views/changes?prefix=${encodeURIComponent(prefix)}&from=${cursor}&limit=${sdkLimits.viewChangesPageSize}&waitMs=${wait}`;
    const opts: { timeoutMs: number; signal?: AbortSignal } = { timeoutMs: wait + sdkLimits.watchSlackMs };
    if (signal !== undefined) opts.signal = signal;
    const answer = await core.getOk(url, path, opts);
    if (!answer.ok) return answer;
    const parsed = parseAnswer(viewChangesAnswerSchema, answer.body);
    if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
    const { certificate, index, more } = parsed.value;
    // A full page may end inside one request's changes: the next page asks for that log index again, and what we hold of it is skipped.
    const seen = changes.at(-1);
    const fresh = parsed.value.entries.filter((e) => seen === undefined || e.logIndex > seen.logIndex || (e.logIndex === seen.logIndex && e.key > seen.key));
    const verified = await verifyEntries(core, url, fresh, cursor, (k) => k.startsWith(prefix), false);
    if (!verified.ok) return verified;
    changes.push(...verified.changes);
    if (changes.length > sdkLimits.viewPendingChangesMax) return { ok: false, attempt: { replica: url, code: 'too-large', detail: `more than ${sdkLimits.viewPendingChangesMax} changes before a head` } };
    if (more) {
      const last = changes.at(-1);
      if (last === undefined || verified.changes.length === 0) return { ok: false, attempt: { replica: url, code: 'no-progress', detail: 'a full page of changes that brings nothing new' } };
      cursor = last.logIndex;
      continue;
    }
    // Hashes before signatures: the index entry must be proven under the head before the head is accepted.
    const counts = verifyPrefixIndex(core.backend, certificate.header, prefix, index);
    if (!counts.ok) return refuse(url, counts.detail);
    const head = await acceptHead(core, url, certificate, counts.value, floorHeight);
    if (!head.ok) return head;
    return { ok: true, value: { changes, head: head.value } };
  }
}

/** A load's pages: the key range each covers (after its predecessor's last key) and the log size it reflects. */
interface LoadPage {
  lastKey: string | undefined;
  logSize: bigint;
}

function floorsOf(pages: readonly LoadPage[]): FloorOf {
  // Keys are in the key alphabet (printable ASCII), where string order is byte order.
  return (key) => {
    for (const page of pages) if (page.lastKey === undefined || key <= page.lastKey) return page.logSize;
    return (pages.at(-1) as LoadPage).logSize;
  };
}

/** Loads the whole view from one replica: complete at the returned head, or an attempt saying why not. */
export async function loadView(core: ClientCore, url: string, prefix: string): Promise<Synced<{ entries: Map<string, ViewEntry>; head: ViewHead }>> {
  const entries = new Map<string, ViewEntry>();
  const pages: LoadPage[] = [];
  let first: { header: BlockHeader; counts: PrefixCounts } | undefined;
  let floorHeight = core.trust.head?.height ?? 0n;
  let after: string | undefined;
  for (let page = 0; page < sdkLimits.pagesMax; page++) {
    const query = `prefix=${encodeURIComponent(prefix)}&limit=${sdkLimits.viewKeysPageSize}${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`;
    const answer = await core.getOk(url, `/v1/views/keys?${query}`);
    if (!answer.ok) return answer;
    const parsed = parseAnswer(viewKeysAnswerSchema, answer.body);
    if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
    const { certificate, keys, next, index } = parsed.value;
    const header = certificate.header;
    const listed = verifyKeysPage(core.backend, header, prefix, after, keys);
    if (!listed.ok) return refuse(url, listed.detail);
    const counts = verifyPrefixIndex(core.backend, header, prefix, index);
    if (!counts.ok) return refuse(url, counts.detail);
    if (next !== null && (listed.value.length === 0 || next !== listed.value.at(-1)?.key)) return refuse(url, 'the next cursor is not the last key of the page');
    const accepted = await acceptCertificate(core, url, certificate, 'current', floorHeight);
    if (!accepted.ok) return accepted;
    floorHeight = header.height;
    first ??= { header, counts: counts.value };
    for (const { key, entry } of listed.value) entries.set(key, entry);
    if (entries.size > sdkLimits.viewKeysMax) return { ok: false, attempt: { replica: url, code: 'too-large', detail: `more than ${sdkLimits.viewKeysMax} keys under ${JSON.stringify(prefix)}: view a narrower prefix` } };
    pages.push({ lastKey: next ?? undefined, logSize: header.logSize });
    if (next === null) break;
    after = next;
  }
  if (first === undefined) return refuse(url, 'no page');
  // Every page reflects the changes before its log size; the changes from the first page's on bring them all to one head.
  const synced = await changesToHead(core, url, prefix, first.header.logSize, 0, floorHeight, undefined);
  if (!synced.ok) return synced;
  const { changes, head } = synced.value;
  const advanced = advanceEntries(entries, { prefix, windowStart: first.header.logSize, baseChanges: first.counts.changes, changes, head: head.header, counts: head.counts, floorOf: floorsOf(pages) });
  if (!advanced.ok) return refuse(url, advanced.detail);
  return { ok: true, value: { entries, head } };
}

/**
 * One follow step from one replica: the changes from the view's head to the
 * replica's newest (long-polled), applied to `entries` only if they verify
 * and the new head's counts come out. Returns the new head and the keys that changed.
 */
export async function followView(core: ClientCore, url: string, prefix: string, entries: Map<string, ViewEntry>, at: ViewHead, waitMs: number, signal: AbortSignal | undefined): Promise<Synced<{ head: ViewHead; changedKeys: string[] }>> {
  const synced = await changesToHead(core, url, prefix, at.header.logSize, waitMs, at.header.height, signal);
  if (!synced.ok) return synced;
  const { changes, head } = synced.value;
  if (head.header.height < at.header.height) return { ok: false, attempt: { replica: url, code: 'rollback', detail: `head ${head.header.height} is below the view's ${at.header.height}` } };
  const advanced = advanceEntries(entries, { prefix, windowStart: at.header.logSize, baseChanges: at.counts.changes, changes, head: head.header, counts: head.counts, floorOf: () => 0n });
  if (!advanced.ok) return refuse(url, advanced.detail);
  return { ok: true, value: { head, changedKeys: advanced.value } };
}
