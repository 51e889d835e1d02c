import { describe, expect, it } from 'vitest';
import type { ClientRequest } from '@vcr/proofs';
import { RELAY_PATIENCE_LOOKS, RELAY_TO_ALL_AFTER_MS, RequestRelay, type RelayView } from './request-relay';

const request = (id: number): ClientRequest => ({ clientId: 'aa'.repeat(32), requestId: BigInt(id) }) as unknown as ClientRequest;

function backup(overrides: Partial<RelayView> = {}): RelayView {
  return { self: 'r2', primary: 'r1', isWaiting: () => true, isProposed: () => false, ...overrides };
}

/** Looks at the relay every period from t = 0 until `periods` have passed; the times each wire form went out. */
function run(relay: RequestRelay, periods: number, view: (t: number) => RelayView, onLook?: (t: number) => void): Map<unknown, number> {
  const sent = new Map<unknown, number>();
  for (let t = RELAY_TO_ALL_AFTER_MS; t <= periods * RELAY_TO_ALL_AFTER_MS; t += RELAY_TO_ALL_AFTER_MS) {
    onLook?.(t);
    for (const json of relay.due(t, view(t))) {
      expect(sent.has(json), 'relayed at most once').toBe(false);
      sent.set(json, t);
    }
  }
  return sent;
}

describe('when a request taken in here goes to every peer', () => {
  it('a primary that shows no progress has it relayed after one period', () => {
    const relay = new RequestRelay();
    relay.taken('k1', request(1), 'j1', 0, 'r1');
    expect(run(relay, 3, () => backup())).toEqual(new Map([['j1', RELAY_TO_ALL_AFTER_MS]]));
  });

  it('a busy primary that keeps committing what this replica sends it gets no relay while patience lasts', () => {
    const relay = new RequestRelay();
    relay.taken('queued', request(1), 'queued', 0, 'r1');
    // Another request taken in here commits in every period: the primary works through a queue.
    // Once patience is used up, a primary that serves others but never this one is relayed around.
    const sent = run(relay, RELAY_PATIENCE_LOOKS + 3, () => backup(), () => relay.committed());
    expect(sent).toEqual(new Map([['queued', (RELAY_PATIENCE_LOOKS + 1) * RELAY_TO_ALL_AFTER_MS]]));
  });

  it('a request in an accepted PRE-PREPARE gets one more period, not more: a primary that withholds the block shows no commits', () => {
    const relay = new RequestRelay();
    relay.taken('k1', request(1), 'j1', 0, 'r1');
    expect(run(relay, 4, () => backup({ isProposed: () => true })).get('j1')).toBe(2 * RELAY_TO_ALL_AFTER_MS);
  });

  it('a request is relayed at once when the primary changed since it was sent, even while others commit', () => {
    const relay = new RequestRelay();
    relay.taken('k1', request(1), 'j1', 0, 'r1');
    const sent = run(relay, 3, () => backup({ primary: 'r3' }), () => relay.committed());
    expect(sent.get('j1')).toBe(RELAY_TO_ALL_AFTER_MS);
  });

  it('nothing goes out while this replica is the primary, and a request it took in as primary is relayed once it is not', () => {
    const relay = new RequestRelay();
    relay.taken('k1', request(1), 'j1', 0, 'r2');
    let primary = 'r2';
    const sent = run(relay, 8, () => backup({ primary }), (t) => {
      if (t === 6 * RELAY_TO_ALL_AFTER_MS) primary = 'r3';
    });
    expect(sent.get('j1')).toBe(6 * RELAY_TO_ALL_AFTER_MS);
  });

  it('a request whose client no longer waits here (committed, timed out) is dropped, not relayed', () => {
    const relay = new RequestRelay();
    relay.taken('k1', request(1), 'j1', 0, 'r1');
    relay.taken('k2', request(2), 'j2', 0, 'r1');
    expect(run(relay, 3, () => backup({ isWaiting: (key) => key === 'k2' }))).toEqual(new Map([['j2', RELAY_TO_ALL_AFTER_MS]]));
    expect(relay.due(10 * RELAY_TO_ALL_AFTER_MS, backup())).toEqual([]);
  });
});
