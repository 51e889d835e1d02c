// Helpers for the transport's real-socket tests (peer-transport.test.ts,
// admission-flood.test.ts): replicas on 127.0.0.1 with ephemeral ports, and a
// bare ws client that speaks the protocol by hand. Not a test file itself;
// each suite calls closeAllSockets() after every test.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { nodeBackend } from '@vcr/crypto-node';
import { createMemorySigner, type ReplicaInfo, type Signer } from '@vcr/proofs';
import { testSeed } from '@vcr/proofs/testing';
import { createGuardedSigner, createKeyHandle, MemorySignerJournal } from '../keystore';
import { Metrics } from '../metrics';
import { type HandshakeContext, peerEnvelopeDomain, signHello } from './handshake';
import { PEER_WS_PATH } from './limits';
import { PeerTransport, type PeerTransportOptions } from './peer-transport';

export const CHAIN_ID = 'vcr-transport-test';
export const signerOf = (id: string): Signer => createMemorySigner(testSeed(`transport-${id}`));

export interface Received {
  from: string;
  kind: 'message' | 'request';
  payload: unknown;
}

export interface Replica {
  id: string;
  server: Server;
  transport: PeerTransport;
  metrics: Metrics;
  received: Received[];
  logs: Record<string, unknown>[];
}

const servers: Server[] = [];
const transports: PeerTransport[] = [];

/** Closes every transport and server the helpers made; for afterEach. */
export async function closeAllSockets(): Promise<void> {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map(stopServer));
}

export async function listen(port = 0): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  servers.push(server);
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export async function stopServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Polls until `condition` holds; fails the test with `what` after a generous bound. */
export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends from `sender` to `to` until `receiver` has a frame from `from` (sends before the link is up are dropped). */
export async function untilDelivered(what: string, sender: Replica, receiver: Replica, payload: unknown, timeoutMs: number): Promise<void> {
  await until(
    what,
    () => {
      sender.transport.send(receiver.id, payload);
      return receiver.received.some((f) => f.from === sender.id);
    },
    timeoutMs,
  );
}

/** One counter or gauge from the Prometheus text, 0 when absent. */
export function metric(metrics: Metrics, name: Parameters<Metrics['valueOf']>[0], label: string): number {
  return metrics.valueOf(name, label);
}

export const rejected = (m: Metrics, reason: string) => metric(m, 'vcr_rejected_messages_total', `reason="${reason}"`);

/** Listening servers for `ids`, and the membership that points at them. */
export async function membership(ids: readonly string[]): Promise<{ replicas: ReplicaInfo[]; servers: Map<string, Server> }> {
  const byId = new Map<string, Server>();
  for (const id of ids) byId.set(id, await listen());
  const replicas = ids.map((id, i) => ({ id, organization: `org${i + 1}`, publicKey: signerOf(id).publicKey, address: `http://127.0.0.1:${portOf(byId.get(id) as Server)}` }));
  return { replicas, servers: byId };
}

export function transportFor(id: string, replicas: readonly ReplicaInfo[], server: Server | undefined, overrides: Partial<PeerTransportOptions> = {}): Replica {
  const metrics = new Metrics();
  const received: Received[] = [];
  const logs: Record<string, unknown>[] = [];
  const transport = new PeerTransport({
    selfId: id,
    chainId: CHAIN_ID,
    epoch: 0n,
    replicas,
    // The replica hands the transport its guarded signer; peer-envelope signatures pass the guard as non-exclusive entries.
    signer: createGuardedSigner(createKeyHandle(id, signerOf(id)), new MemorySignerJournal(), { chainId: overrides.chainId ?? CHAIN_ID, backend: nodeBackend }),
    backend: nodeBackend,
    metrics,
    onFrame: (from, frame) => received.push({ from, ...frame }),
    log: (line) => logs.push(line),
    timing: { reconnectDelayMsMax: 200 },
    ...overrides,
  });
  if (server) transport.attach(server);
  transports.push(transport);
  return { id, server: server as Server, transport, metrics, received, logs };
}

/** A bare ws client for speaking the protocol by hand (or breaking it). */
export class RawPeer {
  readonly messages: string[] = [];
  closeCode: number | undefined;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, options: { autoPong?: boolean; localAddress?: string } = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => this.messages.push((data as Buffer).toString('utf8')));
    this.ws.on('close', (code) => {
      this.closeCode = code;
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  async nextMessage(index: number): Promise<Record<string, string>> {
    await until(`message ${index}`, () => this.messages.length > index || this.closeCode !== undefined);
    const text = this.messages[index];
    if (text === undefined) throw new Error(`closed (${this.closeCode}) before message ${index}`);
    return JSON.parse(text) as Record<string, string>;
  }

  async closed(): Promise<number> {
    await until('the socket to close', () => this.closeCode !== undefined);
    return this.closeCode as number;
  }
}

export function wsUrl(server: Server, path = PEER_WS_PATH): string {
  return `ws://127.0.0.1:${portOf(server)}${path}`;
}

export function handshakeAs(id: string, opts: { chainId?: string; signer?: Signer } = {}): HandshakeContext {
  return { selfId: id, domain: peerEnvelopeDomain(opts.chainId ?? CHAIN_ID, 0n), signer: opts.signer ?? signerOf(id), backend: nodeBackend, peerKey: (peer) => signerOf(peer).publicKey };
}

/** Completes the handshake by hand as `id` against `server` (replica `serverId`); resolves with the open raw peer. */
export async function rawAuthenticated(server: Server, serverId: string, id: string, options: { localAddress?: string } = {}): Promise<RawPeer> {
  const peer = new RawPeer(wsUrl(server), options);
  const challenge = await peer.nextMessage(0);
  peer.ws.send(JSON.stringify(signHello(handshakeAs(id), serverId, challenge.nonce as string, '11'.repeat(32))));
  const welcome = await peer.nextMessage(1);
  if (welcome.type !== 'welcome') throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
  return peer;
}
