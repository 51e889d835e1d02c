import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agreesWithSchema, hex, hostileField, mutated, validHeader, validRequest } from './testing/wire-mutations';
import { limits as consensusLimits } from './limits';
import { parsePeerMessageJson, peerMessageSchema } from './peer-wire';
import { fastPeerMessage } from './wire-fast';

const signed = (type: string) => ({ type, epoch: '2', from: 'r3', signature: hex(64) });
const vote = (type: 'prepare' | 'commit') => () => ({ ...signed(type), view: '4', seq: '77', headerHash: hex(32) });
const checkpoint = () => ({ ...signed('checkpoint'), seq: '64', headerHash: hex(32) });
const prePrepare = (n = 3) => () => ({ ...signed('pre-prepare'), view: '4', seq: '77', header: validHeader(), batch: Array.from({ length: n }, validRequest) });

const messages: (() => Record<string, unknown>)[] = [vote('prepare'), vote('commit'), checkpoint, prePrepare(0), prePrepare(3)];

describe('the zod-free peer-message fast path accepts only what peerMessageSchema accepts, with the same value', () => {
  it('accepts the per-block messages outright, and parsePeerMessageJson returns the same as the schema', () => {
    for (const make of messages) {
      expect(fastPeerMessage(make())).toStrictEqual(peerMessageSchema.parse(make()));
      expect(parsePeerMessageJson(make())).toStrictEqual({ ok: true, value: peerMessageSchema.parse(make()) });
    }
  });

  it('mutated messages, mutated headers and requests inside a PRE-PREPARE, and random values', () => {
    const inner = fc.oneof(
      mutated(validHeader).map((header) => ({ ...prePrepare(2)(), header })),
      fc.tuple(mutated(validRequest), fc.nat(2)).map(([r, i]) => {
        const m = prePrepare(3)();
        (m.batch as unknown[])[i] = r;
        return m;
      }),
      fc.oneof(fc.constant([]), fc.array(hostileField, { maxLength: 3 })).map((batch) => ({ ...prePrepare(1)(), batch })),
    );
    fc.assert(fc.property(fc.oneof(...messages.map((m) => mutated(m)), inner, fc.anything()), (input) => agreesWithSchema(fastPeerMessage, peerMessageSchema, input)), { numRuns: 6_000 });
  });

  it('a PRE-PREPARE over the batch bounds is left to the schema, which refuses it', () => {
    const tooMany = { ...prePrepare(0)(), batch: Array.from({ length: consensusLimits.batchRequestsMax + 1 }, validRequest) };
    expect(fastPeerMessage(tooMany)).toBeUndefined();
    expect(parsePeerMessageJson(tooMany).ok).toBe(false);
    const tooLarge = { ...prePrepare(0)(), batch: Array.from({ length: consensusLimits.batchBytesMax / (64 * 1024) + 1 }, () => ({ ...validRequest(), payload: hex(64 * 1024) })) };
    expect(fastPeerMessage(tooLarge)).toBeUndefined();
    expect(parsePeerMessageJson(tooLarge).ok).toBe(false);
  });
});
