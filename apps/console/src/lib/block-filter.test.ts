import { describe, expect, it } from 'vitest';
import { utf8 } from '@vcr/proofs';
import { encodeOp } from '@vcr/registry';
import { blockMatches, keysOf, noFilters } from './block-filter';

const request = (clientId: string, key: string) => ({ clientId, requestId: 1n, payload: encodeOp({ op: 'put', key, value: utf8('v') }), signature: new Uint8Array(64) });
const alice = 'aa'.repeat(32);
const orgsOf = (id: string) => (id === alice ? ['org1'] : []);

describe('block filters', () => {
  it('lists only blocks with requests by default, and never hides a block that did not verify', () => {
    expect(blockMatches({ epoch: 0n, batch: [] }, noFilters, orgsOf)).toBe(false);
    expect(blockMatches({ epoch: 0n, batch: [] }, { ...noFilters, withRequestsOnly: false }, orgsOf)).toBe(true);
    expect(blockMatches({ epoch: undefined, batch: undefined }, { ...noFilters, org: 'org9' }, orgsOf)).toBe(true);
  });

  it('filters by epoch, by the organization of a signer and by key prefix', () => {
    const block = { epoch: 1n, batch: [request(alice, 'demo/flags/a'), request('bb'.repeat(32), 'other/x')] };
    expect(keysOf(block.batch)).toEqual(['demo/flags/a', 'other/x']);
    expect(blockMatches(block, { ...noFilters, epoch: '1' }, orgsOf)).toBe(true);
    expect(blockMatches(block, { ...noFilters, epoch: '0' }, orgsOf)).toBe(false);
    expect(blockMatches(block, { ...noFilters, org: 'org1' }, orgsOf)).toBe(true);
    expect(blockMatches(block, { ...noFilters, org: 'org2' }, orgsOf)).toBe(false);
    expect(blockMatches(block, { ...noFilters, keyPrefix: 'demo/' }, orgsOf)).toBe(true);
    expect(blockMatches(block, { ...noFilters, keyPrefix: 'nope/' }, orgsOf)).toBe(false);
  });
});
