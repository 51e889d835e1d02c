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
   * Inbound sockets that have not finished the handshake. Anyone who can reach
   * the port can open one, and ws buffers up to frameBytesMax of a message
   * before the size check on the hello can run, so they are capped (32 x 8 MiB
   * at worst, for at most handshakeTimeoutMs); past the cap an upgrade gets 503.
   */
  pendingHandshakesMax: 32,
} as const;

/** The transport's timers. Production uses `defaultTiming`; tests may shorten them. */
export interface TransportTiming {
  /** From accept (server) or dial (client) to an authenticated connection. */
  handshakeTimeoutMs: number;
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
