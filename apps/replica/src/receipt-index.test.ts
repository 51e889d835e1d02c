import { describe, expect, it } from 'vitest';
import { ReceiptIndex } from './receipt-index';

describe('receipt index', () => {
  it('keeps at most recentMax recent receipts however many requests commit, oldest dropped first', () => {
    const index = new ReceiptIndex(100);
    for (let i = 0n; i < 10_000n; i++) index.set(`client${i % 7n}`, i, { height: i / 10n, logIndex: i });
    expect(index.size).toEqual({ recent: 100, clients: 7 });
    expect(index.get('client0', 9_996n)).toEqual({ height: 999n, logIndex: 9_996n });
    expect(index.get('client1', 1n)).toBeUndefined();
  });

  it("answers a client's last executed request however many others committed after it", () => {
    const index = new ReceiptIndex(10);
    index.set('quiet', 5n, { height: 1n, logIndex: 0n });
    for (let i = 0n; i < 1_000n; i++) index.set('busy', i, { height: 2n + i, logIndex: 1n + i });
    expect(index.get('quiet', 5n)).toEqual({ height: 1n, logIndex: 0n });
    expect(index.get('quiet', 4n)).toBeUndefined();
  });
});
