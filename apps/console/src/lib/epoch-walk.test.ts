import { describe, expect, it } from 'vitest';
import { epochLinkToJson, type EpochLink } from '@vcr/proofs';
import { testCertificate } from '@vcr/proofs/testing';
import { pinnedChain } from './epoch-chain';
import { walkEpochs } from './epoch-walk';
import type { Fetched, GetJson } from './replica-api';
import { acceptsOf, threeEpochs } from './testing/epoch-fixture';

const f = threeEpochs();
const wire = (links: EpochLink[]) => links.map((l) => JSON.parse(JSON.stringify(epochLinkToJson(l))) as unknown);

/** A fake replica set: each URL answers GET /v1/epochs from its own list of links (as wire JSON), honouring after and limit. */
function replicas(served: Record<string, { current: string; links: unknown[] } | ((after: bigint, limit: number) => Fetched)>): { get: GetJson; asked: string[] } {
  const asked: string[] = [];
  const get: GetJson = async (url, path) => {
    asked.push(`${url}${path}`);
    const m = /^\/v1\/epochs\?after=(\d+)&limit=(\d+)$/.exec(path);
    const entry = served[url];
    if (!m || entry === undefined) return { ok: false, reason: 'HTTP 404' };
    const after = BigInt(m[1] as string);
    const limit = Number(m[2]);
    if (typeof entry === 'function') return entry(after, limit);
    return { ok: true, body: { current: entry.current, links: entry.links.slice(Number(after), Number(after) + limit) } };
  };
  return { get, asked };
}

describe('walking the epoch chain in the browser', () => {
  it('trusts every link that verifies and reports which replica added it', async () => {
    const { get } = replicas({ a: { current: '2', links: wire([f.step1.link, f.step2.link]) }, b: { current: '2', links: wire([f.step1.link, f.step2.link]) } });
    const result = await walkEpochs(pinnedChain(f.e0.membership), ['a', 'b'], get);
    expect(result.chain.memberships.map((m) => m.epoch)).toEqual([0n, 1n, 2n]);
    expect(result.reports).toEqual([
      { replica: 'a', current: 2n, added: 2, failure: undefined },
      { replica: 'b', current: 2n, added: 0, failure: undefined },
    ]);
  });

  it('a replica serving a link with too few accepts is refused; an honest replica still proves the epoch', async () => {
    const weak = { ...f.step1.link, newSignatures: acceptsOf(f.e1, f.step1.link.lastHeader, ['r1', 'r2']) };
    const { get } = replicas({ liar: { current: '2', links: wire([weak, f.step2.link]) }, honest: { current: '1', links: wire([f.step1.link]) } });
    const result = await walkEpochs(pinnedChain(f.e0.membership), ['liar', 'honest'], get);
    expect(result.chain.memberships.map((m) => m.epoch)).toEqual([0n, 1n]);
    expect(result.reports[0]?.failure).toBe('link into epoch 1: new-quorum-below-quorum (2 of 3)');
    expect(result.reports[1]).toMatchObject({ added: 1, failure: undefined });
  });

  it('a second, different link into a trusted epoch that verifies is reported as a fork', async () => {
    // Same membership, but the old epoch "ended" at another block that the old quorum also certified.
    const other = { ...f.step1.link, lastHeader: { ...f.step1.link.lastHeader, timestampMs: f.step1.link.lastHeader.timestampMs + 1n } };
    const forked: EpochLink = { ...other, oldSignatures: testCertificate(f.e0, other.lastHeader).signatures, newSignatures: acceptsOf(f.e1, other.lastHeader) };
    const { get } = replicas({ a: { current: '1', links: wire([f.step1.link]) }, b: { current: '1', links: wire([forked]) } });
    const result = await walkEpochs(pinnedChain(f.e0.membership), ['a', 'b'], get);
    expect(result.chain.links).toHaveLength(1);
    expect(result.reports[1]?.failure).toMatch(/^FORK: a second link into epoch 1/);
  });

  it('answers are bounded: more links than asked, a malformed link, or a bad current epoch are refused before any signature work', async () => {
    const tooMany = (_after: bigint, limit: number): Fetched => ({ ok: true, body: { current: '2', links: Array(limit + 1).fill({}) } });
    const { get } = replicas({
      many: tooMany,
      malformed: { current: '1', links: [{ lastHeader: 'nope' }] },
      weird: { current: '-1', links: [] },
    });
    const result = await walkEpochs(pinnedChain(f.e0.membership), ['many', 'malformed', 'weird'], get);
    expect(result.chain.links).toHaveLength(0);
    expect(result.reports.map((r) => r.failure)).toEqual([
      'epochs after 0: too-many-links: 65 links where at most 64 were asked',
      expect.stringMatching(/^epochs after 0: links\[0\] malformed: /),
      'epochs after 0: malformed answer (want { current, links })',
    ]);
  });

  it('continues from the newest verified epoch on the next walk, asking only for what is past it', async () => {
    const { get, asked } = replicas({ a: { current: '2', links: wire([f.step1.link, f.step2.link]) } });
    const first = await walkEpochs(pinnedChain(f.e0.membership), ['a'], get);
    const again = await walkEpochs(first.chain, ['a'], get);
    expect(again.chain).toBe(first.chain);
    expect(asked.at(-1)).toBe('a/v1/epochs?after=2&limit=64');
  });
});
