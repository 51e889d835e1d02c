import { describe, expect, it } from 'vitest';
import { pickEndpoint } from './endpoint';
import { type EndpointValue, endpointSchema } from './schemas';

const ep = (url: string, region: string, weight: number, extra: object = {}): EndpointValue => endpointSchema.parse({ type: 'endpoint', url, region, weight, ...extra });
const EU1 = ep('https://eu1.example.internal', 'eu', 3);
const EU2 = ep('https://eu2.example.internal', 'eu', 1);
const US = ep('https://us.example.internal', 'us', 4);
const DRAINED = ep('https://old.example.internal', 'eu', 0);
const LOCAL = ep('http://127.0.0.1:8080', 'eu', 100, { allowInsecure: true });

describe('pickEndpoint', () => {
  it('is a weighted choice in the given order, deterministic in the injected random number', () => {
    const all = [EU1, EU2, US];
    expect(pickEndpoint(all, { random: 0 })).toMatchObject({ ok: true, index: 0 });
    expect(pickEndpoint(all, { random: 0.374 })).toMatchObject({ ok: true, index: 0 }); // floor(0.374 * 8) = 2 < 3
    expect(pickEndpoint(all, { random: 0.375 })).toMatchObject({ ok: true, index: 1 }); // 3
    expect(pickEndpoint(all, { random: 0.5 })).toMatchObject({ ok: true, index: 2 }); // 4
    expect(pickEndpoint(all, { random: 0.999999 })).toMatchObject({ ok: true, index: 2 });
  });

  it('filters by region, skips weight 0, and falls back to any region only when asked', () => {
    const all = [DRAINED, EU1, EU2, US];
    expect(pickEndpoint(all, { region: 'eu', random: 0 })).toEqual({ ok: true, endpoint: EU1, index: 1, usedFallback: false });
    expect(pickEndpoint(all, { region: 'ap', random: 0 })).toEqual({ ok: false, reason: 'no-candidates' });
    expect(pickEndpoint(all, { region: 'ap', random: 0, fallbackToAnyRegion: true })).toEqual({ ok: true, endpoint: EU1, index: 1, usedFallback: true });
    expect(pickEndpoint([DRAINED], { random: 0.5 })).toEqual({ ok: false, reason: 'no-candidates' });
  });

  it('an http endpoint is picked only when the reader opts in too', () => {
    expect(pickEndpoint([LOCAL], { random: 0 })).toEqual({ ok: false, reason: 'no-candidates' });
    expect(pickEndpoint([LOCAL], { random: 0, allowInsecure: true })).toMatchObject({ ok: true, index: 0 });
  });

  it('the distribution follows the weights', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 8000; i++) {
      const r = pickEndpoint([EU1, EU2, US], { random: i / 8000 });
      if (r.ok) counts[r.index]! += 1;
    }
    expect(counts).toEqual([3000, 1000, 4000]);
  });

  it('refuses a random number outside [0, 1)', () => {
    expect(() => pickEndpoint([EU1], { random: 1 })).toThrow(RangeError);
    expect(() => pickEndpoint([EU1], { random: Number.NaN })).toThrow(RangeError);
  });
});
