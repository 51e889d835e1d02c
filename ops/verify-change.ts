// Verifies one change record from GET /v1/keys/{key}/history or
// GET /v1/changes (docs/replica.md, "History and changes") without trusting
// the replica that served it: the block's certificate, the client's signature
// on the request, the log leaf rebuilt from the request and its result, the
// leaf's inclusion in the certified log, and that the request really changed
// this key to this revision.

import { bytesToHex, hashLeaf, type Membership, parseCertificateJson, parseLogProofJson, tryHexToBytes, verifyCertificate, verifyInclusion, verifyInDomain } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { requestSigningMessage } from '@vcr/consensus';
import { decodeLeaf, decodeOp, decodeResult, leafForRequest, singleOps } from '@vcr/registry';
import { parseClientRequestJson } from '../apps/replica/src/wire';

export interface VerifiedChange {
  key: string;
  op: 'put' | 'delete';
  /** The value written (undefined for a delete). */
  value: Uint8Array | undefined;
  revision: bigint;
  height: bigint;
  logIndex: bigint;
  timestampMs: bigint;
  /** Hex of the Ed25519 key that signed the request. */
  clientId: string;
}

export type ChangeVerdict = { ok: true; change: VerifiedChange } | { ok: false; reason: string };

const U63 = /^(?:0|[1-9][0-9]{0,18})$/;

export function verifyChange(membership: Membership, untrusted: unknown): ChangeVerdict {
  if (typeof untrusted !== 'object' || untrusted === null) return { ok: false, reason: 'change is not an object' };
  const c = untrusted as Record<string, unknown>;
  if (typeof c.key !== 'string' || typeof c.logIndex !== 'string' || !U63.test(c.logIndex) || typeof c.revision !== 'string' || !U63.test(c.revision) || typeof c.leafData !== 'string') {
    return { ok: false, reason: 'change fields malformed' };
  }
  const cert = parseCertificateJson(c.certificate);
  if (!cert.ok) return { ok: false, reason: 'certificate malformed' };
  const certified = verifyCertificate(nodeBackend, membership, cert.value);
  if (!certified.ok) return { ok: false, reason: `certificate: ${certified.reason}` };
  const header = cert.value.header;
  const request = parseClientRequestJson(c.request);
  if (!request.ok) return { ok: false, reason: 'request missing or malformed' };
  const clientKey = /^[0-9a-f]{64}$/.test(request.value.clientId) ? tryHexToBytes(request.value.clientId) : undefined;
  const domain = { kind: 'client-request' as const, chainId: membership.chainId, epoch: header.epoch };
  if (!clientKey || !verifyInDomain(nodeBackend, clientKey, domain, requestSigningMessage(request.value), request.value.signature)) return { ok: false, reason: 'client signature on the request does not verify' };
  const leafData = tryHexToBytes(c.leafData);
  const leaf = leafData && decodeLeaf(leafData);
  if (!leafData || !leaf) return { ok: false, reason: 'leaf malformed' };
  // The leaf must be exactly the one this request and its result make at this height.
  const rebuilt = leafForRequest(nodeBackend, { seq: header.height, request: request.value, result: leaf.result });
  if (bytesToHex(rebuilt) !== c.leafData) return { ok: false, reason: 'leaf does not match the request at this height' };
  const proof = parseLogProofJson(c.inclusionProof);
  if (!proof.ok) return { ok: false, reason: 'inclusion proof malformed' };
  const logIndex = BigInt(c.logIndex);
  const included = verifyInclusion(nodeBackend, { leafHash: hashLeaf(nodeBackend, leafData), index: logIndex, size: header.logSize, proof: proof.value, root: header.logRoot });
  if (!included.ok) return { ok: false, reason: `inclusion: ${included.reason}` };
  const op = decodeOp(request.value.payload);
  const result = decodeResult(leaf.result);
  if (!op.ok || !result.ok || !result.result.ok) return { ok: false, reason: 'the request did not apply' };
  const ops = singleOps(op.op);
  const at = ops.map((o) => o.key).lastIndexOf(c.key);
  const single = ops[at];
  if (single === undefined) return { ok: false, reason: 'the request does not touch this key' };
  const revision = result.result.revisions[at];
  if (revision === undefined || revision.toString() !== c.revision) return { ok: false, reason: 'revision does not match the result' };
  const kind = single.op === 'delete' ? 'delete' : 'put';
  if (c.op !== kind) return { ok: false, reason: 'op does not match the request' };
  return {
    ok: true,
    change: {
      key: c.key,
      op: kind,
      value: single.op === 'delete' ? undefined : single.value.slice(),
      revision,
      height: header.height,
      logIndex,
      timestampMs: header.timestampMs,
      clientId: request.value.clientId,
    },
  };
}
