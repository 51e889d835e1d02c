// A printed walk through what the registry certifies, built with the real
// proofs package: a membership, a signed block certificate, an epoch change,
// and what happens when one byte is tampered with.

import {
  bytesToHex,
  hashLeaf,
  MerkleLog,
  MerkleMap,
  utf8,
  verifyInclusion,
  verifyMembership,
  verifyNonMembership,
  headerHash,
  membershipQuorum,
  nobleBackend as backend,
  verifyCertificate,
  verifyEpochChain,
} from '@vcr/proofs';
import { testCertificate, testCluster, testEpochLink, testHeader } from '@vcr/proofs/testing';

export function runProofsWalkthrough(print: (line: string) => void): void {
  const genesis = testCluster();
  const m = genesis.membership;
  print(`Membership epoch ${m.epoch} of chain "${m.chainId}": ${m.replicas.map((r) => `${r.id}/${r.organization}`).join(', ')}`);
  print(`  n = ${m.replicas.length}, f = ${m.f}, quorum = ${membershipQuorum(m)}`);

  const header = testHeader();
  const cert = testCertificate(genesis, header, ['r1', 'r2', 'r3']);
  print(`\nBlock ${header.height}: header hash ${bytesToHex(headerHash(backend, header)).slice(0, 16)}…`);
  print(`  certificate signed by ${cert.signatures.map((s) => s.replicaId).join(', ')}: ${describe(verifyCertificate(backend, m, cert))}`);

  const twoOnly = testCertificate(genesis, header, ['r1', 'r2']);
  print(`  the same with only r1, r2: ${describe(verifyCertificate(backend, m, twoOnly))}`);

  const tampered = structuredClone(cert);
  tampered.header.stateRoot[0]! ^= 1;
  print(`  one bit of the state root flipped: ${describe(verifyCertificate(backend, m, tampered))}`);

  const rotated = testCluster({ epoch: 1n, keyPrefix: 'rotated-1' });
  const chain = verifyEpochChain(backend, m, [testEpochLink(genesis, rotated)]);
  print(`\nEpoch change 0 -> 1 (every key rotated): ${chain.ok ? `trusted, now at epoch ${chain.latest.epoch}` : `refused (${chain.reason})`}`);
  const oldKeysInNewEpoch = testCertificate(testCluster({ epoch: 1n }), testHeader({ epoch: 1n }));
  print(`  a block of epoch 1 signed with the old keys: ${describe(verifyCertificate(backend, rotated.membership, oldKeysInNewEpoch))}`);
}

/** The state map and the entry log a certified header commits to. */
export function runStateWalkthrough(print: (line: string) => void): void {
  const map = new MerkleMap(backend);
  map.set('edge/pins/api.example.com', { value: utf8('{"pins":["sha256/AAAA"]}'), revision: 1n });
  map.set('payments/flags/new-checkout', { value: utf8('{"enabled":false}'), revision: 3n });
  map.set('payments/endpoints/ledger', { value: utf8('{"url":"https://ledger.internal"}'), revision: 2n });
  const root = map.root;
  print(`\nState map with ${map.size} keys, root ${bytesToHex(root).slice(0, 16)}…`);
  const key = 'payments/flags/new-checkout';
  const entry = map.get(key);
  if (entry) {
    const proof = map.prove(key);
    print(`  "${key}" rev ${entry.revision}, proof of ${proof.siblings.length} siblings: ${describe(verifyMembership(backend, { root, key, entry, proof }))}`);
    print(`  the same proof claiming revision 4: ${describe(verifyMembership(backend, { root, key, entry: { ...entry, revision: 4n }, proof }))}`);
  }
  const absent = 'payments/flags/does-not-exist';
  print(`  "${absent}" is absent: ${describe(verifyNonMembership(backend, { root, key: absent, proof: map.prove(absent) }))}`);
  print(`  claiming "${key}" is absent: ${describe(verifyNonMembership(backend, { root, key, proof: map.prove(key) }))}`);

  const log = new MerkleLog(backend);
  for (let i = 0; i < 10; i++) log.append(utf8(`entry ${i}`));
  const size = log.size;
  const proof = log.inclusionProof(6n, size);
  const leafHash = hashLeaf(backend, utf8('entry 6'));
  print(`\nEntry log of ${size} entries, root ${bytesToHex(log.root()).slice(0, 16)}…`);
  print(`  entry 6 is included: ${describe(verifyInclusion(backend, { leafHash, index: 6n, size, proof, root: log.root() }))}`);
  print(`  entry 6 claimed at index 7: ${describe(verifyInclusion(backend, { leafHash, index: 7n, size, proof, root: log.root() }))}`);
}

function describe(result: { ok: true } | { ok: false; reason: string; detail?: string }): string {
  return result.ok ? 'verified' : `rejected: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`;
}
