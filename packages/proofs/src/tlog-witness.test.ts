// Checkpoints and tlog-proof bundles of the registry (docs/witness.md),
// checked against docs/vectors/tlog-witness.json and hostile variants.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToBase64, bytesToHex, hexToBytes, utf8 } from './bytes';
import { MerkleLog } from './merkle-log';
import { type Membership } from './membership';
import { createMemorySigner, nobleBackend } from './noble-backend';
import { encodeVkey, formatNote, signCosignature } from './signed-note';
import { formatCheckpoint, parseCheckpoint, registryCheckpointPolicy, registryOrigin, verifyCheckpointNote } from './tlog-checkpoint';
import { formatTlogProof, parseTlogProof, verifyTlogProof } from './tlog-proof';

const vector = JSON.parse(readFileSync(new URL('../../../docs/vectors/tlog-witness.json', import.meta.url), 'utf8')).registry;
const b = nobleBackend;
const signers = Object.entries(vector.seeds as Record<string, string>).map(([id, seed]) => ({ id, signer: createMemorySigner(hexToBytes(seed)) }));
const membership: Membership = {
  chainId: vector.chainId,
  epoch: 0n,
  f: 1,
  replicas: signers.map((s, i) => ({ id: s.id, organization: `org${i + 1}`, publicKey: s.signer.publicKey, address: `http://127.0.0.1:${7001 + i}` })),
  governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: signers[0]?.signer.publicKey as Uint8Array }] },
};
const policy = registryCheckpointPolicy(b, membership);
const ts = BigInt(vector.timestamp);

function noteWith(body: string, who: readonly { signer: ReturnType<typeof createMemorySigner> }[]): string {
  return formatNote(body, who.map((w) => signCosignature(b, w.signer, policy.origin, body, ts)));
}

describe('checkpoint body', () => {
  it('origin, size and root of the vector, and the policy lists the vector vkeys with quorum 2f+1', () => {
    const log = new MerkleLog(b);
    for (const leaf of vector.leavesUtf8 as string[]) log.append(utf8(leaf));
    expect(bytesToHex(log.root())).toBe(vector.logRootHex);
    expect(formatCheckpoint({ origin: registryOrigin(vector.chainId) as string, size: log.size, root: log.root(), extensions: [] })).toBe(vector.checkpointBody);
    expect(policy.cosigners.map((c) => encodeVkey(c.key))).toEqual(vector.vkeys);
    expect(policy.quorum).toBe(vector.quorum);
  });

  it('refuses origins a key name cannot carry, and malformed bodies', () => {
    expect(registryOrigin('chain with space')).toBeUndefined();
    expect(registryOrigin('a+b')).toBeUndefined();
    expect(parseCheckpoint('o\n01\nz3Y6BByBzu8VeKYIP3XGG+8uABTyo+aDqX/Pylvn8Zo=\n')).toEqual({ ok: false, reason: 'bad-size' });
    expect(parseCheckpoint('o\n1\nz3Y6BByBzu8VeKYIP3XGG+8uABTyo+aDqX/Pylvn8Z=\n')).toEqual({ ok: false, reason: 'bad-root' });
    expect(parseCheckpoint('o\n1\n')).toEqual({ ok: false, reason: 'too-few-lines' });
    expect(parseCheckpoint('o\n1\nz3Y6BByBzu8VeKYIP3XGG+8uABTyo+aDqX/Pylvn8Zo=\n\n')).toEqual({ ok: false, reason: 'bad-extension' });
  });
});

describe('checkpoint note against an epoch policy', () => {
  it('the vector note verifies with 3 of 4 cosignatures', () => {
    const v = verifyCheckpointNote(b, vector.note, policy);
    expect(v.ok && v.cosigners.map((c) => [c.replicaId, c.timestampSeconds])).toEqual([['r1', ts], ['r2', ts], ['r3', ts]]);
  });

  it('a flipped root is refused: the first known cosignature no longer verifies', () => {
    const root = hexToBytes(vector.logRootHex);
    root[0] = (root[0] as number) ^ 1;
    const flipped = (vector.note as string).replace(bytesToBase64(hexToBytes(vector.logRootHex)), bytesToBase64(root));
    expect(verifyCheckpointNote(b, flipped, policy)).toMatchObject({ ok: false, reason: 'known-key-signature-invalid' });
  });

  it('fewer than 2f+1 cosignatures are refused, naming the count', () => {
    expect(verifyCheckpointNote(b, noteWith(vector.checkpointBody, signers.slice(0, 2)), policy)).toEqual({ ok: false, reason: 'below-quorum', detail: "2 of 3 required cosignatures from epoch 0's membership" });
  });

  it("a cosignature from a key outside the membership is ignored and does not count towards the quorum", () => {
    const outsider = { signer: createMemorySigner(hexToBytes(vector.outsiderSeedHex)) };
    const v = verifyCheckpointNote(b, noteWith(vector.checkpointBody, [...signers.slice(0, 2), outsider]), policy);
    expect(v).toMatchObject({ ok: false, reason: 'below-quorum' });
    expect(!v.ok && v.detail).toMatch(/^2 of 3 required cosignatures from epoch 0's membership; ignored 1 line\(s\) of keys not in epoch 0's membership: vcr\.example\/vcr-vector\+[0-9a-f]{8}$/);
  });

  it('the same replica twice counts once', () => {
    expect(verifyCheckpointNote(b, noteWith(vector.checkpointBody, [signers[0], signers[0], signers[1]] as typeof signers), policy)).toMatchObject({ ok: false, reason: 'below-quorum' });
  });

  it('a note of another origin is refused before any signature is checked', () => {
    const body = (vector.checkpointBody as string).replace('vcr-vector', 'other-chain');
    expect(verifyCheckpointNote(b, noteWith(body, signers), policy)).toMatchObject({ ok: false, reason: 'wrong-origin' });
  });
});

describe('tlog-proof bundle', () => {
  it('the vector bundle parses, re-formats byte for byte and verifies, giving the leaf', () => {
    const parsed = parseTlogProof(vector.tlogProof);
    expect(parsed.ok && formatTlogProof(parsed.value)).toBe(vector.tlogProof);
    const v = verifyTlogProof(b, vector.tlogProof, policy);
    expect(v.ok && [v.index, new TextDecoder().decode(v.leafData), v.checkpoint.size]).toEqual([1n, 'leaf-1', 3n]);
  });

  it('a tampered proof hash is refused as a root mismatch', () => {
    const lines = (vector.tlogProof as string).split('\n');
    const hash = hexToBytes(bytesToHex(Uint8Array.from(atob(lines[3] as string), (c) => c.charCodeAt(0))));
    hash[31] = (hash[31] as number) ^ 0x80;
    lines[3] = bytesToBase64(hash);
    expect(verifyTlogProof(b, lines.join('\n'), policy)).toEqual({ ok: false, reason: 'inclusion-root-mismatch', detail: 'leaf 1 in the tree of size 3' });
  });

  it('refuses another leaf than the expected one, a missing leaf, a wrong index and a short proof', () => {
    expect(verifyTlogProof(b, vector.tlogProof, policy, { expectedLeafData: utf8('leaf-2') })).toEqual({ ok: false, reason: 'leaf-mismatch' });
    const noExtra = (vector.tlogProof as string).replace(/^extra .*\n/m, '');
    expect(verifyTlogProof(b, noExtra, policy)).toEqual({ ok: false, reason: 'no-leaf' });
    expect(verifyTlogProof(b, noExtra, policy, { expectedLeafData: utf8('leaf-1') }).ok).toBe(true);
    expect(verifyTlogProof(b, (vector.tlogProof as string).replace('index 1', 'index 0'), policy)).toMatchObject({ ok: false, reason: 'inclusion-root-mismatch' });
    const short = (vector.tlogProof as string).split('\n').filter((_l, i) => i !== 4).join('\n');
    expect(verifyTlogProof(b, short, policy)).toMatchObject({ ok: false, reason: 'inclusion-wrong-proof-length' });
  });

  it('refuses malformed bundles', () => {
    expect(parseTlogProof('c2sp.org/tlog-proof@v2\nindex 0\n\nx')).toMatchObject({ ok: false, reason: 'bad-header' });
    expect(parseTlogProof('c2sp.org/tlog-proof@v1\nindex 01\n\nx')).toMatchObject({ ok: false, reason: 'bad-index' });
    expect(parseTlogProof('c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nx')).toMatchObject({ ok: false, reason: 'bad-proof-hash' });
    expect(parseTlogProof(`c2sp.org/tlog-proof@v1\nindex 0\n${`${bytesToBase64(new Uint8Array(32))}\n`.repeat(65)}\nx`)).toMatchObject({ ok: false, reason: 'proof-too-long' });
    expect(parseTlogProof('c2sp.org/tlog-proof@v1\nindex 0\n')).toMatchObject({ ok: false, reason: 'no-checkpoint' });
  });
});
