import { describe, expect, it } from 'vitest';
import { maxFaultTolerance, quorumSize } from './quorum';

describe('quorum arithmetic', () => {
  it('n = 3f + 1 gives the classic 2f + 1', () => {
    for (let f = 0; f <= 20; f++) expect(quorumSize(3 * f + 1, f)).toBe(2 * f + 1);
  });

  it('any two quorums intersect in at least f + 1 replicas, for every n and admissible f', () => {
    for (let n = 1; n <= 64; n++) {
      for (let f = 0; 3 * f + 1 <= n; f++) {
        const q = quorumSize(n, f);
        expect(2 * q - n).toBeGreaterThanOrEqual(f + 1);
        // and a quorum is reachable with f replicas silent
        expect(q).toBeLessThanOrEqual(n - f);
      }
    }
  });

  it('f is floor((n - 1) / 3)', () => {
    expect([1, 3, 4, 5, 6, 7, 10].map(maxFaultTolerance)).toEqual([0, 0, 1, 1, 1, 2, 3]);
  });

  it('refuses f beyond what n tolerates', () => {
    expect(() => quorumSize(4, 2)).toThrow();
    expect(() => quorumSize(0, 0)).toThrow();
  });
});
