import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agreesWithSchema, hex, mutated, validHeader, validRequest } from './testing/wire-mutations';
import { clientRequestSchema, headerSchema } from './wire';
import { fastClientRequest, fastHeader } from './wire-fast';

describe('the zod-free fast paths accept only what the schemas accept, with the same value', () => {
  it('accepts the common forms outright (else it would be a fast path in name only)', () => {
    expect(fastClientRequest(validRequest())).toStrictEqual(clientRequestSchema.parse(validRequest()));
    expect(fastClientRequest({ ...validRequest(), payload: '' })).toStrictEqual(clientRequestSchema.parse({ ...validRequest(), payload: '' }));
    expect(fastHeader(validHeader())).toStrictEqual(headerSchema.parse(validHeader()));
    expect(fastHeader({ ...validHeader(), nextMembershipHash: hex(32) })).toStrictEqual(headerSchema.parse({ ...validHeader(), nextMembershipHash: hex(32) }));
  });

  it('client requests: mutated and random inputs', () => {
    fc.assert(fc.property(fc.oneof(mutated(validRequest), fc.anything()), (input) => agreesWithSchema(fastClientRequest, clientRequestSchema, input)), { numRuns: 4_000 });
  });

  it('block headers: mutated and random inputs', () => {
    fc.assert(fc.property(fc.oneof(mutated(validHeader), fc.anything()), (input) => agreesWithSchema(fastHeader, headerSchema, input)), { numRuns: 4_000 });
  });
});
