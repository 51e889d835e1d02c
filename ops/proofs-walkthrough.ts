// A printed walk through what the registry certifies, built with the real
// proofs package: a membership, a signed block certificate, an epoch change,
// and what happens when one byte is tampered with.

import {
  bytesToHex,
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

function describe(result: { ok: true } | { ok: false; reason: string; detail?: string }): string {
  return result.ok ? 'verified' : `rejected: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`;
}
