import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { verifyCertificate, type Certificate } from './certificate';
import { nobleBackend } from './noble-backend';
import { signCommit, testCertificate, testCluster, testHeader, testSigner } from './testing/fixtures';
import { headerHash } from './header';
import { parseCertificateJson, certificateToJson } from './wire';

const backend = nobleBackend;
const cluster = testCluster();
const header = testHeader();

describe('certificate verification', () => {
  it('accepts 2f+1 distinct valid signatures of the header epoch membership', () => {
    const result = verifyCertificate(backend, cluster.membership, testCertificate(cluster, header, ['r1', 'r2', 'r3']));
    expect(result).toEqual({ ok: true, headerHash: headerHash(backend, header), signers: ['r1', 'r2', 'r3'] });
  });

  it('accepts all n signatures', () => {
    expect(verifyCertificate(backend, cluster.membership, testCertificate(cluster, header)).ok).toBe(true);
  });

  it('a commit needs 2f+1 distinct signers: 2 of 4 is below quorum', () => {
    const result = verifyCertificate(backend, cluster.membership, testCertificate(cluster, header, ['r1', 'r2']));
    expect(result).toMatchObject({ ok: false, reason: 'below-quorum' });
  });

  it('one key listed twice counts once: duplicate signer is refused', () => {
    const cert = testCertificate(cluster, header, ['r1', 'r2']);
    cert.signatures.push({ ...cert.signatures[0]! });
    expect(verifyCertificate(backend, cluster.membership, cert)).toMatchObject({ ok: false, reason: 'duplicate-signer' });
  });

  it('a membership listing one key under two ids cannot be used to reach quorum', () => {
    const m = structuredClone(cluster.membership);
    m.replicas[1]!.publicKey = m.replicas[0]!.publicKey;
    const cert = testCertificate(cluster, header, ['r1', 'r3']);
    cert.signatures.push({ replicaId: 'r2', signature: cert.signatures[0]!.signature });
    expect(verifyCertificate(backend, m, cert)).toMatchObject({ ok: false, reason: 'bad-membership' });
  });

  it('refuses a signer outside the membership', () => {
    const cert = testCertificate(cluster, header, ['r1', 'r2', 'r3']);
    cert.signatures.push({ replicaId: 'r9', signature: signCommit(testSigner('outsider'), header) });
    expect(verifyCertificate(backend, cluster.membership, cert)).toMatchObject({ ok: false, reason: 'unknown-signer', detail: 'r9' });
  });

  it('refuses a signature by the wrong key under a member id', () => {
    const cert = testCertificate(cluster, header, ['r1', 'r2']);
    cert.signatures.push({ replicaId: 'r3', signature: signCommit(testSigner('outsider'), header) });
    expect(verifyCertificate(backend, cluster.membership, cert)).toMatchObject({ ok: false, reason: 'bad-signature', detail: 'r3' });
  });

  it('refuses a header of another epoch than the membership', () => {
    const h = testHeader({ epoch: 1n });
    expect(verifyCertificate(backend, cluster.membership, testCertificate(cluster, h))).toMatchObject({ ok: false, reason: 'wrong-epoch' });
  });

  it('refuses a header of another chain', () => {
    const h = testHeader({ chainId: 'other-chain' });
    expect(verifyCertificate(backend, cluster.membership, testCertificate(cluster, h))).toMatchObject({ ok: false, reason: 'wrong-chain' });
  });

  it('signatures of an old membership (rotated keys) do not count in a new epoch', () => {
    const rotated = testCluster({ epoch: 1n, keyPrefix: 'rotated' });
    const h = testHeader({ epoch: 1n });
    const signedByOldKeys = testCertificate(testCluster({ epoch: 1n }), h);
    expect(verifyCertificate(backend, rotated.membership, signedByOldKeys)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('a signature for another kind (prepare instead of commit) does not verify', async () => {
    const { signInDomain } = await import('./domain');
    const { commitVoteMessage } = await import('./header');
    const cert = testCertificate(cluster, header, ['r1', 'r2']);
    const msg = commitVoteMessage(headerHash(backend, header), header.height, header.view);
    cert.signatures.push({ replicaId: 'r3', signature: signInDomain(cluster.signers.get('r3')!, { kind: 'prepare', chainId: header.chainId, epoch: 0n }, msg) });
    expect(verifyCertificate(backend, cluster.membership, cert)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('a header re-proposed in a later view is certified by commits of that view', () => {
    const cert = testCertificate(cluster, header, ['r1', 'r2', 'r3'], 3n);
    expect(verifyCertificate(backend, cluster.membership, cert).ok).toBe(true);
  });

  it('commit signatures from different views cannot be pooled into one certificate', () => {
    const cert = testCertificate(cluster, header, ['r1', 'r2'], 0n);
    cert.signatures.push(testCertificate(cluster, header, ['r3'], 1n).signatures[0]!);
    expect(verifyCertificate(backend, cluster.membership, cert)).toMatchObject({ ok: false, reason: 'bad-signature', detail: 'r3' });
  });

  it('a commit view before the header view is malformed', () => {
    const h = testHeader({ view: 2n });
    const cert = testCertificate(cluster, h, ['r1', 'r2', 'r3'], 1n);
    expect(verifyCertificate(backend, cluster.membership, cert)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuses too many signature entries before any crypto', () => {
    const cert = testCertificate(cluster, header);
    const padded: Certificate = { header, commitView: 0n, signatures: Array.from({ length: 65 }, (_, i) => ({ replicaId: `x${i}`, signature: new Uint8Array(64) })) };
    expect(verifyCertificate(backend, cluster.membership, padded)).toMatchObject({ ok: false, reason: 'too-many-signatures' });
    expect(verifyCertificate(backend, cluster.membership, cert).ok).toBe(true);
  });

  it('malformed input returns a typed failure and never throws', () => {
    const bad: unknown[] = [null, {}, { header: null }, { header, signatures: 'x' }, { header, signatures: [null] }, { header, signatures: [{ replicaId: 1, signature: new Uint8Array(64) }] }, { header: { ...header, height: 5 }, signatures: [] }];
    for (const b of bad) {
      const r = verifyCertificate(backend, cluster.membership, b as Certificate);
      expect(r.ok).toBe(false);
    }
  });

  it('flipping any single bit of any header field or signature breaks verification', () => {
    const cert = testCertificate(cluster, header, ['r1', 'r2', 'r3']);
    const byteFields = ['prevHash', 'batchHash', 'stateRoot', 'logRoot'] as const;
    const intFields = ['epoch', 'view', 'height', 'logSize', 'timestampMs'] as const;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: byteFields.length + intFields.length + 2 }), fc.nat(), fc.nat(), (which, pos, bit) => {
        const c = structuredClone(cert);
        if (which < byteFields.length) {
          const f = byteFields[which]!;
          c.header[f][pos % 32]! ^= 1 << (bit % 8);
        } else if (which < byteFields.length + intFields.length) {
          const f = intFields[which - byteFields.length]!;
          c.header[f] = c.header[f] ^ (1n << BigInt(bit % 40));
        } else if (which === byteFields.length + intFields.length) {
          c.header.chainId = c.header.chainId + 'x';
        } else {
          const s = c.signatures[pos % 3]!;
          s.signature[bit % 64]! ^= 1 << (pos % 8);
        }
        expect(verifyCertificate(backend, cluster.membership, c).ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('survives a JSON wire round trip with identical verification', () => {
    const cert = testCertificate(cluster, header, ['r2', 'r3', 'r4']);
    const parsed = parseCertificateJson(JSON.parse(JSON.stringify(certificateToJson(cert))));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(verifyCertificate(backend, cluster.membership, parsed.value).ok).toBe(true);
  });

  it('wire parsing refuses uppercase hex, short hashes, numbers for 64-bit fields and extra fields', () => {
    const json = certificateToJson(testCertificate(cluster, header));
    const variants = [
      { ...json, header: { ...json.header, stateRoot: json.header.stateRoot.toUpperCase() } },
      { ...json, header: { ...json.header, stateRoot: json.header.stateRoot.slice(2) } },
      { ...json, header: { ...json.header, height: 1 } },
      { ...json, header: { ...json.header, height: '01' } },
      { ...json, header: { ...json.header, height: '9223372036854775808' } },
      { ...json, extra: true },
    ];
    for (const v of variants) expect(parseCertificateJson(v).ok).toBe(false);
  });
});

describe('quorums follow the membership size', () => {
  it.each([
    [4, 3],
    [5, 4],
    [7, 5],
  ])('with n = %i the certificate needs %i signers', (n, q) => {
    const c = testCluster({ n });
    const ids = [...c.signers.keys()];
    expect(verifyCertificate(backend, c.membership, testCertificate(c, header, ids.slice(0, q))).ok).toBe(true);
    expect(verifyCertificate(backend, c.membership, testCertificate(c, header, ids.slice(0, q - 1)))).toMatchObject({ ok: false, reason: 'below-quorum' });
  });
});
