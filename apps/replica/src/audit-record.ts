// What the replica keeps of each verified consensus message for auditors
// (storage/audit-tables.ts). Batches are left out: a PRE-PREPARE's signature
// covers its header hash, and the header's batchHash binds the batch, which
// is in the committed block at that height. So every stored message still
// verifies on its own, and the record stays small.

import type { EquivocationEvidence, PeerMessage, PrePrepare } from '@vcr/consensus';
import type { AuditMessageRow, EvidenceRow } from './storage/audit-tables';
import { peerMessageToJson } from './wire';

function withoutBatch(pp: PrePrepare): PrePrepare {
  return { ...pp, batch: [] };
}

/** The message with every carried batch emptied; signatures are untouched and still verify. */
export function withoutBatches(message: PeerMessage): PeerMessage {
  switch (message.type) {
    case 'pre-prepare':
      return withoutBatch(message);
    case 'view-change':
      return { ...message, prepared: message.prepared.map((c) => ({ ...c, prePrepare: withoutBatch(c.prePrepare) })) };
    case 'new-view':
      return {
        ...message,
        viewChanges: message.viewChanges.map((vc) => withoutBatches(vc) as typeof vc),
        prePrepares: message.prePrepares.map(withoutBatch),
      };
    default:
      return message;
  }
}

function viewOf(message: PeerMessage): bigint | null {
  switch (message.type) {
    case 'view-change':
      return message.newView;
    case 'checkpoint':
    case 'epoch-accept':
      return null;
    default:
      return message.view;
  }
}

function seqOf(message: PeerMessage): bigint | null {
  return message.type === 'view-change' || message.type === 'new-view' || message.type === 'epoch-accept' ? null : message.seq;
}

export function auditRowOf(message: PeerMessage, receivedMs: number): AuditMessageRow {
  return {
    receivedMs: BigInt(receivedMs),
    type: message.type,
    sender: message.from,
    epoch: message.epoch,
    view: viewOf(message),
    seq: seqOf(message),
    signature: message.signature,
    message: JSON.stringify(peerMessageToJson(withoutBatches(message))),
  };
}

export function evidenceRowOf(evidence: EquivocationEvidence, detectedMs: number): EvidenceRow {
  return {
    detectedMs: BigInt(detectedMs),
    replica: evidence.replicaId,
    epoch: evidence.epoch,
    view: evidence.view,
    seq: evidence.seq,
    phase: evidence.phase,
    first: JSON.stringify(peerMessageToJson(withoutBatches(evidence.first))),
    second: JSON.stringify(peerMessageToJson(withoutBatches(evidence.second))),
  };
}
