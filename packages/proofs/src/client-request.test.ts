import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes';
import { requestSigningEpochs, signClientRequest, verifyOrderedClientRequest } from './client-request';
import { createMemorySigner, nobleBackend } from './noble-backend';

const client = createMemorySigner(nobleBackend.sha256(utf8('client-request.test client')));
const chainId = 'vcr-test';
const signedFor = (epoch: bigint) => signClientRequest(client, { chainId, epoch }, { requestId: 7n, payload: utf8('put') });

describe('the epochs a client request may be signed for (one rule for admission and verification)', () => {
  it('a block of epoch e admits signatures for e and e-1, newest first; epoch 0 admits only 0', () => {
    expect(requestSigningEpochs(0n)).toEqual([0n]);
    expect(requestSigningEpochs(1n)).toEqual([1n, 0n]);
    expect(requestSigningEpochs(5n)).toEqual([5n, 4n]);
  });

  it('a request signed for the previous epoch verifies when a block of the next epoch orders it, and names that epoch', () => {
    expect(verifyOrderedClientRequest(nobleBackend, { chainId, blockEpoch: 1n }, signedFor(0n))).toEqual({ ok: true, signedEpoch: 0n });
    expect(verifyOrderedClientRequest(nobleBackend, { chainId, blockEpoch: 1n }, signedFor(1n))).toEqual({ ok: true, signedEpoch: 1n });
  });

  it('a signature two epochs old, for a later epoch, or for another chain is refused', () => {
    expect(verifyOrderedClientRequest(nobleBackend, { chainId, blockEpoch: 2n }, signedFor(0n))).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyOrderedClientRequest(nobleBackend, { chainId, blockEpoch: 1n }, signedFor(2n))).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyOrderedClientRequest(nobleBackend, { chainId: 'other', blockEpoch: 0n }, signedFor(0n))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('a client id that is not a public key is refused before any signature work', () => {
    expect(verifyOrderedClientRequest(nobleBackend, { chainId, blockEpoch: 0n }, { ...signedFor(0n), clientId: 'alice' })).toEqual({ ok: false, reason: 'bad-client-id' });
  });
});
