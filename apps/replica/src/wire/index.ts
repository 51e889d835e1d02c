// The JSON wire forms between peers and with clients live in @vcr/consensus
// (wire.ts) so the console can parse and verify the audit record too.
export {
  clientReplyToJson,
  clientRequestToJson,
  committedBlockToJson,
  MAX_CLIENT_BODY_BYTES,
  MAX_PEER_BODY_BYTES,
  parseClientRequestJson,
  parseCommittedBlockJson,
  parsePeerMessageJson,
  peerMessageToJson,
} from '@vcr/consensus';
