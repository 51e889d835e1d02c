// The peer wire forms (PBFT messages, EPOCH-ACCEPT, committed blocks) are
// formats: they live in @vcr/proofs (peer-wire.ts), re-exported here. What
// stays is the client request's HTTP body limit and the client reply's JSON
// form, which carry the core's executor types.

import { bytesToHex, clientRequestSchema as proofsClientRequestSchema, clientRequestToJson as proofsClientRequestToJson, parseClientRequestJson as proofsParseClientRequestJson } from '@vcr/proofs';
import type * as z from 'zod';
import { consensusLimits } from './limits';
import type { ClientReply, ClientRequest } from './types';

export {
  committedBlockSchema,
  type CommittedBlockJson,
  committedBlockToJson,
  MAX_PEER_BODY_BYTES,
  parseCommittedBlockJson,
  parsePeerMessageJson,
  type PeerMessageJson,
  peerMessageSchema,
  peerMessageToJson,
} from '@vcr/proofs';

/**
 * HTTP body limit for one client request. A payload at requestPayloadBytesMax
 * is twice that in hex; 4 KiB more covers the signature, the request id and a
 * clientId at its byte limit even with every character JSON-escaped.
 */
export const MAX_CLIENT_BODY_BYTES = 2 * consensusLimits.requestPayloadBytesMax + 4 * 1024;

/** The client request's JSON form is @vcr/proofs' (wire.ts); the replica and the SDK share it. */
export const clientRequestSchema = proofsClientRequestSchema;

export type ClientRequestJson = z.input<typeof clientRequestSchema>;
export interface ClientReplyJson {
  clientId: string;
  requestId: string;
  result: string;
}

/**
 * Decodes a client request from any JSON value; the signature is the core's to check. The one
 * parser of @vcr/proofs (its zod-free fast path first): a second copy here had sent every
 * relayed and HTTP request through zod (10 % of the primary's time at 256 clients).
 */
export const parseClientRequestJson = proofsParseClientRequestJson;

export function clientRequestToJson(r: ClientRequest): ClientRequestJson {
  return proofsClientRequestToJson(r);
}

export function clientReplyToJson(r: ClientReply): ClientReplyJson {
  return { clientId: r.clientId, requestId: r.requestId.toString(), result: bytesToHex(r.result) };
}
