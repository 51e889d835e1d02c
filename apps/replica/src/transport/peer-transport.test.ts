// PeerTransport over real sockets on 127.0.0.1 (ephemeral ports). Assertions
// are on what arrived, in what order, and on counters; waiting is by polling
// with a generous bound, never by asserting on elapsed time. (STYLE keeps real
// sockets under test/; this suite sits beside the code because it tests one
// module's socket handling on loopback only, and runs in about a second.)
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createMemorySigner } from '@vcr/proofs';
import { testSeed } from '@vcr/proofs/testing';
import { signHello } from './handshake';
import { closeCodes, transportLimits } from './limits';
import {
  closeAllSockets,
  handshakeAs,
  listen,
  membership,
  metric,
  portOf,
  RawPeer,
  rawAuthenticated,
  rejected,
  type Replica,
  stopServer,
  transportFor,
  until,
  untilDelivered,
  wsUrl,
} from './socket-testing';

afterEach(closeAllSockets);

describe('PeerTransport', () => {
  it('four replicas authenticate both ways and deliver messages and requests with the sender as `from`', async () => {
    const ids = ['r1', 'r2', 'r3', 'r4'];
    const { replicas, servers: byId } = await membership(ids);
    const nodes = ids.map((id) => transportFor(id, replicas, byId.get(id)));
    for (const n of nodes) n.transport.start();
    await until('every replica connected to every other', () => nodes.every((n) => n.transport.connectedPeers().length === 3));
    const [r1, r2, r3, r4] = nodes as [Replica, Replica, Replica, Replica];
    expect(r1.transport.connectedPeers().sort()).toEqual(['r2', 'r3', 'r4']);

    r1.transport.broadcast({ hello: 'from r1' });
    r2.transport.send('r3', { direct: 'r2 to r3' });
    r4.transport.relayRequest({ request: 'from r4' });
    await until('all frames delivered', () => r3.received.length === 3 && r2.received.length === 2 && r1.received.length === 1 && r4.received.length === 1);

    expect(r3.received).toEqual(
      expect.arrayContaining([
        { from: 'r1', kind: 'message', payload: { hello: 'from r1' } },
        { from: 'r2', kind: 'message', payload: { direct: 'r2 to r3' } },
        { from: 'r4', kind: 'request', payload: { request: 'from r4' } },
      ]),
    );
    expect(r2.received).toEqual(expect.arrayContaining([{ from: 'r1', kind: 'message', payload: { hello: 'from r1' } }, { from: 'r4', kind: 'request', payload: { request: 'from r4' } }]));
    expect(r1.received).toEqual([{ from: 'r4', kind: 'request', payload: { request: 'from r4' } }]);
    expect(r4.received).toEqual([{ from: 'r1', kind: 'message', payload: { hello: 'from r1' } }]);
    expect(r1.logs).toEqual(expect.arrayContaining([{ event: 'peer-connected', peer: 'r2' }, { event: 'peer-inbound-connected', peer: 'r2' }]));
    for (const n of nodes) expect(rejected(n.metrics, 'peer-auth')).toBe(0);
  });

  it('frames sent in one batch (one corked write per link) arrive whole and in order', async () => {
    const ids = ['r1', 'r2'];
    const { replicas, servers: byId } = await membership(ids);
    const nodes = ids.map((id) => transportFor(id, replicas, byId.get(id)));
    for (const n of nodes) n.transport.start();
    await until('connected', () => nodes.every((n) => n.transport.connectedPeers().length === 1));
    const [r1, r2] = nodes as [Replica, Replica];
    r1.transport.batch(() => {
      for (let i = 0; i < 50; i++) r1.transport.send('r2', { i, pad: 'x'.repeat(i * 37) });
      r1.transport.broadcast({ last: true });
    });
    await until('all 51 frames delivered', () => r2.received.length === 51);
    expect(r2.received.map((f) => (f.payload as { i?: number }).i)).toEqual([...Array.from({ length: 50 }, (_, i) => i), undefined]);
    expect(r2.received[50]).toEqual({ from: 'r1', kind: 'message', payload: { last: true } });
  });

  it('sends to a peer that is not connected are dropped and counted, not queued', async () => {
    const { replicas, servers: byId } = await membership(['r1', 'r2']);
    const r1 = transportFor('r1', replicas, byId.get('r1'));
    r1.transport.broadcast({ early: true });
    r1.transport.send('r2', { early: true });
    expect(metric(r1.metrics, 'vcr_peer_dropped_total', 'peer="r2"')).toBe(2);
  });

  it('a dialer whose key is not the membership key of its claimed id is refused and counted', async () => {
    const { replicas, servers: byId } = await membership(['r1', 'r2']);
    const r1 = transportFor('r1', replicas, byId.get('r1'));
    const impostor = transportFor('r2', replicas, undefined, { signer: createMemorySigner(testSeed('mallory')) });
    impostor.transport.start();
    await until('r1 refused the impostor', () => rejected(r1.metrics, 'peer-auth') >= 1);
    impostor.transport.broadcast({ forged: true });
    expect(impostor.transport.connectedPeers()).toEqual([]);
    expect(r1.received).toEqual([]);
  });

  it('a dialer signing for another chain is refused and counted', async () => {
    const { replicas, servers: byId } = await membership(['r1', 'r2']);
    const r1 = transportFor('r1', replicas, byId.get('r1'));
    const foreign = transportFor('r2', replicas, undefined, { chainId: 'another-chain' });
    foreign.transport.start();
    await until('r1 refused the other chain', () => rejected(r1.metrics, 'peer-auth') >= 1);
    expect(foreign.transport.connectedPeers()).toEqual([]);
  });

  it('a captured hello replayed on a new connection is refused: the server nonce is new', async () => {
    const { servers: byId, replicas } = await membership(['r1', 'r2']);
    const server = byId.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server);
    const first = new RawPeer(wsUrl(server));
    const challenge = await first.nextMessage(0);
    const captured = signHello(handshakeAs('r2'), 'r1', challenge.nonce as string, '22'.repeat(32));
    first.ws.send(JSON.stringify(captured));
    expect((await first.nextMessage(1)).type).toBe('welcome');

    const replay = new RawPeer(wsUrl(server));
    const second = await replay.nextMessage(0);
    expect(second.nonce).not.toBe(challenge.nonce);
    replay.ws.send(JSON.stringify(captured));
    expect(await replay.closed()).toBe(closeCodes.policyViolation);
    // Rewriting the nonce to the new one breaks the signature instead.
    const rewritten = new RawPeer(wsUrl(server));
    const third = await rewritten.nextMessage(0);
    rewritten.ws.send(JSON.stringify({ ...captured, serverNonce: third.nonce }));
    expect(await rewritten.closed()).toBe(closeCodes.policyViolation);
    expect(rejected(r1.metrics, 'peer-auth')).toBe(2);
    first.ws.close();
  });

  it('a frame before the handshake closes the socket', async () => {
    const { servers: byId, replicas } = await membership(['r1', 'r2']);
    const server = byId.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server);
    const early = new RawPeer(wsUrl(server));
    await early.nextMessage(0);
    early.ws.send(JSON.stringify({ m: { sneaky: true } }));
    expect(await early.closed()).toBe(closeCodes.policyViolation);
    const binary = new RawPeer(wsUrl(server));
    await binary.nextMessage(0);
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect(await binary.closed()).toBe(closeCodes.unsupportedData);
    expect(rejected(r1.metrics, 'peer-auth')).toBe(2);
    expect(r1.received).toEqual([]);
  });

  it('a handshake that does not finish in time closes the socket', async () => {
    const { servers: byId, replicas } = await membership(['r1', 'r2']);
    const server = byId.get('r1') as Server;
    transportFor('r1', replicas, server, { timing: { helloTimeoutMs: 100 } });
    const silent = new RawPeer(wsUrl(server));
    await silent.nextMessage(0);
    expect(await silent.closed()).toBe(closeCodes.handshakeTimeout);
  });

  it('a peer that stops answering pings is terminated', async () => {
    const { servers: byId, replicas } = await membership(['r1', 'r2']);
    const server = byId.get('r1') as Server;
    transportFor('r1', replicas, server, { timing: { pingIntervalMs: 20, pongTimeoutMs: 100 } });
    const mute = new RawPeer(wsUrl(server), { autoPong: false });
    const challenge = await mute.nextMessage(0);
    mute.ws.send(JSON.stringify(signHello(handshakeAs('r2'), 'r1', challenge.nonce as string, '33'.repeat(32))));
    expect((await mute.nextMessage(1)).type).toBe('welcome');
    // Terminated, not closed: no close frame, so the client sees an abnormal closure.
    expect(await mute.closed()).toBe(1006);
  });

  it('upgrades on any other path are refused with 404', async () => {
    const { servers: byId, replicas } = await membership(['r1', 'r2']);
    const server = byId.get('r1') as Server;
    transportFor('r1', replicas, server);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl(server, '/v1/other'));
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    expect(status).toBe(404);
  });

  it('a second authenticated connection from the same peer replaces the first', async () => {
    const { servers: byId, replicas } = await membership(['r1', 'r2']);
    const server = byId.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server);
    const older = await rawAuthenticated(server, 'r1', 'r2');
    const newer = await rawAuthenticated(server, 'r1', 'r2');
    expect(await older.closed()).toBe(closeCodes.replaced);
    newer.ws.send(JSON.stringify({ m: 'still here' }));
    await until('the newer connection delivers', () => r1.received.length === 1);
    expect(r1.received).toEqual([{ from: 'r2', kind: 'message', payload: 'still here' }]);
    newer.ws.close();
  });

  it('malformed frames are counted and dropped without closing; an oversized frame closes the socket', async () => {
    const { servers: byId, replicas } = await membership(['r1', 'r2']);
    const server = byId.get('r1') as Server;
    const r1 = transportFor('r1', replicas, server);
    const peer = await rawAuthenticated(server, 'r1', 'r2');
    for (const bad of ['not json', '{"x":1}', '{"m":1,"r":2}', '[]', '"m"', 'null']) peer.ws.send(bad);
    peer.ws.send(JSON.stringify({ m: { fine: true } }));
    await until('the good frame after the bad ones', () => r1.received.length === 1);
    expect(r1.received).toEqual([{ from: 'r2', kind: 'message', payload: { fine: true } }]);
    expect(rejected(r1.metrics, 'peer-frame')).toBe(6);
    expect(peer.closeCode).toBeUndefined();

    peer.ws.send('x'.repeat(transportLimits.frameBytesMax + 1));
    expect(await peer.closed()).toBe(closeCodes.messageTooBig);
    await until('the oversize is counted', () => rejected(r1.metrics, 'peer-frame-oversize') === 1);

    const binary = await rawAuthenticated(server, 'r1', 'r2');
    binary.ws.send(Buffer.from('{"m":1}'));
    expect(await binary.closed()).toBe(closeCodes.unsupportedData);
    expect(rejected(r1.metrics, 'peer-frame-binary')).toBe(1);
    expect(r1.received).toHaveLength(1);
  });

  it('a flooding peer cannot starve a quiet one: round-robin delivery, and the excess is dropped and counted', async () => {
    const { replicas, servers: byId } = await membership(['r1', 'r2', 'r3']);
    // r1's drain turns are run by hand once everything has arrived, so the order below is exact.
    const turns: Array<() => void> = [];
    const r1 = transportFor('r1', replicas, byId.get('r1'), { scheduleDrain: (turn) => turns.push(turn) });
    const flooder = transportFor('r2', replicas, byId.get('r2'));
    const quiet = transportFor('r3', replicas, byId.get('r3'));
    flooder.transport.start();
    quiet.transport.start();
    await until('both dialed r1', () => flooder.transport.connectedPeers().includes('r1') && quiet.transport.connectedPeers().includes('r1'));

    const floodCount = transportLimits.intakeFramesPerPeerMax + 1_000;
    for (let i = 0; i < floodCount; i++) flooder.transport.send('r1', { flood: i });
    for (let i = 0; i < 3; i++) quiet.transport.send('r1', { quiet: i });
    await until(
      'every frame reached r1',
      () =>
        metric(r1.metrics, 'vcr_peer_intake_dropped_total', 'peer="r2"') === floodCount - transportLimits.intakeFramesPerPeerMax &&
        metric(r1.metrics, 'vcr_peer_intake_queued_frames', 'peer="r3"') === 3,
    );
    expect(metric(r1.metrics, 'vcr_peer_intake_queued_frames', 'peer="r2"')).toBe(transportLimits.intakeFramesPerPeerMax);
    expect(r1.received).toEqual([]);

    let turnsRun = 0;
    while (turns.length > 0) {
      (turns.shift() as () => void)();
      turnsRun++;
    }
    const total = transportLimits.intakeFramesPerPeerMax + 3;
    expect(r1.received).toHaveLength(total);
    expect(turnsRun).toBe(Math.ceil(total / transportLimits.drainFramesPerTurnMax));
    // Two busy peers, one frame each per round: the quiet peer's three frames are all in the first three rounds.
    const quietPositions = r1.received.flatMap((f, i) => (f.from === 'r3' ? [i] : []));
    expect(quietPositions).toHaveLength(3);
    expect(Math.max(...quietPositions)).toBeLessThan(6);
    // The flooder's frames that fit arrive in order; the ones past the bound were dropped.
    expect(r1.received.filter((f) => f.from === 'r2').map((f) => (f.payload as { flood: number }).flood)).toEqual([...Array(transportLimits.intakeFramesPerPeerMax).keys()]);
    expect(metric(r1.metrics, 'vcr_peer_intake_queued_frames', 'peer="r2"')).toBe(0);
  });

  it('after a replica restarts on the same port, messages flow again both ways', async () => {
    const ids = ['r1', 'r2', 'r3'];
    const { replicas, servers: byId } = await membership(ids);
    const nodes = ids.map((id) => transportFor(id, replicas, byId.get(id)));
    for (const n of nodes) n.transport.start();
    await until('all connected', () => nodes.every((n) => n.transport.connectedPeers().length === 2));
    const [r1, , r3] = nodes as [Replica, Replica, Replica];

    const port = portOf(r3.server);
    await r3.transport.close();
    await stopServer(r3.server);
    await until('r1 saw r3 go', () => !r1.transport.connectedPeers().includes('r3'));
    expect(r1.logs).toEqual(expect.arrayContaining([expect.objectContaining({ event: 'peer-disconnected', peer: 'r3' })]));

    const restarted = transportFor('r3', replicas, await listen(port));
    restarted.transport.start();
    // Sends while r1 has not redialed yet are dropped (and counted); keep sending until one lands.
    await untilDelivered('r1 reaches the restarted r3', r1, restarted, { after: 'restart' }, 15_000);
    await untilDelivered('the restarted r3 reaches r1', restarted, r1, { back: 'again' }, 15_000);
    expect(restarted.received[0]).toEqual({ from: 'r1', kind: 'message', payload: { after: 'restart' } });
  });
});
