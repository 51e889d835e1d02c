import { committedBlockToJson, parseCommittedBlockJson } from '@vcr/proofs';
import { describe, expect, it } from 'vitest';
import { checkApprovals, checkNewQuorum, checkOldQuorum, diffMemberships } from './epoch-details';
import { acceptsOf, approvedOp, epochStep, threeEpochs } from './testing/epoch-fixture';
import { encodeOp } from '@vcr/registry';

const f = threeEpochs();

describe('what the Membership page verifies of each link', () => {
  it('names what changed, from the two memberships', () => {
    expect(diffMemberships(f.e0.membership, f.e1.membership).map((d) => d.kind)).toEqual(['rotated']);
    const grown = diffMemberships(f.e1.membership, f.e2.membership);
    expect(grown.map((d) => d.kind)).toEqual(['added']);
    expect(grown[0]?.text).toMatch(/^added r5 \(org5\), key fingerprint [0-9a-f]{16}, address http:\/\/127\.0\.0\.1:7005$/);
    expect(diffMemberships(f.e2.membership, { ...f.e2.membership, replicas: f.e2.membership.replicas.filter((r) => r.id !== 'r3') }).map((d) => d.text)).toEqual(['removed r3 (org3)']);
  });

  it('checks the old quorum and the new quorum signature by signature', () => {
    const old = checkOldQuorum(f.e0.membership, f.step1.link);
    expect(old.ok).toBe(true);
    expect(old.signers.every((s) => s.valid)).toBe(true);
    const accepts = checkNewQuorum(f.step1.link);
    expect(accepts.ok).toBe(true);
    expect(accepts.signers.map((s) => s.replicaId)).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('negative control: too few accepts fail the new quorum, and old-key accepts fail one by one', () => {
    const weak = checkNewQuorum({ ...f.step1.link, newSignatures: acceptsOf(f.e1, f.step1.link.lastHeader, ['r1', 'r3']) });
    expect(weak).toMatchObject({ ok: false, reason: 'new quorum: below-quorum' });
    const oldKeys = checkNewQuorum({ ...f.step1.link, newSignatures: acceptsOf({ ...f.e0, membership: f.e1.membership }, f.step1.link.lastHeader) });
    expect(oldKeys.ok).toBe(false);
    expect(oldKeys.signers.find((s) => s.replicaId === 'r2')).toMatchObject({ valid: false, reason: "does not verify with r2's key of epoch 1" });
    expect(oldKeys.signers.filter((s) => s.valid).map((s) => s.replicaId)).toEqual(['r1', 'r3', 'r4']);
  });

  it('finds the approvals in the last block and verifies each against the old governance', () => {
    const check = checkApprovals(f.e0.membership, f.step1.link, f.step1.blockJson);
    expect(check).toMatchObject({ ok: true, threshold: 2 });
    expect(check.ok && check.approvals.map((a) => [a.organization, a.valid])).toEqual([
      ['org1', true],
      ['org2', true],
    ]);
  });

  it('negative control: an op below the governance threshold, a tampered batch, or another block than the link names, is refused', () => {
    const underApproved = epochStep(f.e0, f.step1.op.change.actions, { r2: f.r2New }, 10n, 1);
    expect(checkApprovals(f.e0.membership, underApproved.link, underApproved.blockJson)).toMatchObject({
      ok: false,
      reason: "no membership op in block 10 has approvals that meet epoch 0's governance and yield epoch 1's membership",
    });
    const parsed = parseCommittedBlockJson(f.step1.blockJson);
    if (!parsed.ok) throw new Error('fixture');
    const block = parsed.value;
    const request = block.batch[0];
    if (request === undefined) throw new Error('fixture');
    const swapped = { ...block, batch: [{ ...request, payload: encodeOp(approvedOp(f.e0.membership, f.step1.op.change.actions, 1)) }] };
    expect(checkApprovals(f.e0.membership, f.step1.link, JSON.parse(JSON.stringify(committedBlockToJson(swapped))))).toMatchObject({ ok: false, reason: 'block 10: batch does not match the certified batchHash' });
    expect(checkApprovals(f.e1.membership, f.step2.link, f.step1.blockJson)).toMatchObject({ ok: false, reason: 'block 20 served is not the last block the link certifies' });
  });
});
