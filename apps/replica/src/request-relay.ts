// When a client request this replica took in goes to every peer (docs/protocol.md
// section 3). A request goes to the primary alone first. Every RELAY_TO_ALL_AFTER_MS
// it is looked at again while its client still waits here. It is given one more
// period, up to RELAY_PATIENCE_LOOKS times, while the primary it was sent to is still
// the primary and shows progress: another request taken in here committed during the
// last period, or, at the first look only, the request is in a PRE-PREPARE this
// replica accepted. Otherwise it goes to every peer, so every backup holds it and runs
// its view-change timer for it (PBFT 4.5.2), and the primary of any later view has it.
//
// Why patience: under overload a request waits its turn for seconds. Relaying it then
// made every peer parse and check a copy and start a view-change timer for a request
// that was only queued, which turned overload into more load (0.5 to 0.75 relays per
// write at 256 clients, measured with ops/bench/cluster-load.ts). Commits run in
// sequence order, so a primary that withholds one block, or ignores what this replica
// sends it, shows no progress and is relayed around after one period, as before; one
// that censors only some requests while serving others is relayed around after at most
// 1 + RELAY_PATIENCE_LOOKS periods.

import type { ClientRequest } from '@vcr/proofs';

export const RELAY_TO_ALL_AFTER_MS = 1_000;
export const RELAY_PATIENCE_LOOKS = 4;

interface Forwarded {
  key: string;
  request: ClientRequest;
  /** The request's wire form, made once when it was taken in. */
  json: unknown;
  /** When it is next looked at. */
  atMs: number;
  looks: number;
  /** `committed` when it was last looked at (or taken in). */
  progressMark: number;
  /** The primary it was first sent to. */
  primary: string;
}

/** What the relay decision needs to know of the replica now. */
export interface RelayView {
  self: string;
  primary: string;
  /** The client still waits here for this request's receipt. */
  isWaiting(key: string): boolean;
  /** The request is in a PRE-PREPARE this replica accepted in the current view. */
  isProposed(request: ClientRequest): boolean;
}

export class RequestRelay {
  /** Requests taken in here and not yet committed, in the order they are next looked at. */
  private queue: Forwarded[] = [];
  /** Requests taken in here that have committed, ever: the primary's progress on what this replica sends it. */
  private committedCount = 0;

  /** A request taken in here now, sent to `primary` (this replica itself when it is the primary). */
  taken(key: string, request: ClientRequest, json: unknown, nowMs: number, primary: string): void {
    this.queue.push({ key, request, json, atMs: nowMs, looks: 0, progressMark: this.committedCount, primary });
  }

  /** A request taken in here committed. */
  committed(): void {
    this.committedCount++;
  }

  /** The wire forms of the requests to relay to every peer now. Each is relayed at most once. */
  due(nowMs: number, view: RelayView): unknown[] {
    let n = 0;
    while (n < this.queue.length && (this.queue[n] as Forwarded).atMs + RELAY_TO_ALL_AFTER_MS <= nowMs) n++;
    if (n === 0) return [];
    const relay: unknown[] = [];
    const looked = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    for (const entry of looked) {
      if (!view.isWaiting(entry.key)) continue;
      const isPrimary = view.primary === view.self;
      const progressing = entry.primary === view.primary && (this.committedCount > entry.progressMark || (entry.looks === 0 && view.isProposed(entry.request)));
      if (isPrimary || (entry.looks < RELAY_PATIENCE_LOOKS && progressing)) {
        // While this replica is the primary there is nothing to relay; it keeps looking in case it stops being so.
        this.queue.push({ ...entry, atMs: nowMs, looks: isPrimary ? entry.looks : entry.looks + 1, progressMark: this.committedCount, primary: isPrimary ? view.primary : entry.primary });
        continue;
      }
      relay.push(entry.json);
    }
    return relay;
  }

  clear(): void {
    this.queue = [];
  }
}
