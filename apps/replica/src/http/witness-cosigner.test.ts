// The witness cosigner on a fake chain: the highest block at a size, sizes no
// block ends at, the cache, the fresh-signature budget, epoch changes.
import { describe, expect, it } from 'vitest';
import { type BlockHeader, createMemorySigner, headerToJson, nobleBackend, registryCheckpointPolicy, type Membership, verifyCheckpointNote } from '@vcr/proofs';
import type { CommittedBlock } from '@vcr/consensus';
import { cosignedCheckpointToJson, type WitnessNode, WitnessCosigner, witnessLimits } from './witness-cosigner';

// Log sizes per height: 1:0 2:2 3:2 4:5 5:5 6:5 7:9
const SIZES = [0n, 2n, 2n, 5n, 5n, 5n, 9n];
const signer = createMemorySigner(new Uint8Array(32).fill(3));
const membership: Membership = {
  chainId: 'vcr-unit',
  epoch: 0n,
  f: 0,
  replicas: [{ id: 'r1', organization: 'o', publicKey: signer.publicKey, address: 'http://x' }],
  governance: { threshold: 1, admins: [{ organization: 'o', publicKey: signer.publicKey }] },
};

function block(height: bigint): CommittedBlock {
  const header: BlockHeader = {
    chainId: 'vcr-unit',
    epoch: 0n,
    view: 0n,
    height,
    prevHash: new Uint8Array(32),
    batchHash: new Uint8Array(32),
    stateRoot: new Uint8Array(32),
    logRoot: new Uint8Array(32).fill(Number(height)),
    logSize: SIZES[Number(height) - 1] as bigint,
    timestampMs: 1_700_000_000_000n + height * 1000n,
    nextMembershipHash: null,
  };
  return { header, batch: [], certificate: { header, commitView: 0n, signatures: [] } } as CommittedBlock;
}

function fakeNode(latestHeight: () => bigint, reads: { count: number }, epoch = { epoch: 0n }): WitnessNode {
  return {
    currentMembership: epoch,
    latestBlock: () => block(latestHeight()),
    block: (h) => {
      reads.count++;
      return h >= 1n && h <= latestHeight() ? JSON.stringify({ header: headerToJson(block(h).header) }) : undefined;
    },
    loadCommittedBlock: block,
    cosigner: () => ({ epoch: epoch.epoch, replicaId: 'r1', publicKey: signer.publicKey, sign: signer.sign }),
  };
}

describe('WitnessCosigner', () => {
  const now = () => 1_800_000_000_000;

  it('cosigns the highest block at a size; the note verifies against the membership', () => {
    const reads = { count: 0 };
    const c = new WitnessCosigner(fakeNode(() => 7n, reads), now);
    const at5 = c.checkpoint(5n);
    expect(at5.ok && [at5.value.height, at5.value.timestamp]).toEqual([6n, 1_700_000_006n]);
    expect(reads.count).toBeLessThanOrEqual(5);
    const latest = c.checkpoint();
    expect(latest.ok && latest.value.height).toBe(7n);
    if (!at5.ok) throw new Error('no answer');
    const json = cosignedCheckpointToJson(at5.value, null);
    const verdict = verifyCheckpointNote(nobleBackend, json.note, { ...registryCheckpointPolicy(nobleBackend, membership), quorum: 1 });
    expect(verdict.ok && verdict.checkpoint.size).toBe(5n);
  });

  it('refuses sizes no block ends at, and sizes not reached', () => {
    const c = new WitnessCosigner(fakeNode(() => 7n, { count: 0 }), now);
    expect(c.checkpoint(3n)).toMatchObject({ ok: false, status: 404, message: expect.stringContaining('block 3 ends at size 2, block 4 at 5') });
    expect(c.checkpoint(1n)).toMatchObject({ ok: false, status: 404 });
    expect(c.checkpoint(10n)).toMatchObject({ ok: false, status: 404, message: "log size 10 not reached; this replica's log has 9 entries" });
    expect(c.checkpoint(0n)).toMatchObject({ ok: true, value: { height: 1n } });
  });

  it('answers cached sizes for free; past the fresh budget (searches count too) a new size gets 429', () => {
    const reads = { count: 0 };
    let t = 1_800_000_000_000;
    const c = new WitnessCosigner(fakeNode(() => 7n, reads), () => t);
    expect(c.checkpoint(5n).ok).toBe(true);
    for (let i = 1; i < witnessLimits.freshBurst; i++) expect(c.checkpoint(3n)).toMatchObject({ ok: false, status: 404 });
    expect(c.checkpoint(2n)).toMatchObject({ ok: false, status: 429, code: 'overloaded' });
    expect(c.checkpoint()).toMatchObject({ ok: false, status: 429 });
    const readsBefore = reads.count;
    expect(c.checkpoint(5n)).toMatchObject({ ok: true, value: { height: 6n } });
    expect(reads.count).toBe(readsBefore);
    t += 1000;
    expect(c.checkpoint(2n)).toMatchObject({ ok: true, value: { height: 3n } });
  });

  it('re-signs the latest size when a newer block commits at it, and after an epoch change', () => {
    let height = 5n;
    const epoch = { epoch: 0n };
    const c = new WitnessCosigner(fakeNode(() => height, { count: 0 }, epoch), now);
    expect(c.checkpoint()).toMatchObject({ ok: true, value: { height: 5n } });
    height = 6n;
    expect(c.checkpoint()).toMatchObject({ ok: true, value: { height: 6n } });
    expect(c.checkpoint(2n)).toMatchObject({ ok: true, value: { height: 3n, epoch: 0n } });
    epoch.epoch = 1n;
    expect(c.checkpoint(2n)).toMatchObject({ ok: true, value: { height: 3n, epoch: 1n } });
  });
});
