// Where a committed request's receipt is on disk: its block's height and its
// log index (the block, leaf and inclusion proof are read from the store when
// the receipt is asked for). Before issue 17 every request ever executed had
// an entry here, rebuilt at each start from every log leaf: memory and
// restart time grew with the history. Now two bounded things are kept:
// - the most recent `recentMax` requests, oldest dropped first, which answers
//   retries (a client retries within seconds: RECEIPT_TIMEOUT_MS);
// - each client's last executed request, as the certified reply cache does
//   (one per client: it grows with the state, not with the history), so a
//   retry of it is answered however long ago it ran in this process.
// At a start only the last `reindexedAtStartMax` stored leaves are read back
// into it, so a restart decodes a small, bounded number of leaves.
// A request below its client's last executed id and no longer recent gets
// 409 `request-id-superseded` at intake (request-intake.ts), as documented.

export interface ReceiptLocation {
  height: bigint;
  logIndex: bigint;
}

export const receiptIndexLimits = {
  /** Recent receipts kept by request (each about 200 bytes): about 13 MiB. */
  recentMax: 65_536,
  /**
   * Stored leaves read back at a start: retries come within seconds (a client waits 10 s for a
   * receipt), and each leaf read back is a decode, so a restart reads few.
   */
  reindexedAtStartMax: 4_096,
} as const;

export class ReceiptIndex {
  private readonly recent = new Map<string, ReceiptLocation>();
  private readonly lastOfClient = new Map<string, { requestId: bigint; location: ReceiptLocation }>();

  constructor(private readonly recentMax: number = receiptIndexLimits.recentMax) {}

  /** Records where `clientId`'s request `requestId` committed (called in log order). */
  set(clientId: string, requestId: bigint, location: ReceiptLocation): void {
    const key = `${clientId}/${requestId}`;
    this.recent.delete(key);
    this.recent.set(key, location);
    if (this.recent.size > this.recentMax) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
    const last = this.lastOfClient.get(clientId);
    if (last === undefined || requestId >= last.requestId) this.lastOfClient.set(clientId, { requestId, location });
  }

  get(clientId: string, requestId: bigint): ReceiptLocation | undefined {
    const last = this.lastOfClient.get(clientId);
    if (last !== undefined && last.requestId === requestId) return last.location;
    return this.recent.get(`${clientId}/${requestId}`);
  }

  /** Entries held (for tests and metrics): recent requests and clients. */
  get size(): { recent: number; clients: number } {
    return { recent: this.recent.size, clients: this.lastOfClient.size };
  }
}
