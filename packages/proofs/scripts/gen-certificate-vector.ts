// Writes docs/vectors/certificate.json: a membership, a header, its hash, a
// certificate and an epoch link, all from deterministic test keys, so an
// independent client can check its encoding and verification.
// Run: npx tsx packages/proofs/scripts/gen-certificate-vector.ts
import { writeFileSync } from 'node:fs';
import { bytesToHex, certificateToJson, encodeCanonical, epochLinkToJson, headerHash, headerToCanonical, membershipHash, membershipToJson, nobleBackend, signingBytes, commitVoteMessage } from '../src/index';
import { testCertificate, testCluster, testEpochLink, testHeader, testSeed } from '../src/testing/fixtures';

const cluster = testCluster();
const header = testHeader();
const cert = testCertificate(cluster, header, ['r1', 'r2', 'r3']);
const hash = headerHash(nobleBackend, header);
const next = testCluster({ epoch: 1n, keyPrefix: 'rotated-1' });
const vector = {
  description: 'Deterministic test keys: seed = SHA-256("vcr-test-key/replica-rN"). Quorum for n=4, f=1 is 3.',
  seeds: Object.fromEntries([...cluster.signers.keys()].map((id) => [id, bytesToHex(testSeed(`replica-${id}`))])),
  membership: membershipToJson(cluster.membership),
  membershipHash: bytesToHex(membershipHash(nobleBackend, cluster.membership)),
  header: certificateToJson(cert).header,
  headerCanonicalHex: bytesToHex(encodeCanonical(headerToCanonical(header))),
  headerHash: bytesToHex(hash),
  commitSigningBytesHex: bytesToHex(signingBytes({ kind: 'commit', chainId: header.chainId, epoch: header.epoch }, commitVoteMessage(hash, header.height, cert.commitView))),
  certificate: certificateToJson(cert),
  epochLink: epochLinkToJson(testEpochLink(cluster, next)),
};
const out = new URL('../../../docs/vectors/certificate.json', import.meta.url);
writeFileSync(out, JSON.stringify(vector, null, 2) + '\n');
console.log(`wrote ${out.pathname}`);
