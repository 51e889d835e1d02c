import { describe, expect, it, vi } from 'vitest';
import { type BlockHeader, certificateToJson, headerHash, nobleBackend, type Signer, type Commit, type PeerMessage, peerMessageToJson, signMessage } from '@vcr/proofs';
import { testCertificate, type TestCluster, testHeader } from '@vcr/proofs/testing';
import { type EpochChain, extendChain, membershipOf, pinnedChain } from './epoch-chain';
import { checkCertificate, checkMessage } from './verify';
import { acceptsOf, threeEpochs } from './testing/epoch-fixture';

const f = threeEpochs();
const chainId = f.e0.membership.chainId;

function walked(...links: (typeof f.step1.link)[]): EpochChain {
  let chain = pinnedChain(f.e0.membership);
  for (const link of links) {
    const v = extendChain(chain, link, 'test');
    if (!v.ok) throw new Error(v.reason);
    chain = v.chain;
  }
  return chain;
}

function commitJson(signer: Signer, from: string, epoch: bigint, seq: bigint): unknown {
  const message = signMessage<Commit>({ backend: nobleBackend, chainId }, signer, { type: 'commit', epoch, from, view: 0n, seq, headerHash: new Uint8Array(32).fill(7) });
  return JSON.parse(JSON.stringify(peerMessageToJson(message as PeerMessage)));
}

function certificateJson(cluster: TestCluster, header: Partial<BlockHeader>, ids?: string[]): unknown {
  return JSON.parse(JSON.stringify(certificateToJson(testCertificate(cluster, testHeader({ chainId, ...header }), ids))));
}

describe('the console judges every item by the membership of its own epoch', () => {
  const chain = walked(f.step1.link, f.step2.link);

  it('walks two links from the pinned genesis: one membership per epoch', () => {
    expect(chain.memberships.map((m) => m.epoch)).toEqual([0n, 1n, 2n]);
    expect(chain.memberships[2]?.replicas.map((r) => r.id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
  });

  it('a certificate of epoch 2 verifies against epoch 2 (five members, r5 signing), not against the pinned epoch alone', () => {
    const cert = certificateJson(f.e2, { epoch: 2n, height: 25n });
    const check = checkCertificate(chain, cert);
    expect(check).toMatchObject({ ok: true });
    expect(check.ok && check.signers.map((s) => s.replicaId)).toContain('r5');
    const pinnedOnly = checkCertificate(pinnedChain(f.e0.membership), cert);
    expect(pinnedOnly).toMatchObject({ ok: false, unverifiable: true, reason: 'no verified link into epoch 1 yet (the chain reaches epoch 0; epoch 2 needs the links into 1 to 2)' });
  });

  it("an epoch-1 vote by r2 verifies with r2's rotated key", () => {
    expect(checkMessage(chain, commitJson(f.r2New, 'r2', 1n, 12n))).toMatchObject({ ok: true });
  });

  it('negative control: an epoch-1 vote signed with the key r2 had in epoch 0 is FAILED as a retired key', () => {
    const check = checkMessage(chain, commitJson(f.r2Old, 'r2', 1n, 12n));
    expect(check.ok).toBe(false);
    expect(!check.ok && check.unverifiable).toBeUndefined();
    expect(!check.ok && check.reason).toMatch(/^retired key: signed with r2's key of epoch 0 \(fingerprint [0-9a-f]{16}\); retired from epoch 1 on$/);
    // The same key still verifies the votes of its own epoch.
    expect(checkMessage(chain, commitJson(f.r2Old, 'r2', 0n, 5n))).toMatchObject({ ok: true });
  });

  it('a certificate of epoch 1 with a signature by the retired key is refused, and the signer is named', () => {
    const signers = new Map(f.e1.signers);
    signers.set('r2', f.r2Old);
    const check = checkCertificate(chain, certificateJson({ membership: f.e1.membership, signers }, { epoch: 1n, height: 12n }, ['r1', 'r2', 'r3']));
    expect(check.ok).toBe(false);
    expect(!check.ok && check.signers?.find((s) => s.replicaId === 'r2')?.reason).toMatch(/^retired key/);
    expect(!check.ok && check.reason).toMatch(/below-quorum|bad-signature/);
  });

  it('negative control: a vote of an epoch with no link is NOT VERIFIED with the missing link named, even when its signature is good', () => {
    const check = checkMessage(chain, commitJson(f.r2New, 'r2', 3n, 30n));
    expect(check).toMatchObject({ ok: false, unverifiable: true, reason: 'no verified link into epoch 3 yet' });
    expect(membershipOf(chain, 4n)).toMatchObject({ ok: false, reason: 'no verified link into epoch 3 yet (the chain reaches epoch 2; epoch 4 needs the links into 3 to 4)' });
  });

  it("an epoch's keys cannot certify or vote past its last block, nor before its first", () => {
    expect(checkCertificate(chain, certificateJson(f.e0, { epoch: 0n, height: 11n }))).toMatchObject({ ok: false, reason: 'height 11 is not in epoch 0: it ended at height 10' });
    expect(checkMessage(chain, commitJson(f.r2Old, 'r2', 0n, 11n))).toMatchObject({ ok: false, reason: 'a vote outside its epoch: height 11 is not in epoch 0: it ended at height 10' });
    expect(checkCertificate(chain, certificateJson(f.e1, { epoch: 1n, height: 9n }))).toMatchObject({ ok: false, reason: 'height 9 is not in epoch 1: it began after height 10' });
    // At the last height, only the header the link names.
    expect(checkCertificate(chain, certificateJson(f.e0, { epoch: 0n, height: 10n }))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not the last block of epoch 0/) });
    const last = JSON.parse(JSON.stringify(certificateToJson({ header: f.step1.link.lastHeader, commitView: 0n, signatures: f.step1.link.oldSignatures })));
    expect(checkCertificate(chain, last)).toMatchObject({ ok: true, hash: Buffer.from(headerHash(nobleBackend, f.step1.link.lastHeader)).toString('hex') });
  });

  it('a removed or unknown sender is refused by name', () => {
    expect(checkMessage(chain, commitJson(f.r2New, 'r9', 1n, 12n))).toMatchObject({ ok: false, reason: 'sender r9 is not in the membership of epoch 1' });
  });
});

describe('links the console refuses', () => {
  it('negative control: a link with too few accepts of the new membership is not trusted, and the chain stays where it was', () => {
    const weak = { ...f.step1.link, newSignatures: acceptsOf(f.e1, f.step1.link.lastHeader, ['r1', 'r2']) };
    const verdict = extendChain(pinnedChain(f.e0.membership), weak, 'liar');
    expect(verdict).toEqual({ ok: false, reason: 'new-quorum-below-quorum (2 of 3)' });
  });

  it('a link with too few old-quorum signatures is not trusted', () => {
    const weak = { ...f.step1.link, oldSignatures: f.step1.link.oldSignatures.slice(0, 2) };
    expect(extendChain(pinnedChain(f.e0.membership), weak, 'liar')).toMatchObject({ ok: false, reason: expect.stringMatching(/^old-quorum-below-quorum/) });
  });

  it('a link that skips an epoch is not trusted', () => {
    expect(extendChain(pinnedChain(f.e0.membership), f.step2.link, 'liar')).toMatchObject({ ok: false, reason: expect.stringMatching(/^not-sequential/) });
  });
});

describe('the console checks each signature once', () => {
  it('a certificate of four signers costs four signature checks, the verdict and the per-signer rows coming from the same checks', () => {
    const chain = walked(f.step1.link, f.step2.link);
    const cert = certificateJson(f.e1, { epoch: 1n, height: 12n });
    const spy = vi.spyOn(nobleBackend, 'ed25519VerifyPrechecked');
    try {
      const check = checkCertificate(chain, cert);
      expect(check.ok && check.signers.map((s) => s.valid)).toEqual([true, true, true, true]);
      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      spy.mockRestore();
    }
  });
});
