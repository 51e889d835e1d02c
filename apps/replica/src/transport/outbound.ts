// The link to one peer (dialer side, send only). It dials the peer's
// /v1/peer/ws, answers the challenge with a signed hello, verifies the
// welcome, and only then sends. It redials after every close with
// exponential backoff and jitter (reconnectDelayMsMin doubling up to
// reconnectDelayMsMax), reset by a successful handshake. Sends are
// fire-and-forget: not connected, or too much already buffered, means the
// frame is dropped and counted, never queued.

import type { Duplex } from 'node:stream';
import { assertNever, type ReplicaInfo } from '@vcr/proofs';
import { WebSocket } from 'ws';
import type { Metrics } from '../metrics';
import { checkChallenge, checkWelcome, type HandshakeContext, newNonce, signHello } from './handshake';
import type { PeerRejectionReason } from './inbound';
import { startKeepalive } from './keepalive';
import { closeCodes, PEER_WS_PATH, transportLimits, type TransportTiming } from './limits';

/**
 * How this replica verifies peers it dials over wss:// (an https:// genesis
 * address): against `ca` (PEM bundle), or the system roots without one. TLS
 * adds confidentiality and integrity of the stream; who the peer is, is
 * still proven by the handshake's Ed25519 signatures.
 */
export interface PeerTlsOptions {
  ca?: Buffer;
}

export interface OutboundDeps {
  ctx: HandshakeContext;
  tls?: PeerTlsOptions;
  timing: TransportTiming;
  metrics: Metrics;
  rejected(reason: PeerRejectionReason): void;
  log(line: Record<string, unknown>): void;
}

/** ws://host:port/v1/peer/ws from a replica's http(s) base address. */
export function peerSocketUrl(address: string): string {
  const url = new URL(address);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = PEER_WS_PATH;
  url.search = '';
  url.hash = '';
  return url.toString();
}

type LinkState =
  | { step: 'idle' }
  | { step: 'awaiting-challenge'; ws: WebSocket }
  | { step: 'awaiting-welcome'; ws: WebSocket; serverNonce: string; clientNonce: string }
  | { step: 'open'; ws: WebSocket };

export class OutboundLink {
  private state: LinkState = { step: 'idle' };
  /** The socket under the current WebSocket, once upgraded. */
  private socket: Duplex | undefined;
  /** Failed or lost connections since the last successful handshake. */
  private failures = 0;
  /** Whether the current run of failures was logged already (log transitions, not every retry). */
  private failureLogged = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private socketClosed: Promise<void> = Promise.resolve();

  constructor(
    private readonly peer: ReplicaInfo,
    private readonly deps: OutboundDeps,
  ) {}

  get connected(): boolean {
    return this.state.step === 'open';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.dial();
  }

  /** Sends one encoded frame; false (and counted) if it was dropped. */
  send(data: Buffer): boolean {
    const state = this.state;
    if (state.step !== 'open' || state.ws.readyState !== WebSocket.OPEN || state.ws.bufferedAmount + data.byteLength > transportLimits.outboundBufferedBytesMax) {
      this.deps.metrics.peerDropped(this.peer.id);
      return false;
    }
    state.ws.send(data, { binary: false });
    return true;
  }

  /**
   * Holds this link's writes until the returned socket is uncorked, so everything sent in between
   * goes out in one write (one system call per peer per turn rather than one per frame).
   * Undefined while the link is not open.
   */
  cork(): Duplex | undefined {
    if (this.state.step !== 'open' || this.socket === undefined) return undefined;
    this.socket.cork();
    return this.socket;
  }

  /** Stops redialing and closes the socket; resolves once it is closed. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.handshakeTimer);
    if (this.state.step !== 'idle') {
      const ws = this.state.ws;
      ws.close(closeCodes.goingAway, 'shutting-down');
      setTimeout(() => ws.terminate(), 1_000).unref();
    }
    await this.socketClosed;
  }

  private dial(): void {
    if (this.stopped) return;
    const url = peerSocketUrl(this.peer.address);
    const ca = url.startsWith('wss:') ? this.deps.tls?.ca : undefined;
    const ws = new WebSocket(url, {
      // The server only ever sends the challenge and the welcome on this socket.
      maxPayload: transportLimits.handshakeMessageBytesMax,
      perMessageDeflate: false,
      followRedirects: false,
      // An all-zero mask, which ws then skips (RFC 6455 masking guards browsers' HTTP caches against
      // script-chosen bytes; a replica's own frames to a peer need none). Masking every frame byte
      // was 2.6 % of the primary's busy time at 256 clients.
      generateMask: (mask: Buffer) => void mask.fill(0),
      handshakeTimeout: this.deps.timing.handshakeTimeoutMs,
      // wss: the peer's certificate is verified (rejectUnauthorized stays on) against the configured CA or the system roots.
      ...(ca === undefined ? {} : { ca }),
    });
    this.state = { step: 'awaiting-challenge', ws };
    this.socket = undefined;
    // The TCP (or TLS) socket under the WebSocket, for cork(): ws hands it over with the upgrade response.
    ws.once('upgrade', (response) => {
      if (this.state.step !== 'idle' && this.state.ws === ws) this.socket = response.socket;
    });
    this.socketClosed = new Promise((resolve) => ws.once('close', () => resolve()));
    let lastError: string | undefined;
    ws.on('error', (error) => {
      lastError = error.message;
    });
    // binaryType is 'nodebuffer' (ws's default): every message arrives as one Buffer.
    ws.on('message', (data, isBinary) => this.onMessage(ws, data as Buffer, isBinary));
    ws.once('open', () => startKeepalive(ws, this.deps.timing));
    ws.once('close', (code, reason) => this.onClose(ws, code, reason.toString('utf8') || lastError));
    this.handshakeTimer = setTimeout(() => {
      if (this.state.step !== 'open') {
        lastError = 'handshake-timeout';
        ws.terminate();
      }
    }, this.deps.timing.handshakeTimeoutMs);
  }

  private fail(ws: WebSocket, reason: PeerRejectionReason, detail: string): void {
    this.deps.rejected(reason);
    ws.close(closeCodes.policyViolation, detail);
    setTimeout(() => ws.terminate(), 1_000).unref();
  }

  private onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    const state = this.state;
    if (state.step === 'idle' || state.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    if (isBinary || data.byteLength > transportLimits.handshakeMessageBytesMax) {
      this.fail(ws, state.step === 'open' ? 'peer-frame' : 'peer-auth', isBinary ? 'binary-frame' : 'too-large');
      return;
    }
    const text = data.toString('utf8');
    switch (state.step) {
      case 'awaiting-challenge': {
        const verdict = checkChallenge(this.peer.id, text);
        if (!verdict.ok) return this.fail(ws, 'peer-auth', verdict.reason);
        const serverNonce = verdict.message.nonce;
        const clientNonce = newNonce();
        let hello: string;
        try {
          hello = JSON.stringify(signHello(this.deps.ctx, this.peer.id, serverNonce, clientNonce));
        } catch (error) {
          this.deps.log({ event: 'peer-sign-failed', step: 'hello', peer: this.peer.id, error: String(error) });
          ws.close(closeCodes.goingAway, 'signer-failed');
          return;
        }
        this.state = { step: 'awaiting-welcome', ws, serverNonce, clientNonce };
        ws.send(hello);
        return;
      }
      case 'awaiting-welcome': {
        const verdict = checkWelcome(this.deps.ctx, this.peer.id, state, text);
        if (!verdict.ok) return this.fail(ws, 'peer-auth', verdict.reason);
        clearTimeout(this.handshakeTimer);
        this.state = { step: 'open', ws };
        this.failures = 0;
        this.failureLogged = false;
        this.deps.log({ event: 'peer-connected', peer: this.peer.id });
        return;
      }
      case 'open':
        // The outbound socket is for sending only: a server that talks back does not speak this protocol.
        return this.fail(ws, 'peer-frame', 'unexpected-frame');
      default:
        return assertNever(state, 'outbound link state');
    }
  }

  private onClose(ws: WebSocket, code: number, detail: string | undefined): void {
    if (this.state.step === 'idle' || this.state.ws !== ws) return;
    clearTimeout(this.handshakeTimer);
    const wasOpen = this.state.step === 'open';
    this.state = { step: 'idle' };
    this.socket = undefined;
    if (wasOpen) {
      this.deps.log({ event: 'peer-disconnected', peer: this.peer.id, code, detail });
    } else {
      this.deps.metrics.peerError(this.peer.id);
      if (!this.failureLogged && !this.stopped) {
        this.failureLogged = true;
        this.deps.log({ event: 'peer-connect-failed', peer: this.peer.id, code, detail, note: 'retrying with backoff; logged once until connected' });
      }
    }
    this.failures++;
    if (this.stopped) return;
    const delayMs = backoffDelayMs(this.failures - 1, this.deps.timing);
    this.reconnectTimer = setTimeout(() => this.dial(), delayMs);
  }
}

/** min * 2^attempt, capped at max, then jittered into [half, full] so peers that lost each other do not redial in lockstep. */
export function backoffDelayMs(attempt: number, timing: Pick<TransportTiming, 'reconnectDelayMsMin' | 'reconnectDelayMsMax'>, random: () => number = Math.random): number {
  const capped = Math.min(timing.reconnectDelayMsMax, timing.reconnectDelayMsMin * 2 ** Math.min(attempt, 30));
  return Math.round(capped * (0.5 + random() / 2));
}
