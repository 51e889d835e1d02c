// Peer admission under a flood of unauthenticated sockets, over real sockets
// on loopback (docs/peer-transport.md section 2, "Admission"). Strangers come
// from 127.0.0.2 and up (Linux routes all of 127.0.0.0/8 to lo, and a client
// may bind any of it); the members' addresses in the membership are
// 127.0.0.1, so a member dials from a membership address, as in a deployment.
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { transportLimits } from './limits';
import { closeAllSockets, membership, portOf, RawPeer, rawAuthenticated, rejected, transportFor, until, untilDelivered, wsUrl } from './socket-testing';

afterEach(closeAllSockets);

const strangerAddress = (i: number) => `127.0.0.${2 + i}`;

/**
 * Unauthenticated sockets that never send a hello, one per entry of `sources`. With `reopenAfterMs`, a
 * socket that is closed or refused is opened again after that delay (an attacker keeping the flood up).
 */
class Flood {
  readonly sockets = new Set<WebSocket>();
  /** Sockets that got their challenge, or were closed or refused before it: each counted once. */
  answered = 0;
  refused = 0;
  private stopped = false;

  constructor(
    private readonly url: string,
    sources: readonly string[],
    private readonly reopenAfterMs?: number,
  ) {
    for (const source of sources) this.open(source);
  }

  get held(): number {
    let n = 0;
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) n++;
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const ws of this.sockets) ws.terminate();
  }

  private open(source: string): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.url, { localAddress: source });
    this.sockets.add(ws);
    let answered = false;
    const answer = () => {
      if (!answered) this.answered++;
      answered = true;
    };
    ws.on('error', () => {});
    ws.once('message', answer);
    ws.on('unexpected-response', (_req, res) => {
      this.refused++;
      res.resume();
      ws.terminate();
    });
    ws.once('close', () => {
      answer();
      this.sockets.delete(ws);
      if (this.reopenAfterMs !== undefined) setTimeout(() => this.open(source), this.reopenAfterMs).unref();
    });
  }
}

const floods: Flood[] = [];
afterEach(() => {
  for (const flood of floods.splice(0)) flood.stop();
});
function flood(server: Server, sources: readonly string[], reopenAfterMs?: number): Flood {
  const f = new Flood(wsUrl(server), sources, reopenAfterMs);
  floods.push(f);
  return f;
}

/** Timers long enough that nothing times out during a test: the flood is held for its whole length. */
const patient = { timing: { handshakeTimeoutMs: 60_000, helloTimeoutMs: 60_000, reconnectDelayMsMax: 200 } };

describe('peer admission under a flood of unauthenticated sockets', () => {
  it('40 strangers from 40 addresses hold sockets open; a member with a signed hello still connects at once, and the strangers over the cap are evicted and counted', async () => {
    const { replicas, servers } = await membership(['r1', 'r2']);
    const server = servers.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server, patient);
    const strangers = 40;
    const f = flood(server, Array.from({ length: strangers }, (_, i) => strangerAddress(i)));
    await until('every stranger socket was answered', () => f.answered === strangers);

    const member = await rawAuthenticated(server, 'r1', 'r2');
    member.ws.send(JSON.stringify({ m: { through: 'the flood' } }));
    await until('the member frame arrives', () => r1.received.length === 1);
    expect(r1.received).toEqual([{ from: 'r2', kind: 'message', payload: { through: 'the flood' } }]);
    // No stranger was refused: the oldest were evicted for the newest, and the member took a reserved slot, not a stranger's.
    expect(f.refused).toBe(0);
    expect(f.held).toBe(transportLimits.strangerPendingHandshakesMax);
    expect(rejected(r1.metrics, 'peer-admission-pool-full')).toBe(strangers - transportLimits.strangerPendingHandshakesMax);
    member.ws.close();
  });

  it('one address gets at most pendingHandshakesPerSourceMax sockets: its oldest are evicted first, and counted', async () => {
    const { replicas, servers } = await membership(['r1', 'r2']);
    const server = servers.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server, patient);
    const f = flood(server, Array.from({ length: 40 }, () => strangerAddress(0)));
    await until('every socket was answered', () => f.answered === 40 && f.held === transportLimits.pendingHandshakesPerSourceMax);
    expect(f.refused).toBe(0);
    expect(rejected(r1.metrics, 'peer-admission-source-cap')).toBe(40 - transportLimits.pendingHandshakesPerSourceMax);
    // A second stranger address is not affected by the first one's flood.
    const other = new RawPeer(wsUrl(server), { localAddress: strangerAddress(1) });
    expect((await other.nextMessage(0)).type).toBe('challenge');
    other.ws.terminate();
  });

  it("a flood from the member's own address cannot keep the member out: the newest socket evicts that address's oldest", async () => {
    const { replicas, servers } = await membership(['r1', 'r2']);
    const server = servers.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server, patient);
    const f = flood(server, Array.from({ length: 40 }, () => '127.0.0.1'));
    await until('every socket was answered', () => f.answered === 40);
    expect(f.refused).toBe(0);
    await rawAuthenticated(server, 'r1', 'r2', { localAddress: '127.0.0.1' });
    expect(rejected(r1.metrics, 'peer-admission-source-cap')).toBe(40 + 1 - transportLimits.pendingHandshakesPerSourceMax);
  });

  it('an unauthenticated socket may send at most handshakeBytesMax bytes: an oversized hello is cut off, not buffered to the frame limit', async () => {
    const { replicas, servers } = await membership(['r1', 'r2']);
    const server = servers.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server, patient);
    const big = new RawPeer(wsUrl(server));
    await big.nextMessage(0);
    big.ws.send('x'.repeat(1024 * 1024));
    // Destroyed without a close frame: the server reads no further.
    expect(await big.closed()).toBe(1006);
    expect(rejected(r1.metrics, 'peer-handshake-bytes')).toBe(1);
  });

  it('a slowloris trickling a hello byte by byte is closed at the hello deadline', async () => {
    const { replicas, servers } = await membership(['r1', 'r2']);
    const server = servers.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server, { timing: { helloTimeoutMs: 300 } });
    const socket = await rawUpgrade(portOf(server));
    let closed = false;
    socket.on('close', () => {
      closed = true;
    });
    // A masked text frame announcing 125 bytes, sent one byte every 20 ms: under the byte budget, never finished.
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | 125, 1, 2, 3, 4]), Buffer.alloc(125, 0x20)]);
    let sent = 0;
    const trickle = setInterval(() => {
      if (!closed && sent < frame.length) socket.write(frame.subarray(sent, ++sent));
    }, 20);
    try {
      await until('the server closed the trickling socket', () => closed);
      expect(sent).toBeLessThan(frame.length);
      expect(rejected(r1.metrics, 'peer-auth')).toBe(1);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('a dropped member link re-establishes while strangers keep the flood up from 40 addresses and from the member address', async () => {
    const { replicas, servers } = await membership(['r1', 'r4']);
    const r1Server = servers.get('r1') as Server;
    const r4Server = servers.get('r4') as Server;
    const r1 = transportFor('r1', replicas, r1Server);
    let r4 = transportFor('r4', replicas, r4Server);
    r1.transport.start();
    r4.transport.start();
    await until('r1 and r4 linked', () => r1.transport.connectedPeers().includes('r4') && r4.transport.connectedPeers().includes('r1'));

    const sources = [...Array.from({ length: 40 }, (_, i) => strangerAddress(i)), ...Array.from({ length: transportLimits.pendingHandshakesPerSourceMax + 2 }, () => '127.0.0.1')];
    const f = flood(r1Server, sources, 100);
    await until('the flood fills the slots', () => f.held >= transportLimits.strangerPendingHandshakesMax);
    const evictions = () => rejected(r1.metrics, 'peer-admission-pool-full') + rejected(r1.metrics, 'peer-admission-source-cap');

    // r4 restarts: its link to r1 drops and must come back through the flood.
    await r4.transport.close();
    await until('r1 saw r4 go', () => r1.logs.some((l) => l.event === 'peer-inbound-disconnected' && l.peer === 'r4'));
    const evictionsAtDrop = evictions();
    r4 = transportFor('r4', replicas, r4Server);
    r4.transport.start();
    // Well under the old 5 s handshake deadline, after which the flood's sockets would have timed out and left gaps.
    await untilDelivered('r4 reaches r1 again during the flood', r4, r1, { after: 'restart' }, 4_000);
    // The flood went on meanwhile: strangers kept opening sockets, and evicting each other.
    expect(evictions()).toBeGreaterThan(evictionsAtDrop);
    expect(f.refused).toBe(0);
  });
});

/** A WebSocket upgrade by hand on a bare TCP socket, so the test can send partial frames. */
async function rawUpgrade(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: strangerAddress(7) });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    ['GET /v1/peer/ws HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', '', ''].join('\r\n'),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('data', (data) => (data.toString('latin1').startsWith('HTTP/1.1 101') ? resolve() : reject(new Error(data.toString('latin1')))));
  });
  return socket;
}
