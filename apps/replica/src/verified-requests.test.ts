import { describe, expect, it } from 'vitest';
import type { ClientRequest } from '@vcr/consensus';
import { VerifiedRequests } from './verified-requests';

const request = (payload: number[], signature = 7): ClientRequest => ({ clientId: 'c', requestId: 1n, payload: Uint8Array.from(payload), signature: new Uint8Array(64).fill(signature) });

describe('verified request cache', () => {
  it('verifies a request once, and never lets a copied signature vouch for another payload', () => {
    const verified: number[][] = [];
    // The stand-in verifier accepts only payload [1, 2, 3].
    const cache = new VerifiedRequests((r) => {
      verified.push([...r.payload]);
      return r.payload.length === 3 && r.payload[0] === 1 && r.payload[1] === 2 && r.payload[2] === 3;
    });
    expect(cache.check(request([1, 2, 3]), 0n)).toBe(true);
    expect(cache.check(request([1, 2, 3]), 0n)).toBe(true);
    expect(verified).toHaveLength(1);
    // Same client, id and signature, other payload: verified (and refused), not served from the cache.
    expect(cache.check(request([1, 2, 4]), 0n)).toBe(false);
    expect(cache.check(request([1, 2]), 0n)).toBe(false);
    expect(verified).toHaveLength(3);
    // A refused request is not remembered.
    expect(cache.check(request([9], 8), 0n)).toBe(false);
    expect(cache.check(request([9], 8), 0n)).toBe(false);
    expect(verified).toHaveLength(5);
  });

  it('a verdict is per epoch: a request valid in one epoch is checked again in the next', () => {
    const epochs: bigint[] = [];
    const cache = new VerifiedRequests((_r, epoch) => {
      epochs.push(epoch);
      return epoch < 2n;
    });
    expect(cache.check(request([1]), 0n)).toBe(true);
    expect(cache.check(request([1]), 0n)).toBe(true);
    expect(cache.check(request([1]), 2n)).toBe(false);
    expect(epochs).toEqual([0n, 2n]);
  });
});
