import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agreesWithSchema, hex, hostileField, mutated, validHeader, validRequest } from './testing/wire-mutations';
import { certificateSchema, clientRequestSchema, headerSchema, logProofSchema, mapProofSchema } from './wire';
import { fastCertificate, fastClientRequest, fastHashList, fastHeader, fastMapProof } from './wire-fast';
import { limits } from './limits';

const validSignature = () => ({ replicaId: 'r1', signature: hex(64, 0x11) });
const validCertificate = () => ({ header: validHeader(), commitView: '2', signatures: [validSignature(), { ...validSignature(), replicaId: 'r2' }, { ...validSignature(), replicaId: 'r3' }] });
const validLeafProof = () => ({ siblings: [hex(32, 1), hex(32, 2), hex(32, 3)], terminal: { kind: 'leaf', path: hex(32, 4), entryHash: hex(32, 5) } });
const validEmptyProof = () => ({ siblings: [hex(32, 1)], terminal: { kind: 'empty' } });

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

  it('accepts the common read-side forms outright: certificates, map proofs of both kinds, hash lists', () => {
    expect(fastCertificate(validCertificate())).toStrictEqual(certificateSchema.parse(validCertificate()));
    expect(fastMapProof(validLeafProof())).toStrictEqual(mapProofSchema.parse(validLeafProof()));
    expect(fastMapProof(validEmptyProof())).toStrictEqual(mapProofSchema.parse(validEmptyProof()));
    expect(fastHashList([hex(32), hex(32, 7)], limits.logProofNodesMax)).toStrictEqual(logProofSchema.parse([hex(32), hex(32, 7)]));
  });

  it('certificates: mutated and random inputs, in the certificate, its header and its signatures', () => {
    const inSignature = mutated(validSignature).map((s) => ({ ...validCertificate(), signatures: [s, validSignature()] }));
    const inHeader = mutated(validHeader).map((header) => ({ ...validCertificate(), header }));
    const signatureLists = fc.array(fc.oneof(fc.constant(validSignature()), mutated(validSignature)), { maxLength: limits.certificateSignaturesMax + 2 }).map((signatures) => ({ ...validCertificate(), signatures }));
    fc.assert(fc.property(fc.oneof(mutated(validCertificate), inSignature, inHeader, signatureLists, fc.anything()), (input) => agreesWithSchema(fastCertificate, certificateSchema, input)), { numRuns: 4_000 });
  });

  it('map proofs: mutated and random inputs, in the proof, its terminal and its siblings', () => {
    const terminals = fc.oneof(mutated(() => validLeafProof().terminal), mutated(() => ({ kind: 'empty' })), fc.anything()).map((terminal) => ({ ...validLeafProof(), terminal }));
    const siblingLists = fc.array(fc.oneof(fc.constant(hex(32)), hostileField), { maxLength: 8 }).map((siblings) => ({ ...validEmptyProof(), siblings }));
    fc.assert(fc.property(fc.oneof(mutated(validLeafProof), mutated(validEmptyProof), terminals, siblingLists, fc.anything()), (input) => agreesWithSchema(fastMapProof, mapProofSchema, input)), { numRuns: 4_000 });
    const tooDeep = { ...validEmptyProof(), siblings: Array.from({ length: limits.mapDepthMax + 1 }, () => hex(32)) };
    expect(fastMapProof(tooDeep)).toBeUndefined();
    expect(mapProofSchema.safeParse(tooDeep).success).toBe(false);
  });

  it('hash lists (log proofs): random inputs and the length bound', () => {
    const lists = fc.array(fc.oneof(fc.constant(hex(32)), hostileField), { maxLength: 6 });
    fc.assert(fc.property(fc.oneof(lists, fc.anything()), (input) => agreesWithSchema((o) => fastHashList(o, limits.logProofNodesMax), logProofSchema, input)), { numRuns: 2_000 });
    const tooLong = Array.from({ length: limits.logProofNodesMax + 1 }, () => hex(32));
    expect(fastHashList(tooLong, limits.logProofNodesMax)).toBeUndefined();
  });
});
