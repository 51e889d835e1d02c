import { describe, expect, it, vi } from 'vitest';
import { inspectCertificate, inspectQuorumSignatures, verifyCertificate } from './certificate';
import type { EpochLink } from './epoch-chain';
import { EpochWalk, type EpochWalkOptions } from './epoch-walk';
import { runEpochWalk } from './epoch-walk-driver';
import { headerHash } from './header';
import { limits } from './limits';
import { nobleBackend } from './noble-backend';
import { testCertificate, testCluster, testEpochLink, testHeader } from './testing/fixtures';
import { TrustedEpochs } from './trusted-epochs';
import { epochLinkToJson } from './wire';

const backend = nobleBackend;
const e0 = testCluster({ epoch: 0n });
const e1 = testCluster({ epoch: 1n, keyPrefix: 'walk-1' });
const e2 = testCluster({ epoch: 2n, n: 7, keyPrefix: 'walk-2' });
const l1 = testEpochLink(e0, e1, 10n);
const l2 = testEpochLink(e1, e2, 20n);
const wire = (links: EpochLink[]) => links.map((l) => JSON.parse(JSON.stringify(epochLinkToJson(l))) as unknown);

/** A replica serving `links` (as JSON) after any epoch, honouring limit; records what it was asked. */
function replica(links: EpochLink[], current = BigInt(links.length)) {
  const asked: string[] = [];
  const fetch = async (after: bigint, limit: number) => {
    asked.push(`${after}/${limit}`);
    return { ok: true as const, body: { current: current.toString(), links: wire(links).slice(Number(after), Number(after) + limit) } };
  };
  return { asked, fetch };
}

const latest: EpochWalkOptions = { target: 'latest', linksMax: 1024 };

describe('the epoch walk (one implementation for every verifier)', () => {
  it('walks page by page to the newest epoch, each link verified from the membership before it', async () => {
    const r = replica([l1, l2]);
    const walk = new EpochWalk(backend, TrustedEpochs.pin(e0.membership), { ...latest, pageLinks: 1 });
    expect(await runEpochWalk(walk, r.fetch)).toEqual({ ok: true, capped: false });
    expect(walk.chain.memberships.map((m) => m.epoch)).toEqual([0n, 1n, 2n]);
    expect(walk.added).toBe(2);
    expect(r.asked).toEqual(['0/1', '1/1']);
  });

  it('asks for a target epoch no further than it, and fails naming the missing link when the replica has none', async () => {
    const r = replica([l1]);
    const walk = new EpochWalk(backend, TrustedEpochs.pin(e0.membership), { target: 2n, linksMax: 1024 });
    const outcome = await runEpochWalk(walk, r.fetch);
    expect(outcome).toMatchObject({ ok: false, reason: 'no-link', after: 1n });
    expect(walk.chain.newest.epoch).toBe(1n);
    expect(r.asked).toEqual(['0/2', '1/1']);
  });

  it('refuses a page with more links than asked before any signature work', () => {
    const walk = new EpochWalk(backend, TrustedEpochs.pin(e0.membership), latest);
    const step = walk.next();
    if (step.type !== 'fetch-epochs-page') throw new Error('expected a fetch');
    expect(step.limit).toBe(limits.epochsPageLinksMax);
    const spy = vi.spyOn(backend, 'ed25519VerifyPrechecked');
    try {
      walk.onPage(step, { current: '9', links: Array(step.limit + 1).fill(wire([l1])[0]) });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(walk.next()).toMatchObject({ type: 'done', outcome: { ok: false, reason: 'too-many-links' } });
  });

  it('negative control: a link that does not verify is refused and the chain keeps what was proven before it', async () => {
    const weak = { ...l2, newSignatures: l2.newSignatures.slice(0, 2) };
    const walk = new EpochWalk(backend, TrustedEpochs.pin(e0.membership), latest);
    const outcome = await runEpochWalk(walk, replica([l1, weak]).fetch);
    expect(outcome).toMatchObject({ ok: false, reason: 'link-refused', into: 2n, rule: 'new-quorum-below-quorum' });
    expect(walk.chain.newest.epoch).toBe(1n);
  });

  it('a second, different link into a trusted epoch that verifies is a fork', () => {
    const other = testEpochLink(e0, e1, 11n);
    const trusted = TrustedEpochs.pin(e0.membership).extend(backend, l1);
    if (!trusted.ok) throw new Error(trusted.reason);
    const walk = new EpochWalk(backend, trusted.chain, latest);
    walk.onPage({ after: 0n, limit: 64 }, { current: '1', links: wire([other]) });
    expect(walk.next()).toMatchObject({ type: 'done', outcome: { ok: false, reason: 'conflicting-link', into: 1n, verifies: true } });
  });

  it('stops at its budget, successful but capped', async () => {
    const walk = new EpochWalk(backend, TrustedEpochs.pin(e0.membership), { target: 'latest', linksMax: 1 });
    expect(await runEpochWalk(walk, replica([l1, l2]).fetch)).toEqual({ ok: true, capped: true });
    expect(walk.chain.newest.epoch).toBe(1n);
  });
});

describe('the epoch-height rule (one rule for every verifier)', () => {
  const extended = TrustedEpochs.pin(e0.membership).extend(backend, l1);
  if (!extended.ok) throw new Error(extended.reason);
  const chain = extended.chain;

  it("an epoch's headers lie above the last block of the epoch before and at most at its own last block", () => {
    expect(chain.checkHeight(backend, 0n, 10n)).toEqual({ ok: true });
    expect(chain.checkHeight(backend, 0n, 11n)).toMatchObject({ ok: false, reason: 'after-epoch-end', boundaryHeight: 10n });
    expect(chain.checkHeight(backend, 1n, 10n)).toMatchObject({ ok: false, reason: 'before-epoch-start', boundaryHeight: 10n });
    expect(chain.checkHeight(backend, 1n, 11n)).toEqual({ ok: true });
  });

  it('at the last height, only the header the link names', () => {
    expect(chain.checkHeight(backend, 0n, 10n, headerHash(backend, l1.lastHeader))).toEqual({ ok: true });
    expect(chain.checkHeight(backend, 0n, 10n, new Uint8Array(32))).toMatchObject({ ok: false, reason: 'not-the-linked-last-block' });
  });
});

describe('per-signer inspection gives the verdict verifyCertificate gives', () => {
  const header = testHeader({ chainId: e0.membership.chainId, epoch: 0n, height: 5n });
  const good = testCertificate(e0, header);
  const other = testCertificate(e1, testHeader({ chainId: e0.membership.chainId, epoch: 0n, height: 5n }));
  const cases = {
    good,
    'below quorum': { ...good, signatures: good.signatures.slice(0, 2) },
    'a bad signature': { ...good, signatures: [good.signatures[0], { ...good.signatures[1], signature: other.signatures[1]?.signature }, ...good.signatures.slice(2)] },
    'an unknown signer': { ...good, signatures: [...good.signatures.slice(0, 3), { replicaId: 'r9', signature: good.signatures[3]?.signature }] },
    'a duplicate signer': { ...good, signatures: [...good.signatures.slice(0, 3), good.signatures[0]] },
    'wrong epoch': { ...good, header: { ...header, epoch: 1n } },
  } as const;

  for (const [name, cert] of Object.entries(cases)) {
    it(`${name}: same verdict, each signature checked at most once`, () => {
      const spy = vi.spyOn(backend, 'ed25519VerifyPrechecked');
      try {
        const inspected = inspectCertificate(backend, e0.membership, cert as never);
        expect(spy.mock.calls.length).toBeLessThanOrEqual((cert as { signatures: unknown[] }).signatures.length);
        expect(inspected.verdict).toEqual(verifyCertificate(backend, e0.membership, cert as never));
      } finally {
        spy.mockRestore();
      }
    });
  }

  it('names each signer: a bad signature among good ones is the only invalid row', () => {
    const rows = inspectCertificate(backend, e0.membership, cases['a bad signature'] as never).signers;
    expect(rows.map((r) => [r.replicaId, r.valid])).toEqual([
      ['r1', true],
      ['r2', false],
      ['r3', true],
      ['r4', true],
    ]);
    expect(inspectQuorumSignatures(backend, e0.membership, { kind: 'commit', chainId: e0.membership.chainId, epoch: 0n }, {}, 'nope').verdict).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
