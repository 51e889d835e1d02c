// Fair, bounded intake of inbound peer frames. Each peer has its own queue,
// bounded in frames and bytes; a frame that does not fit is dropped and
// counted (PBFT retransmits, clients retry). A drain loop takes frames
// round-robin, one per non-empty queue per round, at most framesPerTurnMax per
// event-loop turn, then yields, so one flooding peer neither starves the
// other peers nor the HTTP server. The queue holds raw bytes: decoding and
// JSON.parse happen in `deliver`, inside the drain loop, so the queue bound
// also bounds the parse work.

import { assert } from '@vcr/proofs';

export interface FairIntakeOptions {
  peers: readonly string[];
  framesPerPeerMax: number;
  bytesPerPeerMax: number;
  framesPerTurnMax: number;
  /** Handles one frame; called only from the drain loop. What it throws goes to onDeliverError. */
  deliver(peer: string, data: Buffer): void;
  onDeliverError(peer: string, error: unknown): void;
  /** A frame from `peer` did not fit its queue and was dropped. */
  onDropped(peer: string): void;
  /** The frames now waiting for `peer`; called when that number changes. */
  onDepth?(peer: string, frames: number): void;
  /** Runs one drain turn later; default setImmediate. Tests pass their own to run turns by hand. */
  schedule?(turn: () => void): void;
}

/** A FIFO of byte frames with a moving head, so taking a frame is O(1). */
class PeerQueue {
  private frames: Buffer[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.frames.length - this.head;
  }

  push(frame: Buffer): void {
    this.frames.push(frame);
    this.bytes += frame.byteLength;
  }

  shift(): Buffer | undefined {
    if (this.head >= this.frames.length) return undefined;
    const frame = this.frames[this.head] as Buffer;
    this.frames[this.head] = EMPTY;
    this.head++;
    this.bytes -= frame.byteLength;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  clear(): void {
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
  }
}

const EMPTY = Buffer.alloc(0);

export class FairIntake {
  private readonly order: readonly string[];
  private readonly queues = new Map<string, PeerQueue>();
  /** Index in `order` of the peer the next round-robin step looks at first. */
  private cursor = 0;
  private queuedFrames = 0;
  private scheduled = false;
  private closed = false;

  constructor(private readonly opts: FairIntakeOptions) {
    assert(opts.framesPerPeerMax > 0 && opts.bytesPerPeerMax > 0 && opts.framesPerTurnMax > 0, 'intake bounds must be positive');
    assert(new Set(opts.peers).size === opts.peers.length, 'intake peers must be distinct');
    this.order = [...opts.peers];
    for (const peer of this.order) this.queues.set(peer, new PeerQueue());
  }

  /** Queues one frame from an authenticated peer; false if it was dropped for the bound. */
  push(peer: string, data: Buffer): boolean {
    const queue = this.queues.get(peer);
    assert(queue !== undefined, `intake: ${peer} is not a peer of this membership`);
    if (this.closed) return false;
    if (queue.length >= this.opts.framesPerPeerMax || queue.bytes + data.byteLength > this.opts.bytesPerPeerMax) {
      this.opts.onDropped(peer);
      return false;
    }
    queue.push(data);
    this.queuedFrames++;
    this.opts.onDepth?.(peer, queue.length);
    this.scheduleTurn();
    return true;
  }

  /** Frames waiting for `peer` (0 for a stranger). */
  depth(peer: string): number {
    return this.queues.get(peer)?.length ?? 0;
  }

  /** Drops every queued frame and stops the loop; later pushes are ignored. */
  close(): void {
    this.closed = true;
    for (const [peer, queue] of this.queues) {
      if (queue.length > 0) this.opts.onDepth?.(peer, 0);
      queue.clear();
    }
    this.queuedFrames = 0;
  }

  private scheduleTurn(): void {
    if (this.scheduled || this.closed || this.queuedFrames === 0) return;
    this.scheduled = true;
    (this.opts.schedule ?? setImmediate)(() => this.turn());
  }

  /** One drain turn: round-robin over the peers, one frame per non-empty queue per round, up to the budget. */
  private turn(): void {
    this.scheduled = false;
    const n = this.order.length;
    let delivered = 0;
    while (!this.closed && this.queuedFrames > 0 && delivered < this.opts.framesPerTurnMax) {
      const peer = this.order[this.cursor] as string;
      this.cursor = (this.cursor + 1) % n;
      const queue = this.queues.get(peer) as PeerQueue;
      const frame = queue.shift();
      if (frame === undefined) continue;
      this.queuedFrames--;
      delivered++;
      this.opts.onDepth?.(peer, queue.length);
      try {
        this.opts.deliver(peer, frame);
      } catch (error) {
        this.opts.onDeliverError(peer, error);
      }
    }
    // Frames left over (budget spent, or pushed by a deliver): another turn, after the event loop has run.
    this.scheduleTurn();
  }
}
