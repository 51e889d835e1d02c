// The JSON of a write's receipt (openapi.yaml `Receipt`).

import { bytesToHex, logProofToJson } from '@vcr/proofs';
import type { Receipt } from '../replica-node';
import { clientReplyToJson } from '../wire';
import { certificateJsonOf } from './certificate-json';
import type { ConsistencyJson } from './key-read';

export function receiptToJson(r: Receipt, consistency?: ConsistencyJson) {
  return {
    certificate: certificateJsonOf(r.block),
    reply: clientReplyToJson(r.reply),
    logIndex: r.logIndex.toString(),
    leafData: bytesToHex(r.leafData),
    inclusionProof: logProofToJson(r.inclusionProof),
    ...(consistency === undefined ? {} : { consistency }),
  };
}
