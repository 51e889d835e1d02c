import { describe, expect, it } from 'vitest';
import { verifyEpochChain } from './epoch-chain';
import { nobleBackend } from './noble-backend';
import { testCluster, testEpochLink, testCertificate } from './testing/fixtures';
import { verifyCertificate } from './certificate';
import { membershipHash } from './membership';
import { signInDomain } from './domain';
import { epochLinkToJson, parseEpochLinkJson } from './wire';

const backend = nobleBackend;
const e0 = testCluster({ epoch: 0n });
const e1 = testCluster({ epoch: 1n, keyPrefix: 'rotated-1' });
const e2 = testCluster({ epoch: 2n, n: 7, keyPrefix: 'grown-2' });

describe('epoch chain', () => {
  it('walks from the pinned genesis through rotations and growth', () => {
    const result = verifyEpochChain(backend, e0.membership, [testEpochLink(e0, e1), testEpochLink(e1, e2, 20n)]);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.latest.epoch).toBe(2n);
      expect(result.memberships.map((m) => m.epoch)).toEqual([0n, 1n, 2n]);
    }
  });

  it('an empty chain trusts only the pinned membership', () => {
    expect(verifyEpochChain(backend, e0.membership, [])).toMatchObject({ ok: true, latest: e0.membership });
  });

  it('links must be strictly sequential: skipping an epoch is refused', () => {
    const skip = testEpochLink(e0, e2);
    expect(verifyEpochChain(backend, e0.membership, [skip])).toMatchObject({ ok: false, reason: 'not-sequential', linkIndex: 0 });
  });

  it('the new membership alone cannot take over: old quorum is required', () => {
    const link = testEpochLink(e0, e1);
    link.oldSignatures = link.oldSignatures.slice(0, 2);
    expect(verifyEpochChain(backend, e0.membership, [link])).toMatchObject({ ok: false, reason: 'old-quorum-below-quorum' });
  });

  it('the old membership alone cannot install a new one: new quorum is required', () => {
    const link = testEpochLink(e0, e1);
    link.newSignatures = link.newSignatures.slice(0, 2);
    expect(verifyEpochChain(backend, e0.membership, [link])).toMatchObject({ ok: false, reason: 'new-quorum-below-quorum' });
  });

  it('new-membership acceptances signed by old keys do not count', () => {
    const link = testEpochLink(e0, e1);
    const forged = testEpochLink(e0, testCluster({ epoch: 1n }));
    link.newSignatures = forged.newSignatures;
    expect(verifyEpochChain(backend, e0.membership, [link])).toMatchObject({ ok: false, reason: 'new-quorum-bad-signature' });
  });

  it('a membership not committed by the last header is refused', () => {
    const link = testEpochLink(e0, e1);
    link.nextMembership = { ...link.nextMembership, f: 0 };
    expect(verifyEpochChain(backend, e0.membership, [link])).toMatchObject({ ok: false, reason: 'membership-hash-mismatch' });
  });

  it('a header that is not an epoch boundary cannot carry a link', () => {
    const link = testEpochLink(e0, e1);
    link.lastHeader = { ...link.lastHeader, nextMembershipHash: null };
    expect(verifyEpochChain(backend, e0.membership, [link])).toMatchObject({ ok: false, reason: 'not-an-epoch-boundary' });
  });

  it('an invalid next membership (f too large) is refused even if signed', () => {
    const bad = testCluster({ epoch: 1n, keyPrefix: 'bad' });
    bad.membership.f = 2;
    expect(verifyEpochChain(backend, e0.membership, [testEpochLink(e0, bad)])).toMatchObject({ ok: false, reason: 'bad-next-membership' });
  });

  it('acceptance signatures from another chain do not verify', () => {
    const link = testEpochLink(e0, e1);
    const msgHash = membershipHash(backend, e1.membership);
    link.newSignatures = link.newSignatures.map((s) => ({
      replicaId: s.replicaId,
      signature: signInDomain(e1.signers.get(s.replicaId)!, { kind: 'epoch-accept', chainId: 'other', epoch: 1n }, { lastHeaderHash: msgHash, nextMembershipHash: msgHash }),
    }));
    expect(verifyEpochChain(backend, e0.membership, [link])).toMatchObject({ ok: false, reason: 'new-quorum-bad-signature' });
  });

  it('the walk is capped', () => {
    const link = testEpochLink(e0, e1);
    expect(verifyEpochChain(backend, e0.membership, Array(1025).fill(link))).toMatchObject({ ok: false, reason: 'too-many-links' });
  });

  it('a certificate from a later epoch does not verify against the genesis membership', () => {
    const cert = testCertificate(e1, { ...testEpochLink(e0, e1).lastHeader, epoch: 1n, nextMembershipHash: null });
    expect(verifyCertificate(backend, e0.membership, cert)).toMatchObject({ ok: false, reason: 'wrong-epoch' });
    expect(verifyCertificate(backend, e1.membership, cert).ok).toBe(true);
  });

  it('links survive the JSON wire round trip', () => {
    const link = testEpochLink(e0, e1);
    const parsed = parseEpochLinkJson(JSON.parse(JSON.stringify(epochLinkToJson(link))));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(verifyEpochChain(backend, e0.membership, [parsed.value]).ok).toBe(true);
  });
});
