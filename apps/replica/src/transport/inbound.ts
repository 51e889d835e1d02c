// One accepted peer socket (server side, receive only). It sends a challenge,
// waits for a hello it can verify, answers with a welcome, and from then on
// hands every text frame, still as bytes, to the intake. It closes the socket
// for anything before a verified hello, for a binary frame, for a frame over
// the size bound (ws does that one) and when the handshake takes too long.

import type { WebSocket } from 'ws';
import { challengeMessage, checkHello, type HandshakeContext, newNonce, signWelcome } from './handshake';
import { startKeepalive } from './keepalive';
import { closeCodes, transportLimits, type TransportTiming } from './limits';

/** Metric reasons (metrics.rejected) the transport counts. */
export type PeerRejectionReason =
  | 'peer-auth'
  | 'peer-frame'
  | 'peer-frame-binary'
  | 'peer-frame-oversize'
  /** Admission (admission.ts): a pending socket evicted for a newer one from its source, or from its full pool. */
  | 'peer-admission-source-cap'
  | 'peer-admission-pool-full'
  /** An unauthenticated socket sent more than handshakeBytesMax. */
  | 'peer-handshake-bytes';

export interface InboundDeps {
  ctx: HandshakeContext;
  timing: TransportTiming;
  /** The hello from `peer` verified; the welcome is sent. Replaces any older connection from `peer`. */
  onAuthenticated(peer: string, connection: InboundConnection): void;
  /** One text frame from an authenticated peer, not yet decoded. */
  onFrameData(peer: string, data: Buffer): void;
  /** The socket closed; `peer` is set if it had authenticated. */
  onClosed(connection: InboundConnection): void;
  rejected(reason: PeerRejectionReason): void;
  log(line: Record<string, unknown>): void;
}

export class InboundConnection {
  /** The authenticated sender; undefined until the hello verified. */
  peer: string | undefined;
  /** Resolves once the socket is closed. */
  readonly closed: Promise<void>;
  private readonly serverNonce = newNonce();
  private readonly handshakeTimer: NodeJS.Timeout;
  /** Set by close(): ws may still deliver frames already read, and they are ignored. */
  private closing = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: InboundDeps,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself after an error (bad UTF-8, protocol error, oversize); 'close' follows.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') deps.rejected(this.peer === undefined ? 'peer-auth' : 'peer-frame-oversize');
    });
    // binaryType is 'nodebuffer' (ws's default): every message, text or binary, arrives as one Buffer.
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.once('close', (code) => {
      clearTimeout(this.handshakeTimer);
      if (this.peer !== undefined) deps.log({ event: 'peer-inbound-disconnected', peer: this.peer, code });
      deps.onClosed(this);
    });
    this.handshakeTimer = setTimeout(() => {
      deps.rejected('peer-auth');
      this.close(closeCodes.handshakeTimeout, 'handshake-timeout');
    }, deps.timing.helloTimeoutMs);
    startKeepalive(ws, deps.timing);
    ws.send(JSON.stringify(challengeMessage(deps.ctx.selfId, this.serverNonce)));
  }

  close(code: number, reason: string): void {
    clearTimeout(this.handshakeTimer);
    this.closing = true;
    if (this.ws.readyState === this.ws.CLOSED) return;
    this.ws.close(code, reason);
    // A peer that does not answer the closing handshake loses the socket anyway.
    setTimeout(() => this.ws.terminate(), 1_000).unref();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closing) return;
    if (isBinary) {
      // Frames are JSON text; a binary frame means a peer that does not speak this protocol.
      this.deps.rejected(this.peer === undefined ? 'peer-auth' : 'peer-frame-binary');
      this.close(closeCodes.unsupportedData, 'binary-frame');
      return;
    }
    if (this.peer !== undefined) {
      this.deps.onFrameData(this.peer, data);
      return;
    }
    this.onHello(data);
  }

  private onHello(data: Buffer): void {
    // Size first, so a stranger cannot make us parse megabytes before it is authenticated.
    const verdict =
      data.byteLength > transportLimits.handshakeMessageBytesMax ? ({ ok: false, reason: 'too-large' } as const) : checkHello(this.deps.ctx, this.serverNonce, data.toString('utf8'));
    if (!verdict.ok) {
      this.deps.rejected('peer-auth');
      this.close(closeCodes.policyViolation, verdict.reason);
      return;
    }
    const hello = verdict.message;
    let welcome: string;
    try {
      welcome = JSON.stringify(signWelcome(this.deps.ctx, hello.from, this.serverNonce, hello.clientNonce));
    } catch (error) {
      // The signer refused or its journal failed: no welcome, no connection; the node hears of the signer from its own signatures.
      this.deps.log({ event: 'peer-sign-failed', step: 'welcome', peer: hello.from, error: String(error) });
      this.close(closeCodes.goingAway, 'signer-failed');
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.peer = hello.from;
    this.ws.send(welcome);
    this.deps.log({ event: 'peer-inbound-connected', peer: hello.from });
    this.deps.onAuthenticated(hello.from, this);
  }
}
