// The scan before JSON.parse: nesting and element counts refused before
// anything is built; brackets and commas inside strings (escaped quotes
// included) do not count; honest answers of the largest kinds pass their bounds.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSigner } from '@vcr/proofs/testing';
import { scanJson } from './json-scan';
import { answerBounds, sdkLimits } from './limits';
import { boundsOf } from './http';
import { FakeRegistry } from './test-support/fake-registry';
import { encodeOp } from '@vcr/registry';
import { signClientRequest } from '@vcr/proofs';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('scanJson', () => {
  it('refuses nesting past the bound, at the first byte too deep', () => {
    expect(scanJson(bytes('['.repeat(32) + ']'.repeat(32)), { depthMax: 32, elementsMax: 100 })).toEqual({ ok: true });
    const deep = scanJson(bytes('['.repeat(10_000)), { depthMax: 32, elementsMax: 1e9 });
    expect(deep).toMatchObject({ ok: false, reason: 'json-too-deep' });
    expect(!deep.ok && deep.detail).toMatch(/deeper than 32 levels \(at byte 32\)/);
    expect(scanJson(bytes('{"a":'.repeat(40) + '1' + '}'.repeat(40)), { depthMax: 32, elementsMax: 1e9 })).toMatchObject({ ok: false, reason: 'json-too-deep' });
  });

  it('refuses more elements than the bound', () => {
    expect(scanJson(bytes(`[${Array(100).fill(0).join(',')}]`), { depthMax: 32, elementsMax: 100 })).toEqual({ ok: true });
    expect(scanJson(bytes(`[${Array(101).fill(0).join(',')}]`), { depthMax: 32, elementsMax: 100 })).toMatchObject({ ok: false, reason: 'json-too-many-elements' });
    expect(scanJson(bytes(`[${Array(60).fill('{}').join(',')}]`), { depthMax: 32, elementsMax: 100 })).toMatchObject({ ok: false, reason: 'json-too-many-elements' });
  });

  it('does not count brackets, commas or escaped quotes inside strings', () => {
    const inString = JSON.stringify({ a: '[[[[,,,,{{{{ \\" \\\\'.repeat(100) });
    expect(scanJson(bytes(inString), { depthMax: 1, elementsMax: 0 + 1 })).toEqual({ ok: true });
    // A string ending in an escaped backslash closes where JSON says it does.
    expect(scanJson(bytes('["\\\\",[[]]]'), { depthMax: 2, elementsMax: 10 })).toMatchObject({ ok: false, reason: 'json-too-deep' });
  });

  it('passes honest answers of the largest size within their kind bounds', () => {
    const reg = new FakeRegistry();
    reg.set('big', 'x'.repeat(64 * 1024));
    const read = bytes(JSON.stringify(reg.readAnswer('big')));
    const readBounds = boundsOf('read', sdkLimits.responseBytesMax);
    expect(read.length).toBeLessThan(readBounds.maxBytes);
    expect(scanJson(read, readBounds.json)).toEqual({ ok: true });
    const signer = testSigner('client');
    const request = signClientRequest(signer, { chainId: reg.cluster.membership.chainId, epoch: 0n }, { requestId: 1n, payload: encodeOp({ op: 'put', key: 'k', value: new Uint8Array(100) }) });
    const receipt = bytes(JSON.stringify(reg.execute(request)));
    const receiptBounds = boundsOf('receipt', sdkLimits.responseBytesMax);
    expect(receipt.length).toBeLessThan(receiptBounds.maxBytes);
    expect(scanJson(receipt, receiptBounds.json)).toEqual({ ok: true });
    // Each kind stays within the client's own bound.
    for (const b of Object.values(answerBounds)) expect(b.bytesMax).toBeLessThanOrEqual(sdkLimits.responseBytesMax);
  });

  it('counts exactly as a byte-by-byte scan does, on any text (strings skipped by jumping to their closing quote)', () => {
    const byteByByte = (input: Uint8Array, bounds: { depthMax: number; elementsMax: number }) => {
      let depth = 0;
      let elements = 0;
      let inString = false;
      for (let i = 0; i < input.length; i++) {
        const b = input[i] as number;
        if (inString) {
          if (b === 0x5c) i++;
          else if (b === 0x22) inString = false;
          continue;
        }
        if (b === 0x22) inString = true;
        else if (b === 0x5b || b === 0x7b) {
          if (++depth > bounds.depthMax) return `json-too-deep ${i}`;
          if (++elements > bounds.elementsMax) return `json-too-many-elements ${i}`;
        } else if (b === 0x5d || b === 0x7d) depth--;
        else if (b === 0x2c && ++elements > bounds.elementsMax) return `json-too-many-elements ${i}`;
      }
      return 'ok';
    };
    const pieces = fc.constantFrom('"', '\\', '\\"', '[', ']', '{', '}', ',', 'a', 'é', ':', '\\\\"', '"x"');
    const texts = fc.oneof(fc.array(pieces, { maxLength: 60 }).map((p) => p.join('')), fc.json(), fc.string({ maxLength: 60 }));
    fc.assert(
      fc.property(texts, fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 12 }), (text, depthMax, elementsMax) => {
        const input = bytes(text);
        const got = scanJson(input, { depthMax, elementsMax });
        const detail = got.ok ? 'ok' : `${got.reason} ${/at byte ([0-9]+)/.exec(got.detail)?.[1]}`;
        expect(detail).toBe(byteByByte(input, { depthMax, elementsMax }));
      }),
      { numRuns: 3_000 },
    );
  });
});
