// Link faults between replica processes: one TCP proxy per replica, listening
// on the address the genesis gives for it (prepareLocalCluster's
// `peerAddressOf`), forwarding to the replica's real port. Peers dial that
// address for their WebSocket (docs/peer-transport.md), one socket per
// direction, so a socket dialed by i to j carries exactly the messages of the
// link i -> j. The proxy learns i from the dialer's first WebSocket frame,
// the handshake hello (`from`), and from then on applies the rule of i -> j to
// each whole frame: partition (the socket is cut, and every redial too),
// delay (frames held, order kept), drop (data frames dropped with a
// probability; control frames pass, so a dropped frame is a lost message, not
// a corrupt stream). Other traffic through the proxy (block fetches over HTTP)
// cannot be attributed to a dialer and passes, unless the replica it goes to
// is cut off from every peer.

import { createServer, type Server, type Socket, connect } from 'node:net';

export type LinkRule = { kind: 'partition' } | { kind: 'delay'; delayMs: number } | { kind: 'drop'; probability: number };

interface Tracked {
  from: string;
  to: string;
  client: Socket;
  upstream: Socket;
}

const HTTP_HEADER_BYTES_MAX = 16 * 1024;

export class LinkProxies {
  private readonly servers: Server[] = [];
  private readonly rules = new Map<string, LinkRule>();
  private readonly tracked = new Set<Tracked>();
  private readonly ids: string[];
  /** Frames dropped and sockets cut, for the summary. */
  readonly counters = { framesDropped: 0, framesDelayed: 0, socketsCut: 0 };

  private constructor(ids: string[], private readonly random: () => number) {
    this.ids = ids;
  }

  /** Starts one proxy per replica: `listenPorts[i]` forwards to `targetPorts[i]`. */
  static async start(ids: string[], listenPorts: number[], targetPorts: number[], random: () => number): Promise<LinkProxies> {
    const proxies = new LinkProxies(ids, random);
    await Promise.all(ids.map((to, i) => proxies.listen(to, listenPorts[i] as number, targetPorts[i] as number)));
    return proxies;
  }

  /** Sets (or with undefined clears) the rule of the directed link from -> to. */
  setRule(from: string, to: string, rule: LinkRule | undefined): void {
    const link = `${from}->${to}`;
    if (rule === undefined) this.rules.delete(link);
    else this.rules.set(link, rule);
    if (rule?.kind === 'partition') for (const t of this.tracked) if (t.from === from && t.to === to) this.cut(t);
  }

  clearAll(): void {
    this.rules.clear();
  }

  private ruleOf(from: string, to: string): LinkRule | undefined {
    return this.rules.get(`${from}->${to}`);
  }

  private isolated(to: string): boolean {
    return this.ids.filter((id) => id !== to).every((from) => this.ruleOf(from, to)?.kind === 'partition' && this.ruleOf(to, from)?.kind === 'partition');
  }

  private cut(t: Tracked): void {
    this.counters.socketsCut++;
    t.client.destroy();
    t.upstream.destroy();
    this.tracked.delete(t);
  }

  private listen(to: string, port: number, targetPort: number): Promise<void> {
    const server = createServer((client) => this.onConnection(to, client, targetPort));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  private onConnection(to: string, client: Socket, targetPort: number): void {
    if (this.isolated(to)) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.on('data', (chunk) => client.write(chunk));
    let mode: 'http' | 'plain' | 'ws' = 'http';
    let buffer = Buffer.alloc(0);
    let tracked: Tracked | undefined;
    let releaseAt = 0;
    const forward = (bytes: Buffer) => {
      const rule = tracked === undefined ? undefined : this.ruleOf(tracked.from, tracked.to);
      if (rule?.kind !== 'delay') {
        upstream.write(bytes);
        return;
      }
      // Frames leave in order: each no earlier than the previous one.
      this.counters.framesDelayed++;
      releaseAt = Math.max(Date.now() + rule.delayMs, releaseAt);
      setTimeout(() => upstream.writable && upstream.write(bytes), releaseAt - Date.now());
    };
    client.on('data', (chunk: Buffer) => {
      if (mode === 'plain') return void upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      if (mode === 'http') {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buffer.length > HTTP_HEADER_BYTES_MAX) mode = 'plain';
          else return;
        } else if (buffer.subarray(0, 20).toString('latin1').startsWith('GET /v1/peer/ws ')) {
          upstream.write(buffer.subarray(0, end + 4));
          buffer = buffer.subarray(end + 4);
          mode = 'ws';
        } else mode = 'plain';
        if (mode === 'plain') {
          upstream.write(buffer);
          buffer = Buffer.alloc(0);
          return;
        }
      }
      for (;;) {
        const frame = nextFrame(buffer);
        if (frame === undefined) return;
        buffer = buffer.subarray(frame.bytes.length);
        if (tracked === undefined && frame.opcode === 1) {
          const from = helloSender(frame.payload);
          if (from !== undefined) {
            tracked = { from, to, client, upstream };
            this.tracked.add(tracked);
            client.once('close', () => tracked && this.tracked.delete(tracked));
          }
        }
        const rule = tracked === undefined ? undefined : this.ruleOf(tracked.from, tracked.to);
        if (rule?.kind === 'partition' && tracked !== undefined) return this.cut(tracked);
        if (rule?.kind === 'drop' && frame.fin && (frame.opcode === 1 || frame.opcode === 2) && this.random() < rule.probability) {
          this.counters.framesDropped++;
          continue;
        }
        forward(frame.bytes);
      }
    });
  }

  async stop(): Promise<void> {
    for (const t of this.tracked) this.cut(t);
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** One complete WebSocket frame at the start of `buffer` (RFC 6455 5.2), payload unmasked. */
function nextFrame(buffer: Buffer): { bytes: Buffer; payload: Buffer; opcode: number; fin: boolean } | undefined {
  if (buffer.length < 2) return undefined;
  const b0 = buffer[0] as number;
  const b1 = buffer[1] as number;
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  const mask = masked ? buffer.subarray(offset, offset + 4) : undefined;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (mask !== undefined) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return { bytes: buffer.subarray(0, offset + length), payload, opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0 };
}

function helloSender(payload: Buffer): string | undefined {
  try {
    const message = JSON.parse(payload.toString('utf8')) as { type?: unknown; from?: unknown };
    return message.type === 'hello' && typeof message.from === 'string' ? message.from : undefined;
  } catch {
    return undefined;
  }
}
