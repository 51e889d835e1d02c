// Every bound and timer of the peer transport, in one place (STYLE: "put a
// limit on everything"). Tests may shorten the timers through
// PeerTransportOptions.timing; the bounds are fixed.

import { MAX_PEER_BODY_BYTES } from '../wire';

export const transportLimits = {
  /**
   * The largest WebSocket message a peer may send (ws maxPayload). The same
   * bound as the HTTP peer body it replaces; a larger message closes the socket.
   */
  frameBytesMax: MAX_PEER_BODY_BYTES,
  /**
   * Frames waiting in one inbound peer's intake queue. 4096 is several full
   * PBFT rounds of a busy 4-replica cluster; past it the peer is far ahead of
   * us and PBFT retransmission (and client retry) recovers what we drop.
   */
  intakeFramesPerPeerMax: 4096,
  /**
   * Bytes of text waiting in one inbound peer's intake queue: four maximal
   * frames. With n peers the intake holds at most n times this.
   */
  intakeBytesPerPeerMax: 32 * 1024 * 1024,
  /**
   * Frames the drain loop hands to onFrame in one event-loop turn before it
   * yields (setImmediate), so sockets and the HTTP server keep being served.
   */
  drainFramesPerTurnMax: 256,
  /**
   * Bytes ws may hold unsent for one outbound peer. Past it the peer (or the
   * link) is not keeping up, and a message to it is dropped rather than queued.
   */
  outboundBufferedBytesMax: 16 * 1024 * 1024,
  /** A challenge, hello or welcome is under 400 bytes; anything past this is refused before JSON.parse. */
  handshakeMessageBytesMax: 1024,
  /**
   * Admission (docs/peer-transport.md section 2): anyone who can reach the
   * port can open a socket, so the sockets that have not finished the
   * handshake are bounded in three ways, and a new one is never refused for
   * room: it evicts the oldest pending socket of the group that is full. A
   * member's handshake takes one round trip, so the oldest pending socket is
   * the one least likely to be a member's.
   *
   * Pending sockets from one source (an IPv4 address, or an IPv6 /64, which
   * one host usually holds whole). A member dials one link at a time; a few
   * more cover a redial racing the old socket and several replicas behind one
   * NAT address.
   */
  pendingHandshakesPerSourceMax: 4,
  /** Pending sockets from sources that are not a membership address: the strangers' pool. */
  strangerPendingHandshakesMax: 32,
  /**
   * Pending sockets from the membership's addresses (each member's address
   * host, resolved): kept apart from the strangers' pool, so strangers from
   * other addresses, however many, never take a member's slot.
   */
  memberPendingHandshakesMax: 16,
  /**
   * Bytes an unauthenticated socket may send after the upgrade, WebSocket
   * framing included. A hello is under 400 bytes; a pong or close frame adds
   * at most 131. Without it ws would buffer a message up to frameBytesMax
   * before the size check on the hello could run. Past it the socket is
   * destroyed, so all pending sockets together hold at most
   * (strangerPendingHandshakesMax + memberPendingHandshakesMax) x 4 KiB.
   */
  handshakeBytesMax: 4 * 1024,
  /** How often the membership's address hosts are resolved again (DNS names may move). */
  memberAddressRefreshMs: 60_000,
} as const;

/** The transport's timers. Production uses `defaultTiming`; tests may shorten them. */
export interface TransportTiming {
  /** From dial to an authenticated connection (the dialer's side; includes TCP and TLS connect). */
  handshakeTimeoutMs: number;
  /**
   * From accept (the upgrade) to a verified hello (the server's side). The
   * deadline is fixed at accept: bytes trickled in do not extend it.
   */
  helloTimeoutMs: number;
  /** How often each side pings an open socket. */
  pingIntervalMs: number;
  /** A socket with no pong for this long is terminated. */
  pongTimeoutMs: number;
  /** The first reconnect delay after a failure; doubled per consecutive failure. */
  reconnectDelayMsMin: number;
  /** The reconnect delay never grows past this. */
  reconnectDelayMsMax: number;
}

export const defaultTiming: TransportTiming = {
  handshakeTimeoutMs: 5_000,
  // One round trip (challenge out, hello back) and one signature, over a
  // connection already open, with room for one TCP retransmission.
  helloTimeoutMs: 2_000,
  pingIntervalMs: 10_000,
  pongTimeoutMs: 20_000,
  reconnectDelayMsMin: 100,
  reconnectDelayMsMax: 5_000,
};

/** The path on the replica's HTTP server where peers connect. */
export const PEER_WS_PATH = '/v1/peer/ws';

/** WebSocket close codes the transport uses (RFC 6455 section 7.4; 4000-4999 are for applications). */
export const closeCodes = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  /** A newer authenticated connection from the same peer took this one's place. */
  replaced: 4001,
  handshakeTimeout: 4002,
} as const;
