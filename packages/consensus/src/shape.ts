// Cheap structural checks on untrusted peer messages and requests, run before
// any hashing or signature work. The host's wire decoder (zod) already gives
// typed values; these checks hold the core's own bounds.

import { isWellFormedHeader, isWellFormedText, limits as proofLimits, utf8 } from '@vcr/proofs';
import { consensusLimits as L } from './limits';
import type { ClientRequest, PeerMessage, PreparedCertificate, CheckpointProof } from './types';

const U63 = 1n << 63n;
const isU63 = (v: unknown): v is bigint => typeof v === 'bigint' && v >= 0n && v < U63;
const isHash = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;
const isSig = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 64;
// Text that ends up in signed or hashed bytes must be well-formed, or encoding it would throw.
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 64 && isWellFormedText(v);

export function isWellFormedRequest(r: ClientRequest): boolean {
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.clientId === 'string' &&
    r.clientId.length > 0 &&
    isWellFormedText(r.clientId) &&
    utf8(r.clientId).length <= L.clientIdBytesMax &&
    isU63(r.requestId) &&
    r.payload instanceof Uint8Array &&
    r.payload.length <= L.requestPayloadBytesMax &&
    isSig(r.signature)
  );
}

export function isWellFormedBatch(batch: unknown, bytesMax: number, countMax: number): batch is ClientRequest[] {
  if (!Array.isArray(batch) || batch.length > countMax) return false;
  let bytes = 0;
  for (const r of batch as ClientRequest[]) {
    if (!isWellFormedRequest(r)) return false;
    bytes += r.payload.length;
  }
  return bytes <= bytesMax;
}

function isBase(m: PeerMessage): boolean {
  return typeof m === 'object' && m !== null && isU63(m.epoch) && isId(m.from) && isSig(m.signature);
}

function isWellFormedCheckpointProof(c: CheckpointProof): boolean {
  return typeof c === 'object' && c !== null && isU63(c.seq) && isHash(c.headerHash) && Array.isArray(c.proof) && c.proof.length <= proofLimits.membershipSizeMax && c.proof.every((p) => isWellFormedMessage(p));
}

function isWellFormedPrepared(c: PreparedCertificate): boolean {
  return (
    typeof c === 'object' &&
    c !== null &&
    isWellFormedMessage(c.prePrepare) &&
    c.prePrepare.type === 'pre-prepare' &&
    Array.isArray(c.prepares) &&
    c.prepares.length <= proofLimits.membershipSizeMax &&
    c.prepares.every((p) => isWellFormedMessage(p) && p.type === 'prepare')
  );
}

export function isWellFormedMessage(m: PeerMessage): boolean {
  if (!isBase(m)) return false;
  switch (m.type) {
    case 'pre-prepare':
      return isU63(m.view) && isU63(m.seq) && m.seq >= 1n && isWellFormedHeader(m.header) && isWellFormedBatch(m.batch, L.batchBytesMax, L.batchRequestsMax);
    case 'prepare':
      return isU63(m.view) && isU63(m.seq) && isHash(m.headerHash);
    case 'commit':
      return isU63(m.view) && isU63(m.seq) && isHash(m.headerHash);
    case 'checkpoint':
      return isU63(m.seq) && isHash(m.headerHash);
    case 'view-change':
      return (
        isU63(m.newView) &&
        isWellFormedCheckpointProof(m.checkpoint) &&
        Array.isArray(m.prepared) &&
        m.prepared.length <= L.watermarkWindowMax &&
        m.prepared.every(isWellFormedPrepared)
      );
    case 'new-view':
      return (
        isU63(m.view) &&
        Array.isArray(m.viewChanges) &&
        m.viewChanges.length <= L.viewChangesMax &&
        m.viewChanges.every((v) => isWellFormedMessage(v) && v.type === 'view-change') &&
        Array.isArray(m.prePrepares) &&
        m.prePrepares.length <= L.watermarkWindowMax &&
        m.prePrepares.every((p) => isWellFormedMessage(p) && p.type === 'pre-prepare')
      );
    case 'epoch-accept':
      return isHash(m.lastHeaderHash) && isHash(m.nextMembershipHash);
    default:
      return false;
  }
}
