// Membership plans for the simulator (DESIGN section 6): a sequence of
// memberships, epoch 0 first, each made from the one before by one step —
// add a replica, rotate a key, remove a replica — with f and the quorum
// following the size as a real membership change computes them.

import { bytesToHex, maxFaultTolerance, type Membership, type Signer } from '@vcr/proofs';
import { testSeed } from '@vcr/proofs/testing';
import { createNodeSigner } from '@vcr/crypto-node';

export type MembershipStep = { step: 'add' } | { step: 'rotate'; id: string } | { step: 'remove'; id: string };

export interface EpochPlan {
  /** memberships[e] is epoch e's. */
  memberships: Membership[];
  /** Every key each replica id ever holds, by public key hex: a replica's keystore. */
  keys: Map<string, Map<string, Signer>>;
  /** Rotations: the key an id held before epoch `epoch`, for the retired-key attacker. */
  retired: { id: string; epoch: bigint; signer: Signer }[];
}

export function buildEpochPlan(genesis: Membership, genesisSigners: ReadonlyMap<string, Signer>, steps: readonly MembershipStep[]): EpochPlan {
  const keys = new Map<string, Map<string, Signer>>();
  const addKey = (id: string, signer: Signer) => {
    let byKey = keys.get(id);
    if (!byKey) keys.set(id, (byKey = new Map()));
    byKey.set(bytesToHex(signer.publicKey), signer);
  };
  for (const [id, signer] of genesisSigners) addKey(id, signer);
  const memberships = [genesis];
  const retired: EpochPlan['retired'] = [];
  let nextIndex = genesis.replicas.length + 1;
  for (const s of steps) {
    const current = memberships.at(-1) as Membership;
    const epoch = current.epoch + 1n;
    let replicas = current.replicas;
    if (s.step === 'add') {
      const id = `r${nextIndex++}`;
      const signer = createNodeSigner(testSeed(`replica-${id}`));
      addKey(id, signer);
      replicas = [...replicas, { id, organization: `org-${id}`, publicKey: signer.publicKey, address: `sim://${id}` }];
    } else if (s.step === 'rotate') {
      const old = keys.get(s.id);
      const oldKey = current.replicas.find((r) => r.id === s.id)?.publicKey;
      const oldSigner = oldKey && old?.get(bytesToHex(oldKey));
      if (!oldSigner) throw new Error(`cannot rotate ${s.id}: not a member`);
      const signer = createNodeSigner(testSeed(`replica-${s.id}-epoch-${epoch}`));
      addKey(s.id, signer);
      retired.push({ id: s.id, epoch, signer: oldSigner });
      replicas = replicas.map((r) => (r.id === s.id ? { ...r, publicKey: signer.publicKey } : r));
    } else {
      replicas = replicas.filter((r) => r.id !== s.id);
    }
    memberships.push({ ...current, epoch, replicas, f: maxFaultTolerance(replicas.length) });
  }
  return { memberships, keys, retired };
}
