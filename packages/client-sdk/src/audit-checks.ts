// Checks for what an auditor reads beyond keys (docs/client-sdk.md,
// "Auditing"): the certified result of each request of a block, organization
// records, and pending changes with the requests that submitted them. Pure,
// like verify.ts: every header passed in must already be verified (the
// caller's certificate check); these check everything else and never throw
// on untrusted input.

import { type BlockHeader, type ClientRequest, type CryptoBackend, equalBytes, hashLeaf, headerHash, verifyInclusion, verifyOrderedClientRequest } from '@vcr/proofs';
import { changeKey, decodeLeaf, decodeOp, decodeOrgRecord, decodePendingRecord, decodeResult, leafForRequest, type OrgRecord, orgKey, type PendingRecord, pendingKey, type RegistryOp, type RegistryResult, singleOps } from '@vcr/registry';
import { type Check, verifyEntry } from './verify';
import type { UntrustedBlockResults, UntrustedOrgRecords, UntrustedPendingChange, UntrustedSubmission } from './audit-wire';

/** What became of one request of a block's batch. */
export type RequestOutcome =
  /** Executed: its certified result, decoded, and its log index. */
  | { executed: true; result: RegistryResult; logIndex: bigint }
  /** In the batch but not executed (a repeated request id, or one outside the id window): no leaf, no effect. */
  | { executed: false };

/**
 * The results of a block's requests, in batch order: the previous header must be the one `header`
 * chains to (its log size is where the block's leaves start; 0 at height 1), the leaves must be
 * exactly the block's log range, each included in its log root, each naming a request of the batch
 * at this height, in batch order.
 */
export function verifyBlockResults(backend: CryptoBackend, header: BlockHeader, batch: readonly ClientRequest[], untrusted: UntrustedBlockResults): Check<RequestOutcome[]> {
  if (untrusted.height !== header.height) return { ok: false, detail: 'results are for another height' };
  let first = 0n;
  if (header.height > 1n) {
    if (untrusted.previousHeader === null) return { ok: false, detail: 'the previous header is missing' };
    if (!equalBytes(headerHash(backend, untrusted.previousHeader), header.prevHash)) return { ok: false, detail: 'the previous header is not the one the block chains to' };
    first = untrusted.previousHeader.logSize;
  } else if (untrusted.previousHeader !== null) return { ok: false, detail: 'block 1 has no previous header' };
  if (BigInt(untrusted.leaves.length) !== header.logSize - first) return { ok: false, detail: `the block added ${header.logSize - first} log leaves, the answer has ${untrusted.leaves.length}` };
  const outcomes: RequestOutcome[] = batch.map(() => ({ executed: false }));
  let at = 0;
  for (const [i, leaf] of untrusted.leaves.entries()) {
    const index = first + BigInt(i);
    if (leaf.logIndex !== index) return { ok: false, detail: `leaf ${i} has log index ${leaf.logIndex}, not ${index}` };
    const included = verifyInclusion(backend, { leafHash: hashLeaf(backend, leaf.leafData), index, size: header.logSize, proof: leaf.inclusionProof, root: header.logRoot });
    if (!included.ok) return { ok: false, detail: `leaf ${index}: inclusion: ${included.reason}` };
    const names = decodeLeaf(leaf.leafData);
    if (names === undefined) return { ok: false, detail: `leaf ${index} is malformed` };
    // Leaves follow the batch order; the one request that matches is found by its hash, bound into the leaf.
    const found = batch.findIndex((r, j) => j >= at && r.clientId === names.clientId && r.requestId === names.requestId);
    const request = batch[found];
    if (request === undefined || !equalBytes(leafForRequest(backend, { seq: header.height, request, result: names.result }), leaf.leafData)) {
      return { ok: false, detail: `leaf ${index} names no request of this batch at this height` };
    }
    const result = decodeResult(names.result);
    if (!result.ok) return { ok: false, detail: `leaf ${index}: result ${result.reason}` };
    outcomes[found] = { executed: true, result: result.result, logIndex: index };
    at = found + 1;
  }
  return { ok: true, value: outcomes };
}

/** Organization records proven against a verified header's state root; undefined where the organization does not exist. */
export function verifyOrgRecords(backend: CryptoBackend, header: BlockHeader, untrusted: UntrustedOrgRecords['orgs']): Check<Map<string, OrgRecord | undefined>> {
  const out = new Map<string, OrgRecord | undefined>();
  for (const o of untrusted) {
    const entry = o.record === null ? null : { value: o.record, revision: o.revision };
    const proven = verifyEntry(backend, header, orgKey(o.org), entry, o.proof);
    if (!proven.ok) return { ok: false, detail: `organization ${o.org}: ${proven.detail}` };
    const record = proven.value === undefined ? undefined : decodeOrgRecord(proven.value.value);
    if (proven.value !== undefined && record === undefined) return { ok: false, detail: `organization ${o.org}: record does not decode` };
    out.set(o.org, record);
  }
  return { ok: true, value: out };
}

/** The organizations (of `records`, in their order) that list `clientId` as a client or admin key. */
export function orgsOfClient(records: ReadonlyMap<string, OrgRecord | undefined>, clientId: string): string[] {
  return [...records.entries()].filter(([, r]) => r !== undefined && (r.clients.includes(clientId) || r.admins.includes(clientId))).map(([org]) => org);
}

export interface VerifiedSubmission {
  height: bigint;
  logIndex: bigint;
  timestampMs: bigint;
  clientId: string;
  requestId: bigint;
  op: RegistryOp;
  /** Its certified result: `pending-approval` with the approvals so far in its detail. */
  result: RegistryResult;
}

/** One request that submitted the change `key`: signed, its leaf rebuilt and included, its ops hashing to the key. The certificate is the caller's check. */
export function verifySubmission(backend: CryptoBackend, key: string, s: UntrustedSubmission): Check<VerifiedSubmission> {
  const header = s.certificate.header;
  if (s.height !== header.height) return { ok: false, detail: 'submission height differs from its certificate' };
  const signed = verifyOrderedClientRequest(backend, { chainId: header.chainId, blockEpoch: header.epoch }, s.request);
  if (!signed.ok) return { ok: false, detail: `client signature on the request does not verify (${signed.reason})` };
  const leaf = decodeLeaf(s.leafData);
  if (leaf === undefined || !equalBytes(leafForRequest(backend, { seq: header.height, request: s.request, result: leaf.result }), s.leafData)) return { ok: false, detail: 'leaf does not match the request at this height' };
  const included = verifyInclusion(backend, { leafHash: hashLeaf(backend, s.leafData), index: s.logIndex, size: header.logSize, proof: s.inclusionProof, root: header.logRoot });
  if (!included.ok) return { ok: false, detail: `inclusion: ${included.reason}` };
  const op = decodeOp(s.request.payload);
  const result = decodeResult(leaf.result);
  if (!op.ok || !result.ok) return { ok: false, detail: 'request or result malformed' };
  if (changeKey(backend, singleOps(op.op)) !== key) return { ok: false, detail: 'the request submits another change' };
  if (result.result.ok || result.result.error !== 'pending-approval') return { ok: false, detail: 'the request did not submit a pending change' };
  return { ok: true, value: { height: header.height, logIndex: s.logIndex, timestampMs: header.timestampMs, clientId: s.request.clientId, requestId: s.request.requestId, op: op.op, result: result.result } };
}

export interface VerifiedPendingChange {
  /** The change key's hash part. */
  change: string;
  /** Its record in the certified state; undefined when it no longer waits (applied or expired). */
  record: PendingRecord | undefined;
  /** Proposal first, then each approval, in log order. */
  submissions: VerifiedSubmission[];
}

/** A listed pending change: its record (or absence) proven against the verified `header`, each submission checked (certificates are the caller's). */
export function verifyPendingChange(backend: CryptoBackend, header: BlockHeader, c: UntrustedPendingChange): Check<VerifiedPendingChange> {
  const key = pendingKey(c.change);
  const entry = c.record === null ? null : { value: c.record, revision: c.revision };
  const proven = verifyEntry(backend, header, key, entry, c.proof);
  if (!proven.ok) return { ok: false, detail: `change ${c.change}: ${proven.detail}` };
  const record = proven.value === undefined ? undefined : decodePendingRecord(proven.value.value);
  if (proven.value !== undefined && record === undefined) return { ok: false, detail: `change ${c.change}: record does not decode` };
  const submissions: VerifiedSubmission[] = [];
  for (const [i, s] of c.submissions.entries()) {
    const v = verifySubmission(backend, key, s);
    if (!v.ok) return { ok: false, detail: `change ${c.change}, submission ${i}: ${v.detail}` };
    if (submissions.length > 0 && v.value.logIndex <= (submissions.at(-1) as VerifiedSubmission).logIndex) return { ok: false, detail: `change ${c.change}: submissions out of log order` };
    submissions.push(v.value);
  }
  if (submissions.length === 0) return { ok: false, detail: `change ${c.change}: no submission` };
  return { ok: true, value: { change: c.change, record, submissions } };
}
