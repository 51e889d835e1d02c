// Recognizing a certificate by its text (TrustState.certificateOfJson): a
// certificate verified once under a trust state comes back for the same
// JSON text without parsing, hashing or signature work; any other text is
// parsed and checked in full, and nothing unverified is ever recognized.

import { describe, expect, it, vi } from 'vitest';
import { type Certificate, certificateToJson, type CryptoBackend, nobleBackend } from '@vcr/proofs';
import { testCertificate, testCluster, testHeader } from '@vcr/proofs/testing';
import { sdkLimits } from './limits';
import { TrustState } from './trust-state';

const cluster = testCluster();

function counting(): { backend: CryptoBackend; hashes: () => number; signatures: () => number } {
  let hashes = 0;
  let signatures = 0;
  const backend: CryptoBackend = {
    ...nobleBackend,
    sha256: (...parts) => {
      hashes++;
      return nobleBackend.sha256(...parts);
    },
    ed25519VerifyPrechecked: (signature, message, publicKey) => {
      signatures++;
      return nobleBackend.ed25519VerifyPrechecked(signature, message, publicKey);
    },
  };
  return { backend, hashes: () => hashes, signatures: () => signatures };
}

function trustWith(backend: CryptoBackend, certificateTextCacheSize: number = sdkLimits.certificateTextCacheSize): TrustState {
  return new TrustState(cluster.membership, backend, { certificateCacheSize: 64, forkWindowSize: 64, consistencyCacheSize: 64, certificateTextCacheSize });
}

/** The certificate as an answer carries it: JSON text, parsed back to a plain value. */
const wire = (cert: Certificate): unknown => JSON.parse(JSON.stringify(certificateToJson(cert)));

function readAndVerify(trust: TrustState, untrusted: unknown) {
  const read = trust.certificateOfJson(untrusted);
  if (!read.ok) return { read, verdict: undefined };
  return { read, verdict: trust.verifyCertificate(read.certificate) };
}

const certAt = (height: bigint) => testCertificate(cluster, testHeader({ height }));

describe('certificates recognized by their text', () => {
  it('a certificate verified once is recognized by its text: no parsing, hashing or signature work the second time', () => {
    const { backend, hashes, signatures } = counting();
    const trust = trustWith(backend);
    const first = readAndVerify(trust, wire(certAt(5n)));
    expect(first.verdict?.ok).toBe(true);
    expect(signatures()).toBeGreaterThanOrEqual(3);
    const [hashesBefore, signaturesBefore] = [hashes(), signatures()];
    const again = readAndVerify(trust, wire(certAt(5n)));
    expect(again.verdict).toEqual(first.verdict);
    expect(again.read.ok && first.read.ok && again.read.certificate === first.read.certificate).toBe(true);
    expect([hashes() - hashesBefore, signatures() - signaturesBefore, trust.certificatesRecognized, trust.certificateChecks]).toEqual([0, 0, 1, 1]);
    // The shared object cannot be changed by whoever receives it.
    const shared = again.read.ok ? again.read.certificate : undefined;
    expect(Object.isFrozen(shared) && Object.isFrozen(shared?.header) && Object.isFrozen(shared?.signatures)).toBe(true);
  });

  it('a text that differs in one header byte is parsed and checked in full, and refused', () => {
    const trust = trustWith(nobleBackend);
    const honest = wire(certAt(5n)) as { header: { stateRoot: string } };
    expect(readAndVerify(trust, honest).verdict?.ok).toBe(true);
    const forged = structuredClone(honest);
    forged.header.stateRoot = (forged.header.stateRoot[0] === 'a' ? 'b' : 'a') + forged.header.stateRoot.slice(1);
    const lie = readAndVerify(trust, forged);
    expect(lie.verdict).toMatchObject({ ok: false, code: 'verification-failed' });
    expect([trust.certificatesRecognized, trust.certificateChecks]).toEqual([0, 2]);
    // A different text of the same header (other signatures) is parsed, and passes on the verified header hash, as before.
    const resigned = wire(testCertificate(cluster, testHeader({ height: 5n }), ['r2', 'r3', 'r4']));
    expect(readAndVerify(trust, resigned).verdict?.ok).toBe(true);
    expect([trust.certificatesRecognized, trust.certificateChecks]).toEqual([0, 2]);
  });

  it('a certificate that failed is never recognized, and another trust state recognizes nothing of this one', () => {
    const trust = trustWith(nobleBackend);
    const bad = wire(testCertificate(cluster, testHeader({ height: 6n }), ['r1', 'r2']));
    for (let i = 0; i < 2; i++) expect(readAndVerify(trust, bad).verdict).toMatchObject({ ok: false });
    expect([trust.certificatesRecognized, trust.certificateChecks]).toEqual([0, 2]);
    expect(readAndVerify(trust, wire(certAt(7n))).verdict?.ok).toBe(true);
    const other = trustWith(nobleBackend);
    expect(readAndVerify(other, wire(certAt(7n))).verdict?.ok).toBe(true);
    expect([other.certificatesRecognized, other.certificateChecks]).toEqual([0, 1]);
  });

  it('a malformed certificate is refused by the schema, as before', () => {
    const trust = trustWith(nobleBackend);
    const read = trust.certificateOfJson({ header: {}, commitView: '0', signatures: [] });
    expect(read).toMatchObject({ ok: false, detail: expect.stringMatching(/^certificate\.header/) });
  });

  it('keeps at most certificateTextCacheSize texts, forgetting the least recently used', () => {
    const trust = trustWith(nobleBackend, 2);
    for (const h of [1n, 2n, 3n]) expect(readAndVerify(trust, wire(certAt(h))).verdict?.ok).toBe(true);
    expect(readAndVerify(trust, wire(certAt(3n))).verdict?.ok).toBe(true);
    expect(trust.certificatesRecognized).toBe(1);
    // Height 1's text was pushed out: parsed again (its header hash is still in the verified cache, so no signatures).
    expect(readAndVerify(trust, wire(certAt(1n))).verdict?.ok).toBe(true);
    expect([trust.certificatesRecognized, trust.certificateChecks]).toEqual([1, 3]);
  });

  it('recognition compares JSON values: it serializes nothing, and an extra or changed member is parsed and refused', () => {
    const trust = trustWith(nobleBackend);
    expect(readAndVerify(trust, wire(certAt(8n))).verdict?.ok).toBe(true);
    const again = wire(certAt(8n));
    const reordered = wire(certAt(8n)) as { header: Record<string, unknown>; commitView: unknown; signatures: unknown };
    const header = Object.fromEntries(Object.entries(reordered.header).reverse());
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      expect(readAndVerify(trust, again).verdict?.ok).toBe(true);
      expect(readAndVerify(trust, { signatures: reordered.signatures, commitView: reordered.commitView, header }).verdict?.ok).toBe(true);
      expect(trust.certificatesRecognized).toBe(2);
      expect(stringify).not.toHaveBeenCalled();
    } finally {
      stringify.mockRestore();
    }
    const extra = { ...(wire(certAt(8n)) as object), note: 'x' };
    expect(trust.certificateOfJson(extra)).toMatchObject({ ok: false });
    const extraInHeader = wire(certAt(8n)) as { header: Record<string, unknown> };
    extraInHeader.header.extra = '1';
    expect(trust.certificateOfJson(extraInHeader)).toMatchObject({ ok: false });
    const fewerSignatures = wire(certAt(8n)) as { signatures: unknown[] };
    const signatureCount = fewerSignatures.signatures.length;
    fewerSignatures.signatures.pop();
    const read = trust.certificateOfJson(fewerSignatures);
    expect(read.ok && read.certificate.signatures.length).toBe(signatureCount - 1);
    expect(trust.certificatesRecognized).toBe(2);
  });
});
