// The proof checks that do not involve trust state: a map proof under a
// (separately verified) header, a receipt's leaf and inclusion, a change's
// signed request, leaf and inclusion. Pure; never throws on untrusted input.
// Certificates are checked by TrustState, which caches them.

import {
  type BlockHeader,
  type ClientRequest,
  type CryptoBackend,
  equalBytes,
  hashLeaf,
  type MapEntry,
  type MapProof,
  requestSigningEpochs,
  verifyInclusion,
  verifyMembership,
  verifyNonMembership,
  verifyOrderedClientRequest,
} from '@vcr/proofs';
import { decodeLeaf, decodeOp, decodeResult, leafForRequest, type RegistryResult, singleOps } from '@vcr/registry';
import type { UntrustedChange, UntrustedReceipt } from './wire';

export type Check<T> = { ok: true; value: T } | { ok: false; detail: string };

/** The key's entry (or its absence) proven against the header's state root. */
export function verifyEntry(backend: CryptoBackend, header: BlockHeader, key: string, entry: MapEntry | null, proof: MapProof): Check<MapEntry | undefined> {
  if (entry === null) {
    const absent = verifyNonMembership(backend, { root: header.stateRoot, key, proof });
    return absent.ok ? { ok: true, value: undefined } : { ok: false, detail: `proof of absence: ${absent.reason}` };
  }
  if (entry.revision < 1n) return { ok: false, detail: 'a present entry has revision 0' };
  const present = verifyMembership(backend, { root: header.stateRoot, key, entry, proof });
  return present.ok ? { ok: true, value: { value: entry.value, revision: entry.revision } } : { ok: false, detail: `map proof: ${present.reason}` };
}

function verifyLeafInclusion(backend: CryptoBackend, header: BlockHeader, leafData: Uint8Array, logIndex: bigint, proof: readonly Uint8Array[]): string | undefined {
  const included = verifyInclusion(backend, { leafHash: hashLeaf(backend, leafData), index: logIndex, size: header.logSize, proof, root: header.logRoot });
  return included.ok ? undefined : `inclusion: ${included.reason}`;
}

/** A result must have one revision per operation when it succeeded. */
function resultFits(result: RegistryResult, request: ClientRequest): boolean {
  if (!result.ok) return true;
  const op = decodeOp(request.payload);
  return op.ok && result.revisions.length === singleOps(op.op).length;
}

/** A request this client signed, with the epoch whose domain it signed in. */
export interface SentRequest {
  request: ClientRequest;
  signedEpoch: bigint;
}

/**
 * A receipt for OUR request: the leaf is rebuilt from the request we signed
 * and the replica's result, must equal the leaf it sent, and must be included
 * at `logIndex` in the certified log, in an epoch that admits the epoch we
 * signed for. The certificate is the caller's check.
 */
export function verifyReceipt(backend: CryptoBackend, sent: SentRequest, receipt: UntrustedReceipt): Check<{ result: RegistryResult; logIndex: bigint }> {
  const header = receipt.certificate.header;
  const request = sent.request;
  if (receipt.reply.clientId !== request.clientId || receipt.reply.requestId !== request.requestId) return { ok: false, detail: 'receipt is for another request' };
  // The admission rule (requestSigningEpochs): no honest replica orders a request signed for an epoch it does not admit.
  if (!requestSigningEpochs(header.epoch).includes(sent.signedEpoch)) return { ok: false, detail: `receipt orders our request (signed for epoch ${sent.signedEpoch}) in epoch ${header.epoch}, where that signature is not admitted` };
  const leaf = leafForRequest(backend, { seq: header.height, request, result: receipt.reply.result });
  if (!equalBytes(leaf, receipt.leafData)) return { ok: false, detail: 'receipt leaf does not match our request and its result' };
  const inclusion = verifyLeafInclusion(backend, header, leaf, receipt.logIndex, receipt.inclusionProof);
  if (inclusion !== undefined) return { ok: false, detail: `receipt ${inclusion}` };
  const decoded = decodeResult(receipt.reply.result);
  if (!decoded.ok || !resultFits(decoded.result, request)) return { ok: false, detail: 'receipt result is malformed' };
  return { ok: true, value: { result: decoded.result, logIndex: receipt.logIndex } };
}

export interface VerifiedChange {
  key: string;
  op: 'put' | 'delete';
  /** The value written; undefined for a delete. */
  value: Uint8Array | undefined;
  /** The key's revision after the change (0 after a delete). */
  revision: bigint;
  height: bigint;
  logIndex: bigint;
  /** The certified time of the block that ordered it. */
  timestampMs: bigint;
  /** Hex of the Ed25519 key that signed the request. */
  clientId: string;
  requestId: bigint;
}

/**
 * A change from history or watch (docs/replica.md, "History and changes"):
 * the client's signature on the request, the leaf rebuilt from it at the
 * certified height, its inclusion, and that the request's last operation on
 * the key is this op and left it at this revision.
 */
export function verifyChange(backend: CryptoBackend, change: UntrustedChange): Check<VerifiedChange> {
  const header = change.certificate.header;
  if (change.height !== header.height) return { ok: false, detail: 'change height differs from its certificate' };
  const request = change.request;
  // The replica's admission rule: signed for the block's epoch or the one before (requestSigningEpochs).
  const signed = verifyOrderedClientRequest(backend, { chainId: header.chainId, blockEpoch: header.epoch }, request);
  if (!signed.ok) return { ok: false, detail: `client signature on the request does not verify in epoch ${requestSigningEpochs(header.epoch).join(' or ')} (${signed.reason})` };
  const leaf = decodeLeaf(change.leafData);
  if (leaf === undefined) return { ok: false, detail: 'leaf malformed' };
  const rebuilt = leafForRequest(backend, { seq: header.height, request, result: leaf.result });
  if (!equalBytes(rebuilt, change.leafData)) return { ok: false, detail: 'leaf does not match the request at this height' };
  const inclusion = verifyLeafInclusion(backend, header, rebuilt, change.logIndex, change.inclusionProof);
  if (inclusion !== undefined) return { ok: false, detail: inclusion };
  const op = decodeOp(request.payload);
  const result = decodeResult(leaf.result);
  if (!op.ok || !result.ok || !result.result.ok) return { ok: false, detail: 'the request did not apply' };
  const ops = singleOps(op.op);
  const at = ops.map((o) => o.key).lastIndexOf(change.key);
  const single = ops[at];
  if (single === undefined) return { ok: false, detail: 'the request does not touch this key' };
  const revision = result.result.revisions[at];
  if (revision === undefined || revision !== change.revision) return { ok: false, detail: 'revision does not match the result' };
  const kind = single.op === 'delete' ? 'delete' : 'put';
  if (change.op !== kind) return { ok: false, detail: 'op does not match the request' };
  return {
    ok: true,
    value: {
      key: change.key,
      op: kind,
      value: single.op === 'delete' ? undefined : single.value.slice(),
      revision,
      height: header.height,
      logIndex: change.logIndex,
      timestampMs: header.timestampMs,
      clientId: request.clientId,
      requestId: request.requestId,
    },
  };
}
