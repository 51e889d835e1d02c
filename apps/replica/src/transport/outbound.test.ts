// The dialer's pure parts: where it dials and how long it waits between tries.
import { describe, expect, it } from 'vitest';
import { defaultTiming } from './limits';
import { backoffDelayMs, peerSocketUrl } from './outbound';

describe('outbound link', () => {
  it('dials /v1/peer/ws on the replica address, wss for https', () => {
    expect(peerSocketUrl('http://127.0.0.1:7002')).toBe('ws://127.0.0.1:7002/v1/peer/ws');
    expect(peerSocketUrl('https://r2.example.org/ignored?x=1')).toBe('wss://r2.example.org/v1/peer/ws');
  });

  it('backs off from 100 ms, doubling, capped at 5 s, jittered into [half, full]', () => {
    const full = (attempt: number) => backoffDelayMs(attempt, defaultTiming, () => 1);
    const half = (attempt: number) => backoffDelayMs(attempt, defaultTiming, () => 0);
    expect([0, 1, 2, 3, 5, 6, 100].map(full)).toEqual([100, 200, 400, 800, 3_200, 5_000, 5_000]);
    expect([0, 6].map(half)).toEqual([50, 2_500]);
  });
});
