// The peer transport's public surface: the replica wires PeerTransport in;
// the rest is exported for tests and docs.
export { PeerTransport, type PeerTransportOptions } from './peer-transport';
export { type PeerTlsOptions } from './outbound';
export { type FrameKind, type PeerFrame } from './frame';
export { defaultTiming, PEER_WS_PATH, transportLimits, type TransportTiming } from './limits';
