// Checks docs/vectors/certificate.json, the vector another implementation
// would check itself against: parsing, hashing, signing bytes, verification.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from './bytes';
import { encodeCanonical } from './canonical';
import { commitVoteMessage, headerHash, headerToCanonical } from './header';
import { membershipHash } from './membership';
import { createMemorySigner, nobleBackend } from './noble-backend';
import { signingBytes } from './domain';
import { verifyCertificate } from './certificate';
import { verifyEpochChain } from './epoch-chain';
import { parseCertificateJson, parseEpochLinkJson, parseMembershipJson } from './wire';

const vector = JSON.parse(readFileSync(new URL('../../../docs/vectors/certificate.json', import.meta.url), 'utf8'));

describe('published certificate vector', () => {
  const membership = parseMembershipJson(vector.membership);
  const cert = parseCertificateJson(vector.certificate);
  if (!membership.ok || !cert.ok) throw new Error('vector does not parse');

  it('the seeds give the listed public keys', () => {
    for (const r of membership.value.replicas) {
      expect(bytesToHex(createMemorySigner(hexToBytes(vector.seeds[r.id])).publicKey)).toBe(bytesToHex(r.publicKey));
    }
  });

  it('membership hash, header encoding, header hash and signing bytes match', () => {
    const h = cert.value.header;
    expect(bytesToHex(membershipHash(nobleBackend, membership.value))).toBe(vector.membershipHash);
    expect(bytesToHex(encodeCanonical(headerToCanonical(h)))).toBe(vector.headerCanonicalHex);
    expect(bytesToHex(headerHash(nobleBackend, h))).toBe(vector.headerHash);
    const bytes = signingBytes({ kind: 'commit', chainId: h.chainId, epoch: h.epoch }, commitVoteMessage(headerHash(nobleBackend, h), h.height, cert.value.commitView));
    expect(bytesToHex(bytes)).toBe(vector.commitSigningBytesHex);
  });

  it('the certificate verifies and the epoch link walks', () => {
    expect(verifyCertificate(nobleBackend, membership.value, cert.value).ok).toBe(true);
    const link = parseEpochLinkJson(vector.epochLink);
    expect(link.ok).toBe(true);
    if (link.ok) expect(verifyEpochChain(nobleBackend, membership.value, [link.value]).ok).toBe(true);
  });

  it('the signatures are deterministic: re-signing with the seeds reproduces them', () => {
    const h = cert.value.header;
    const bytes = signingBytes({ kind: 'commit', chainId: h.chainId, epoch: h.epoch }, commitVoteMessage(headerHash(nobleBackend, h), h.height, cert.value.commitView));
    for (const s of cert.value.signatures) {
      expect(bytesToHex(createMemorySigner(hexToBytes(vector.seeds[s.replicaId])).sign(bytes))).toBe(bytesToHex(s.signature));
    }
  });
});
