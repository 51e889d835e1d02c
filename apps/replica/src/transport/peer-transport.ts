// The replica's peer transport (docs/peer-transport.md): one persistent,
// mutually authenticated WebSocket per direction between every two replicas.
// This file composes the parts: OutboundLink (dial, send) for every other
// replica, InboundConnection (accept, receive) for every accepted socket, and
// FairIntake, which hands received frames to onFrame round-robin by peer.
// Sockets that have not authenticated yet are admitted by HandshakeAdmission
// (admission.ts), so strangers cannot keep members out.
// Every PBFT message is signed by the core; the handshake only makes `from`
// trustworthy for fairness and for relayed client requests.

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { assert, type CryptoBackend, type ReplicaInfo, type Signer } from '@vcr/proofs';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Metrics } from '../metrics';
import { decodeFrame, encodeFrame, type FrameKind, type PeerFrame } from './frame';
import { HandshakeAdmission } from './admission';
import { type HandshakeContext, peerEnvelopeDomain } from './handshake';
import { InboundConnection, type PeerRejectionReason } from './inbound';
import { FairIntake } from './intake-queue';
import { closeCodes, defaultTiming, PEER_WS_PATH, transportLimits, type TransportTiming } from './limits';
import { OutboundLink, type PeerTlsOptions } from './outbound';
import { MemberSources, type ResolveHost, sourceKeyOf } from './source-address';

export interface PeerTransportOptions {
  selfId: string;
  chainId: string;
  epoch: bigint;
  /** The current membership's replicas, including self (id, address like 'http://127.0.0.1:7002', publicKey). */
  replicas: readonly ReplicaInfo[];
  /** Signs hello/welcome in domain { kind: 'peer-envelope', chainId, epoch } with signInDomain. */
  signer: Signer;
  backend: CryptoBackend;
  metrics: Metrics;
  /** Called from the fair drain loop, one frame at a time, with the authenticated sender id and the untrusted JSON payload. */
  onFrame: (from: string, frame: { kind: 'message' | 'request'; payload: unknown }) => void;
  log?: (line: Record<string, unknown>) => void;
  /** How peers dialed over wss:// are verified (outbound.ts PeerTlsOptions); default: the system roots. */
  tls?: PeerTlsOptions;
  /** Shorter timers for tests; production leaves this out (limits.ts defaultTiming). */
  timing?: Partial<TransportTiming>;
  /** Runs one drain turn later; default setImmediate. A test or simulator may run turns by hand. */
  scheduleDrain?: (turn: () => void) => void;
  /** Resolves the host names of members' addresses for admission; default DNS (node:dns lookup). */
  resolveHost?: ResolveHost;
}

function refuseUpgrade(socket: Duplex, status: 404 | 503, text: string): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '', 'http://peer.invalid').pathname;
  } catch {
    return undefined;
  }
}

export class PeerTransport {
  private readonly ctx: HandshakeContext;
  private readonly timing: TransportTiming;
  private readonly log: (line: Record<string, unknown>) => void;
  private readonly links = new Map<string, OutboundLink>();
  private readonly inbound = new Set<InboundConnection>();
  private readonly inboundByPeer = new Map<string, InboundConnection>();
  private readonly intake: FairIntake;
  private readonly wss: WebSocketServer;
  private readonly admission: HandshakeAdmission<Duplex>;
  private readonly memberSources: MemberSources;
  private attached: { server: Server; onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void; refreshTimer: NodeJS.Timeout } | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly opts: PeerTransportOptions) {
    const ids = opts.replicas.map((r) => r.id);
    assert(new Set(ids).size === ids.length, 'peer transport: replica ids must be distinct');
    assert(ids.includes(opts.selfId), `peer transport: ${opts.selfId} is not in the membership`);
    const peers = opts.replicas.filter((r) => r.id !== opts.selfId);
    const keys = new Map(peers.map((p) => [p.id, p.publicKey]));
    this.ctx = {
      selfId: opts.selfId,
      domain: peerEnvelopeDomain(opts.chainId, opts.epoch),
      signer: opts.signer,
      backend: opts.backend,
      peerKey: (id) => keys.get(id),
    };
    this.timing = { ...defaultTiming, ...opts.timing };
    this.log = opts.log ?? (() => {});
    this.intake = new FairIntake({
      peers: peers.map((p) => p.id),
      framesPerPeerMax: transportLimits.intakeFramesPerPeerMax,
      bytesPerPeerMax: transportLimits.intakeBytesPerPeerMax,
      framesPerTurnMax: transportLimits.drainFramesPerTurnMax,
      deliver: (peer, data) => this.deliver(peer, data),
      onDeliverError: (peer, error) => this.log({ event: 'peer-frame-handler-failed', peer, error: String(error) }),
      onDropped: (peer) => opts.metrics.peerIntakeDropped(peer),
      onDepth: (peer, frames) => opts.metrics.peerIntakeQueued(peer, frames),
      ...(opts.scheduleDrain ? { schedule: opts.scheduleDrain } : {}),
    });
    this.admission = new HandshakeAdmission({
      pendingPerSourceMax: transportLimits.pendingHandshakesPerSourceMax,
      strangerPendingMax: transportLimits.strangerPendingHandshakesMax,
      memberPendingMax: transportLimits.memberPendingHandshakesMax,
    });
    this.memberSources = new MemberSources(peers.map((p) => p.address), opts.resolveHost);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: transportLimits.frameBytesMax, perMessageDeflate: false, clientTracking: false });
    const outboundDeps = { ctx: this.ctx, tls: opts.tls, timing: this.timing, metrics: opts.metrics, rejected: (r: PeerRejectionReason) => this.rejected(r), log: this.log };
    for (const peer of peers) this.links.set(peer.id, new OutboundLink(peer, outboundDeps));
  }

  /** Accepts peer connections on this HTTP server at path /v1/peer/ws (handle 'upgrade'; refuse other paths with 404 and destroy). */
  attach(server: Server): void {
    assert(this.attached === undefined, 'peer transport: attach once');
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head);
    server.on('upgrade', onUpgrade);
    // Members' addresses given as names are resolved now and again every so often, for the members' admission pool.
    void this.refreshMemberSources();
    const refreshTimer = setInterval(() => void this.refreshMemberSources(), transportLimits.memberAddressRefreshMs).unref();
    this.attached = { server, onUpgrade, refreshTimer };
  }

  /** Stops taking new peer connections on the server (an epoch change hands the upgrade path to the next transport); open links stay until close(). */
  detach(): void {
    this.stopAccepting();
  }

  /** Dials every other replica and keeps reconnecting with backoff until close(). */
  start(): void {
    assert(!this.closed, 'peer transport: start after close');
    if (this.started) return;
    this.started = true;
    for (const link of this.links.values()) link.start();
  }

  /** Frame kind 'message' to every connected peer. */
  broadcast(message: unknown): void {
    this.sendTo([...this.links.keys()], 'message', message);
  }

  /** Frame kind 'message' to one peer; a stranger's id is ignored, as PeerClient did. */
  send(to: string, message: unknown): void {
    if (this.links.has(to)) this.sendTo([to], 'message', message);
  }

  /**
   * Runs `send`, holding every link's writes until it returns: the frames it sends to one peer
   * leave in one write. Frames keep their order.
   */
  batch(send: () => void): void {
    const corked = [...this.links.values()].flatMap((link) => link.cork() ?? []);
    try {
      send();
    } finally {
      for (const socket of corked) socket.uncork();
    }
  }

  /** Frame kind 'request' to every connected peer, or only to `to` (a stranger's id is ignored). */
  relayRequest(request: unknown, to?: string): void {
    if (to === undefined) this.sendTo([...this.links.keys()], 'request', request);
    else if (this.links.has(to)) this.sendTo([to], 'request', request);
  }

  /** Ids of peers with an authenticated outbound connection right now (for /healthz). */
  connectedPeers(): string[] {
    return [...this.links].filter(([, link]) => link.connected).map(([id]) => id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopAccepting();
    this.intake.close();
    const connections = [...this.inbound];
    for (const connection of connections) connection.close(closeCodes.goingAway, 'shutting-down');
    await Promise.all([...[...this.links.values()].map((link) => link.close()), ...connections.map((c) => c.closed)]);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private sendTo(peers: readonly string[], kind: FrameKind, payload: unknown): void {
    if (this.closed) return;
    // Encoded once, whatever the number of peers.
    const data = encodeFrame(kind, payload);
    if (data.byteLength > transportLimits.frameBytesMax) {
      // The receiver would close the socket for it; refuse it here and keep the link.
      this.log({ event: 'peer-frame-too-large', kind, bytes: data.byteLength });
      for (const peer of peers) this.opts.metrics.peerDropped(peer);
      return;
    }
    for (const peer of peers) this.links.get(peer)?.send(data);
  }

  /** One frame from the intake, in the drain loop: decode, then hand to onFrame, whose failures never stop the loop. */
  private deliver(peer: string, data: Buffer): void {
    const verdict = decodeFrame(data.toString('utf8'));
    if (!verdict.ok) {
      this.rejected('peer-frame');
      return;
    }
    const frame: PeerFrame = verdict.frame;
    try {
      this.opts.onFrame(peer, frame);
    } catch (error) {
      this.log({ event: 'peer-frame-handler-failed', peer, kind: frame.kind, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  }

  private rejected(reason: PeerRejectionReason): void {
    this.opts.metrics.rejected(reason);
  }

  private stopAccepting(): void {
    if (this.attached === undefined) return;
    this.attached.server.off('upgrade', this.attached.onUpgrade);
    clearInterval(this.attached.refreshTimer);
    this.attached = undefined;
  }

  private async refreshMemberSources(): Promise<void> {
    const failed = await this.memberSources.refresh();
    if (failed.length > 0) this.log({ event: 'peer-address-lookup-failed', hosts: failed });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node's HTTP server drops its own error listener on upgrade; a reset must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    if (pathOf(req.url) !== PEER_WS_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    if (this.closed) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const settle = this.admitPending(req.socket.remoteAddress, socket);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, settle));
  }

  /**
   * Admission (admission.ts, docs/peer-transport.md section 2): a pending slot for this socket,
   * evicting (destroying) the oldest pending socket where its source or pool is full, and a bound on
   * the bytes it may send until it authenticates. Returns what ends both, called on authentication;
   * the socket's close ends them too.
   */
  private admitPending(remoteAddress: string | undefined, socket: Duplex): () => void {
    const source = sourceKeyOf(remoteAddress);
    const { slot, evicted } = this.admission.admit(source, this.memberSources.has(source), socket);
    for (const victim of evicted) {
      this.rejected(victim.cause === 'source-cap' ? 'peer-admission-source-cap' : 'peer-admission-pool-full');
      victim.value.destroy();
    }
    // Counted on the raw socket, before ws buffers a message: a liar's oversized hello costs at most this many bytes.
    // ws pushes the upgrade's `head` back into the socket, so it is counted here too.
    let bytes = 0;
    const countBytes = (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes <= transportLimits.handshakeBytesMax || socket.destroyed) return;
      this.rejected('peer-handshake-bytes');
      socket.destroy();
    };
    socket.on('data', countBytes);
    const settle = () => {
      this.admission.release(slot);
      socket.off('data', countBytes);
    };
    socket.once('close', settle);
    return settle;
  }

  private accept(ws: WebSocket, settle: () => void): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    const connection = new InboundConnection(ws, {
      ctx: this.ctx,
      timing: this.timing,
      onAuthenticated: (peer, c) => {
        settle();
        this.onInboundAuthenticated(peer, c);
      },
      onFrameData: (peer, data) => this.intake.push(peer, data),
      onClosed: (c) => this.onInboundClosed(c),
      rejected: (reason) => this.rejected(reason),
      log: this.log,
    });
    this.inbound.add(connection);
  }

  private onInboundAuthenticated(peer: string, connection: InboundConnection): void {
    const previous = this.inboundByPeer.get(peer);
    this.inboundByPeer.set(peer, connection);
    // One inbound socket per peer: the newer one wins (the peer redialed, perhaps after a restart we did not see).
    if (previous !== undefined && previous !== connection) previous.close(closeCodes.replaced, 'replaced');
  }

  private onInboundClosed(connection: InboundConnection): void {
    this.inbound.delete(connection);
    if (connection.peer !== undefined && this.inboundByPeer.get(connection.peer) === connection) this.inboundByPeer.delete(connection.peer);
  }
}
