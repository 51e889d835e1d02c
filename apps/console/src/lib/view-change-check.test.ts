import { describe, expect, it } from 'vitest';
import { headerHash, nobleBackend, type Signer } from '@vcr/proofs';
import { testHeader } from '@vcr/proofs/testing';
import { batchHash, type NewView, type Prepare, type PrePrepare, signMessage, type ViewChange } from '@vcr/proofs';
import { pinnedChain } from './epoch-chain';
import { threeEpochs } from './testing/epoch-fixture';
import { checkNewViewContents, checkViewChangeContents } from './view-change-check';

const f = threeEpochs();
const chainId = f.e0.membership.chainId;
const ctx = { backend: nobleBackend, chainId };
const signer = (id: string) => f.e0.signers.get(id) as Signer;
const chain = pinnedChain(f.e0.membership);

/** A prepared certificate for seq 1 of view 0: r1's pre-prepare (the primary of view 0) and prepares of `preparers`. */
function prepared(preparers: string[], forgePrePrepare = false) {
  const header = testHeader({ chainId, epoch: 0n, height: 1n, batchHash: batchHash(nobleBackend, []) });
  const real = signMessage<PrePrepare>(ctx, signer('r1'), { type: 'pre-prepare', epoch: 0n, from: 'r1', view: 0n, seq: 1n, header, batch: [] });
  const prePrepare = forgePrePrepare ? { ...real, signature: new Uint8Array(64).fill(7) } : real;
  const prepares = preparers.map((id) => signMessage<Prepare>(ctx, signer(id), { type: 'prepare', epoch: 0n, from: id, view: 0n, seq: 1n, headerHash: headerHash(nobleBackend, header) }));
  return { prePrepare, prepares };
}

function viewChange(from: string, certificates: ReturnType<typeof prepared>[]): ViewChange {
  return signMessage<ViewChange>(ctx, signer(from), { type: 'view-change', epoch: 0n, from, newView: 1n, checkpoint: { seq: 0n, headerHash: new Uint8Array(32), proof: [] }, prepared: certificates });
}

describe("a view change's contents, checked with the replicas' rule", () => {
  it('verifies a view change with the genesis checkpoint and a prepared certificate of the primary and quorum - 1 prepares', () => {
    expect(checkViewChangeContents(chain, viewChange('r3', [prepared(['r2', 'r3'])]))).toEqual({ ok: true });
  });

  it('fails a correctly signed view change whose prepared certificate has a forged pre-prepare or too few prepares', () => {
    expect(checkViewChangeContents(chain, viewChange('r3', [prepared(['r2', 'r3'], true)]))).toMatchObject({ ok: false, reason: expect.stringContaining('a prepared certificate does not verify') });
    expect(checkViewChangeContents(chain, viewChange('r3', [prepared(['r2'])]))).toMatchObject({ ok: false, reason: expect.stringContaining('a prepared certificate does not verify') });
  });

  it('fails a checkpoint proof that is not the epoch start and carries no quorum', () => {
    const vc = signMessage<ViewChange>(ctx, signer('r2'), { type: 'view-change', epoch: 0n, from: 'r2', newView: 1n, checkpoint: { seq: 16n, headerHash: new Uint8Array(32).fill(1), proof: [] }, prepared: [] });
    expect(checkViewChangeContents(chain, vc)).toMatchObject({ ok: false, reason: expect.stringContaining('checkpoint proof does not verify') });
  });

  it('a new view needs a quorum of valid view changes from distinct members', () => {
    const nv = (vcs: ViewChange[]) => signMessage<NewView>(ctx, signer('r2'), { type: 'new-view', epoch: 0n, from: 'r2', view: 1n, viewChanges: vcs, prePrepares: [] });
    expect(checkNewViewContents(chain, nv(['r1', 'r2', 'r3'].map((id) => viewChange(id, []))))).toEqual({ ok: true });
    expect(checkNewViewContents(chain, nv(['r1', 'r2'].map((id) => viewChange(id, []))))).toMatchObject({ ok: false, reason: expect.stringContaining('below the quorum of 3') });
    expect(checkNewViewContents(chain, nv([viewChange('r1', []), viewChange('r1', []), viewChange('r2', [])]))).toMatchObject({ ok: false, reason: 'carries two view changes from r1' });
  });

  it('a view change of an epoch the chain has not reached is not verified, not failed', () => {
    const vc = { ...viewChange('r3', []), epoch: 2n };
    expect(checkViewChangeContents(chain, vc)).toMatchObject({ ok: false, unverifiable: true });
  });
});
