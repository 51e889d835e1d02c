// Pending approvals and organization records through the trust state
// (docs/client-sdk.md, "Auditing"): each answer's certificate is accepted as
// a current read is (rollback, certificate, fork, consistency), each
// submission's certificate as a historic one, and everything else is
// checked by audit-checks.ts. Failover as for reads; the first answer that
// verifies wins.

import { acceptCertificate } from './accept';
import { type OrgRecord } from '@vcr/registry';
import type { ClientCore } from './core';
import { type Attempt, ReplicasFailedError } from './errors';
import { verifyOrgRecords, verifyPendingChange, type VerifiedPendingChange } from './audit-checks';
import { orgRecordsSchema, pendingListSchema } from './audit-wire';
import { parseAnswer } from './wire';

type Outcome<T> = { ok: true; value: T } | { ok: false; attempt: Attempt };

export interface VerifiedPendingList {
  /** The certified height the records were read at, and its time. */
  height: bigint;
  timestampMs: bigint;
  replica: string;
  /** Newest first. */
  changes: VerifiedPendingChange[];
}

export interface VerifiedOrgs {
  height: bigint;
  replica: string;
  /** Each asked organization's record, undefined where it does not exist (proven absent). */
  orgs: Map<string, OrgRecord | undefined>;
}

async function firstVerified<T>(core: ClientCore, what: string, from: (url: string) => Promise<Outcome<T>>): Promise<T> {
  const attempts: Attempt[] = [];
  for (const url of core.order()) {
    const r = await from(url);
    if (r.ok) {
      core.markGood(url);
      return r.value;
    }
    attempts.push(r.attempt);
  }
  throw new ReplicasFailedError(what, attempts);
}

async function pendingFrom(core: ClientCore, url: string): Promise<Outcome<VerifiedPendingList>> {
  const answer = await core.getOk(url, '/v1/pending');
  if (!answer.ok) return answer;
  const parsed = parseAnswer(pendingListSchema, answer.body);
  if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
  const { certificate, changes } = parsed.value;
  const changesOut: VerifiedPendingChange[] = [];
  for (const c of changes) {
    const v = verifyPendingChange(core.backend, certificate.header, c);
    if (!v.ok) return { ok: false, attempt: { replica: url, code: 'verification-failed', detail: v.detail } };
    changesOut.push(v.value);
  }
  const accepted = await acceptCertificate(core, url, certificate, 'current');
  if (!accepted.ok) return accepted;
  for (const s of changes.flatMap((c) => c.submissions)) {
    const ok = await acceptCertificate(core, url, s.certificate, 'historic');
    if (!ok.ok) return { ok: false, attempt: { ...ok.attempt, detail: `submission at log index ${s.logIndex}: ${ok.attempt.detail}` } };
  }
  return { ok: true, value: { height: certificate.header.height, timestampMs: certificate.header.timestampMs, replica: url, changes: changesOut } };
}

/** The pending changes recent blocks submitted, each with its proven record and submissions (completeness cannot be proven). */
export function listPending(core: ClientCore): Promise<VerifiedPendingList> {
  return firstVerified(core, 'pending changes', (url) => pendingFrom(core, url));
}

async function orgsFrom(core: ClientCore, url: string, names: readonly string[]): Promise<Outcome<VerifiedOrgs>> {
  const answer = await core.getOk(url, `/v1/orgs?names=${names.map(encodeURIComponent).join(',')}`);
  if (!answer.ok) return answer;
  const parsed = parseAnswer(orgRecordsSchema, answer.body);
  if (!parsed.ok) return { ok: false, attempt: { replica: url, code: 'malformed', detail: parsed.detail } };
  const { certificate, orgs } = parsed.value;
  const asked = new Set(names);
  if (orgs.length !== asked.size || !orgs.every((o) => asked.has(o.org))) return { ok: false, attempt: { replica: url, code: 'verification-failed', detail: 'the answer is for other organizations' } };
  const v = verifyOrgRecords(core.backend, certificate.header, orgs);
  if (!v.ok) return { ok: false, attempt: { replica: url, code: 'verification-failed', detail: v.detail } };
  const accepted = await acceptCertificate(core, url, certificate, 'current');
  if (!accepted.ok) return accepted;
  return { ok: true, value: { height: certificate.header.height, replica: url, orgs: v.value } };
}

/** Organization records (client and admin keys) from the certified state, each proven present or absent. */
export function readOrgs(core: ClientCore, names: readonly string[]): Promise<VerifiedOrgs> {
  return firstVerified(core, 'organization records', (url) => orgsFrom(core, url, names));
}
