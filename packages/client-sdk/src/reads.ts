// Verified reads: one key (get) and a prefix listing (list). For each replica
// in failover order: parse the answer (zod), check the map proof against the
// header's state root (hashes only), accept the certificate through the
// trust state (rollback, certificate, fork, log consistency), then check
// freshness. The first fresh verified answer wins; with `allowStale`, the
// freshest verified stale answer is returned, flagged, when no fresh one came.

import { type Certificate, compareBytes, utf8 } from '@vcr/proofs';
import { checkUserKey } from '@vcr/registry';
import { acceptCertificate, type CarriedConsistency, proveFromQuery } from './accept';
import type { ClientCore } from './core';
import { type Attempt, RegistryError, ReplicasFailedError } from './errors';
import { sdkLimits } from './limits';
import { verifyEntry } from './verify';
import { listAnswerSchema, parseAnswer, parseReadAnswer } from './wire';

export interface ReadOptions {
  /** Largest accepted age of the certified timestamp, by the local clock (default 30 s). */
  maxStalenessMs?: number;
  /** Return a verified but stale answer, flagged `stale: true`, when no replica has a fresh one. Default false: stale is an error. */
  allowStale?: boolean;
  /** Order the read after everything committed before it (a noop through consensus first). */
  linearizable?: boolean;
}

/** Where a verified answer comes from. */
export interface Certified {
  height: bigint;
  epoch: bigint;
  timestampMs: bigint;
  /** Local clock minus the certified timestamp (never negative). */
  ageMs: number;
  stale: boolean;
  replica: string;
  headerHash: string;
  /** Shared with the client's certificate cache (frozen when it came from a read's text): read it, never change it. */
  certificate: Certificate;
}

export interface VerifiedRead extends Certified {
  key: string;
  /** Undefined only with a verified proof of absence. */
  entry: { value: Uint8Array; revision: bigint } | undefined;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; attempt: Attempt };

function freshness(core: ClientCore, cert: Certificate, maxStalenessMs: number): { ageMs: number; stale: boolean } {
  const age = core.now() - Number(cert.header.timestampMs);
  const ageMs = age > 0 ? age : 0;
  return { ageMs, stale: ageMs > maxStalenessMs };
}

async function certify(core: ClientCore, url: string, cert: Certificate, maxStalenessMs: number, floorHeight: bigint, carried?: CarriedConsistency): Promise<Outcome<Certified>> {
  const accepted = await acceptCertificate(core, url, cert, 'current', floorHeight, carried);
  if (!accepted.ok) return accepted;
  const h = cert.header;
  return { ok: true, value: { height: h.height, epoch: h.epoch, timestampMs: h.timestampMs, ...freshness(core, cert, maxStalenessMs), replica: url, headerHash: accepted.headerHashHex, certificate: cert } };
}

async function readFrom(core: ClientCore, url: string, key: string, maxStalenessMs: number, minHeight: bigint): Promise<Outcome<VerifiedRead>> {
  const floorHeight = core.trust.head?.height ?? 0n;
  const answer = await core.getOk(url, `/v1/keys/${encodeURIComponent(key)}${proveFromQuery(core.trust, '?')}`);
  if (!answer.ok) return answer;
  // Parsed once, cheap checks first: the shape, the key, the height; then the map proof (hashes); the certificate
  // (a text verified before is recognized without parsing, hashing or signatures) goes through the trust state last.
  const parsed = parseReadAnswer(answer.body);
  if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
  const read = core.trust.certificateOfJson(parsed.value.certificate);
  if (!read.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: read.detail } };
  const { certificate } = read;
  const { entry, proof } = parsed.value;
  if (parsed.value.key !== key) return { ok: false, attempt: { replica: url, code: 'verification-failed', detail: 'answer is for another key' } };
  if (certificate.header.height < minHeight) return { ok: false, attempt: { replica: url, code: 'behind', detail: `certified height ${certificate.header.height}, the read is ordered at ${minHeight}` } };
  const proven = verifyEntry(core.backend, certificate.header, key, entry, proof);
  if (!proven.ok) return { ok: false, attempt: { replica: url, code: 'verification-failed', detail: proven.detail } };
  const certified = await certify(core, url, certificate, maxStalenessMs, floorHeight, parsed.value.consistency);
  if (!certified.ok) return certified;
  return { ok: true, value: { key, entry: proven.value, ...certified.value } };
}

export function requireKey(key: string, what = 'key'): void {
  const rejection = checkUserKey(key);
  if (rejection !== undefined) throw new RegistryError('bad-argument', `${what} ${JSON.stringify(String(key).slice(0, 64))} refused: ${rejection}`);
}

/** Tries every replica (in rounds while a linearizable read waits for one to reach `minHeight`). */
export async function readKey(core: ClientCore, key: string, opts: ReadOptions, minHeight = 0n): Promise<VerifiedRead> {
  requireKey(key);
  const maxStalenessMs = opts.maxStalenessMs ?? core.settings.maxStalenessMs;
  const waitUntil = core.now() + (minHeight > 0n ? core.settings.linearizableWaitMs : 0);
  let bestStale: VerifiedRead | undefined;
  // A replica a block or two behind what this client already trusts answers with a "rollback": give
  // it a few short rounds to catch up (bounded by rounds, not by the clock) before failing.
  for (let round = 1; ; round++) {
    const attempts: Attempt[] = [];
    for (const url of core.order()) {
      const r = await readFrom(core, url, key, maxStalenessMs, minHeight);
      if (r.ok && !r.value.stale) {
        core.markGood(url);
        return r.value;
      }
      if (r.ok) {
        if (bestStale === undefined || r.value.height > bestStale.height) bestStale = r.value;
        attempts.push({ replica: url, code: 'stale', detail: `certified ${r.value.ageMs} ms ago, bound ${maxStalenessMs} ms` });
      } else attempts.push(r.attempt);
    }
    if (opts.allowStale && bestStale !== undefined) return bestStale;
    const waiting = attempts.some((a) => a.code === 'behind' || a.code === 'rollback');
    const outOfTime = minHeight > 0n ? core.now() >= waitUntil : round >= sdkLimits.lagRetryRounds;
    if (!waiting || outOfTime) throw new ReplicasFailedError(`get ${JSON.stringify(key)}`, attempts);
    await core.sleep(50);
  }
}

export interface ListedKey {
  key: string;
  value: Uint8Array;
  revision: bigint;
  height: bigint;
}

/** One page of a listing: the certified header its entries were proven under. */
export type ListingPage = Omit<Certified, 'certificate'>;

export interface VerifiedListing {
  prefix: string;
  /** The certified header of each page, in order (a key's `height` names its page). */
  pages: ListingPage[];
  /** Every entry verified by its map proof; completeness cannot be proven (a replica may leave keys out). */
  keys: ListedKey[];
  /** True when some page was certified longer ago than the bound (only with allowStale). */
  stale: boolean;
}

async function listPage(core: ClientCore, url: string, prefix: string, after: string | undefined, maxStalenessMs: number): Promise<Outcome<{ keys: ListedKey[]; next: string | null; stale: boolean; page: ListingPage }>> {
  const query = `prefix=${encodeURIComponent(prefix)}&limit=${sdkLimits.listPageSize}${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`;
  const floorHeight = core.trust.head?.height ?? 0n;
  const answer = await core.getOk(url, `/v1/keys?${query}`);
  if (!answer.ok) return answer;
  const parsed = parseAnswer(listAnswerSchema, answer.body);
  if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
  const { certificate, keys, next } = parsed.value;
  const bad = (detail: string): Outcome<never> => ({ ok: false, attempt: { replica: url, code: 'verification-failed', detail } });
  let previous = after;
  const out: ListedKey[] = [];
  for (const item of keys) {
    // Keys come in UTF-8 byte order (code point order), strictly after the cursor and under the prefix.
    if (!item.key.startsWith(prefix)) return bad(`listed key ${JSON.stringify(item.key.slice(0, 64))} is outside the prefix`);
    if (previous !== undefined && compareBytes(utf8(previous), utf8(item.key)) >= 0) return bad('listed keys are not in strictly increasing order');
    const proven = verifyEntry(core.backend, certificate.header, item.key, { value: item.value, revision: item.revision }, item.proof);
    if (!proven.ok) return bad(`${JSON.stringify(item.key.slice(0, 64))}: ${proven.detail}`);
    out.push({ key: item.key, value: item.value, revision: item.revision, height: certificate.header.height });
    previous = item.key;
  }
  // A page must advance: an empty page naming a next cursor would have the listing ask again forever.
  if (next !== null && out.length === 0) return { ok: false, attempt: { replica: url, code: 'no-progress', detail: 'an empty listing page names a next cursor: it does not advance' } };
  if (next !== null && next !== previous) return bad('the next cursor is not the last listed key');
  const certified = await certify(core, url, certificate, maxStalenessMs, floorHeight);
  if (!certified.ok) return certified;
  const { certificate: _certificate, ...page } = certified.value;
  return { ok: true, value: { keys: out, next, stale: certified.value.stale, page } };
}

/** Every live key under a prefix, page by page, each page from the first replica that verifies. */
export async function listKeys(core: ClientCore, prefix: string, opts: Omit<ReadOptions, 'linearizable'>): Promise<VerifiedListing> {
  const maxStalenessMs = opts.maxStalenessMs ?? core.settings.maxStalenessMs;
  const keys: ListedKey[] = [];
  const pages: ListingPage[] = [];
  let stale = false;
  let after: string | undefined;
  for (let page = 0; page < sdkLimits.pagesMax; page++) {
    const attempts: Attempt[] = [];
    let got: { keys: ListedKey[]; next: string | null; stale: boolean; page: ListingPage } | undefined;
    for (const url of core.order()) {
      const r = await listPage(core, url, prefix, after, maxStalenessMs);
      if (r.ok && (!r.value.stale || opts.allowStale)) {
        core.markGood(url);
        got = r.value;
        break;
      }
      attempts.push(r.ok ? { replica: url, code: 'stale', detail: 'listing certified too long ago' } : r.attempt);
    }
    if (got === undefined) throw new ReplicasFailedError(`list ${JSON.stringify(prefix)}`, attempts);
    keys.push(...got.keys);
    pages.push(got.page);
    stale ||= got.stale;
    if (got.next === null) break;
    after = got.next;
  }
  return { prefix, pages, keys, stale };
}
