// A multi-epoch fixture for the console's unit tests (never used by pages):
// epoch 0 (r1..r4), epoch 1 (r2's key rotated), epoch 2 (r5 added), each
// change a real membership op approved by the governance admins and applied
// with the registry's own rule, each link signed by both quorums over a last
// block whose batch carries the op.

import { type BlockHeader, type EpochLink, epochAcceptMessage, headerHash, type Membership, membershipHash, nobleBackend, signClientRequest, signInDomain, type Signer, batchHash, type CommittedBlock, committedBlockToJson } from '@vcr/proofs';
import { testCertificate, type TestCluster, testCluster, testHeader, testSigner } from '@vcr/proofs/testing';
import { encodeOp, type MembershipAction, type MembershipOp, nextMembershipFor, signMembershipApproval } from '@vcr/registry';

export interface EpochStep {
  from: TestCluster;
  to: TestCluster;
  op: MembershipOp;
  link: EpochLink;
  /** The old epoch's last block as a replica serves it at GET /v1/blocks/:height. */
  blockJson: unknown;
}

/** Approvals by org1..org`count` (testCluster's governance: threshold 2 of org1..org3). */
export function approvedOp(from: Membership, actions: MembershipAction[], count = 2): MembershipOp {
  const change = { epoch: from.epoch, actions };
  const approvals = Array.from({ length: count }, (_, i) => ({ organization: `org${i + 1}`, signature: signMembershipApproval(testSigner(`admin-org${i + 1}`), from.chainId, change) }));
  return { op: 'membership', change, approvals };
}

/**
 * The membership op applied to `from`, the new cluster's signers (`newSigners` for added or rotated replicas), and the link.
 * `approvalsInBlock` below the threshold puts an under-approved copy of the op in the (still certified) block: a negative control.
 */
export function epochStep(from: TestCluster, actions: MembershipAction[], newSigners: Record<string, Signer>, height: bigint, approvalsInBlock = 2): EpochStep {
  const op = approvedOp(from.membership, actions);
  const opInBlock = approvedOp(from.membership, actions, approvalsInBlock);
  const applied = nextMembershipFor(nobleBackend, from.membership, op.change, op.approvals);
  if (!applied.ok) throw new Error(`fixture change refused: ${applied.error}`);
  const signers = new Map(from.signers);
  for (const [id, s] of Object.entries(newSigners)) signers.set(id, s);
  for (const id of [...signers.keys()]) if (!applied.next.replicas.some((r) => r.id === id)) signers.delete(id);
  const to: TestCluster = { membership: applied.next, signers };
  const request = signClientRequest(testSigner('fixture-client'), { chainId: from.membership.chainId, epoch: from.membership.epoch }, { requestId: height, payload: encodeOp(opInBlock) });
  const nextHash = membershipHash(nobleBackend, to.membership);
  const header: BlockHeader = testHeader({ chainId: from.membership.chainId, epoch: from.membership.epoch, height, batchHash: batchHash(nobleBackend, [request]), nextMembershipHash: nextHash });
  const certificate = testCertificate(from, header);
  const link: EpochLink = { lastHeader: header, oldCommitView: header.view, oldSignatures: certificate.signatures, nextMembership: to.membership, newSignatures: acceptsOf(to, header) };
  const block: CommittedBlock = { header, batch: [request], certificate };
  return { from, to, op: opInBlock, link, blockJson: JSON.parse(JSON.stringify(committedBlockToJson(block))) };
}

/** Epoch-accept signatures of every member of `to` (or of `ids`) over the link of `lastHeader`. */
export function acceptsOf(to: TestCluster, lastHeader: BlockHeader, ids?: string[]): EpochLink['newSignatures'] {
  const message = epochAcceptMessage(headerHash(nobleBackend, lastHeader), membershipHash(nobleBackend, to.membership));
  return (ids ?? [...to.signers.keys()]).map((replicaId) => {
    const signer = to.signers.get(replicaId);
    if (!signer) throw new Error(`no signer ${replicaId}`);
    return { replicaId, signature: signInDomain(signer, { kind: 'epoch-accept', chainId: to.membership.chainId, epoch: to.membership.epoch }, message) };
  });
}

/** Three epochs: 0 (pinned), 1 (r2 rotated at height 10), 2 (r5 added at height 20). */
export function threeEpochs() {
  const e0 = testCluster({ epoch: 0n, chainId: 'vcr-console-test' });
  const r2New = testSigner('rotated-r2');
  const r5 = testSigner('joining-r5');
  const step1 = epochStep(e0, [{ action: 'rotate-key', id: 'r2', publicKey: r2New.publicKey }], { r2: r2New }, 10n);
  const step2 = epochStep(
    step1.to,
    [{ action: 'add-replica', replica: { id: 'r5', organization: 'org5', publicKey: r5.publicKey, address: 'http://127.0.0.1:7005' } }],
    { r5 },
    20n,
  );
  return { e0, e1: step1.to, e2: step2.to, step1, step2, r2Old: e0.signers.get('r2') as Signer, r2New };
}
