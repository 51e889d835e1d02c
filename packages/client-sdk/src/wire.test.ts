// The zod-free parse of a read answer (fastReadAnswer) accepts only what the
// schema accepts, with an equal value; what it does not accept goes to the
// schema, which decides and words the refusal.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agreesWithSchema, hex, hostileField, mutated } from '@vcr/proofs/testing/wire-mutations';
import { fastReadAnswer, parseReadAnswer, readAnswerOutsideCertificateSchema } from './wire';

const certificate = { header: { height: '1' }, commitView: '0', signatures: [] };
const validEntry = () => ({ value: hex(100, 0x61), revision: '3' });
const validProof = () => ({ siblings: [hex(32, 1), hex(32, 2)], terminal: { kind: 'leaf', path: hex(32, 3), entryHash: hex(32, 4) } });
const validConsistency = () => ({ from: '5', to: '9', proof: [hex(32, 5), hex(32, 6)] });
const validRead = () => ({ key: 'flags/a', entry: validEntry(), proof: validProof(), certificate });
const validReadWithConsistency = () => ({ ...validRead(), consistency: validConsistency() });
const validAbsent = () => ({ key: 'flags/none', entry: null, proof: { siblings: [hex(32, 1)], terminal: { kind: 'empty' } }, certificate });

describe('fastReadAnswer accepts only what readAnswerOutsideCertificateSchema accepts, with the same value', () => {
  it('accepts the common forms outright, the certificate passed through untouched', () => {
    for (const valid of [validRead, validReadWithConsistency, validAbsent]) {
      const input = valid();
      const got = fastReadAnswer(input);
      expect(got).toStrictEqual(readAnswerOutsideCertificateSchema.parse(input));
      expect(got?.certificate).toBe(input.certificate);
    }
  });

  it('mutated and random answers, entries, proofs and consistency proofs', () => {
    const inEntry = mutated(validEntry).map((entry) => ({ ...validRead(), entry }));
    const inProof = mutated(validProof).map((proof) => ({ ...validRead(), proof }));
    const inConsistency = mutated(validConsistency).map((consistency) => ({ ...validRead(), consistency }));
    const inConsistencyNodes = fc.array(fc.oneof(fc.constant(hex(32)), hostileField), { maxLength: 4 }).map((proof) => ({ ...validRead(), consistency: { ...validConsistency(), proof } }));
    const answers = fc.oneof(mutated(validRead), mutated(validReadWithConsistency), mutated(validAbsent), inEntry, inProof, inConsistency, inConsistencyNodes, fc.anything());
    fc.assert(fc.property(answers, (input) => agreesWithSchema(fastReadAnswer, readAnswerOutsideCertificateSchema, input)), { numRuns: 4_000 });
  });

  it('a refused answer still gets the schema\'s words', () => {
    const parsed = parseReadAnswer({ ...validRead(), entry: { ...validEntry(), value: 'XY' } });
    expect(parsed).toMatchObject({ ok: false });
    expect(parsed.ok ? '' : parsed.detail).toMatch(/entry\.value/);
  });
});
