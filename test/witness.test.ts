// Witness compatibility against four real replica processes (docs/witness.md):
// signed writes, then `npm run cli -- witness checkpoint` and `witness proof`
// as their own processes, the files they write verified with @vcr/proofs and
// with `witness verify`; negative controls (a flipped root, a cosignature of
// a key outside the membership, fewer than 2f+1 cosignatures, a tampered
// proof hash) each refused with its rule; and the collector refusing to
// write a note when only 2 of 4 replicas answer.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bytesToBase64,
  createMemorySigner,
  encodeVkey,
  formatNote,
  hexToBytes,
  type Membership,
  parseNote,
  parseTlogProof,
  registryCheckpointPolicy,
  signCosignature,
  tryBase64ToBytes,
  verifyCheckpointNote,
  verifyTlogProof,
} from '@vcr/proofs';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { loadGenesis } from '../apps/replica/src/genesis';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { runScript } from './support/run-script';

const basePort = 25_000 + Math.floor(Math.random() * 2_000) * 4;
let dir: string;
let layout: LocalClusterLayout;
let membership: Membership;
let running: RunningReplica[] = [];
const urls = () => layout.replicas.map((r) => r.url).join(',');
const witness = (...args: string[]) => runScript('ops/cli.ts', ['witness', ...args]);
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-witness-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-witness' });
  running = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  membership = loadGenesis(layout.genesisFile);
  const writers = await Promise.all(Array.from({ length: 3 }, () => RegistryClient.create({ membership, replicas: layout.replicas.map((r) => r.url), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend })));
  await Promise.all(writers.map(async (w, wi) => {
    for (let i = 0; i < 5; i++) expect((await w.put(`witness/w${wi}/k${i}`, String(i))).result.ok).toBe(true);
  }));
}, 120_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('C2SP checkpoints and proofs from a real cluster', () => {
  it('a replica answers its cosigned checkpoint with the certificate, and 404 for a size no block ends at', async () => {
    const url = layout.replicas[0]?.url as string;
    const body = (await (await fetch(`${url}/v1/witness/checkpoint`)).json()) as { origin: string; size: string; note: string; vkey: string };
    expect(body.origin).toBe('vcr.example/vcr-witness');
    expect(BigInt(body.size)).toBeGreaterThanOrEqual(15n);
    const one = { ...registryCheckpointPolicy(nodeBackend, membership), quorum: 1 };
    expect(verifyCheckpointNote(nodeBackend, body.note, one).ok).toBe(true);
    expect(one.cosigners.map((c) => encodeVkey(c.key))).toContain(body.vkey);
    const res = await fetch(`${url}/v1/witness/checkpoint?size=${BigInt(body.size) + 1_000n}`);
    expect(res.status).toBe(404);
    expect((await fetch(`${url}/v1/witness/checkpoint?size=01`)).status).toBe(400);
  });

  it('witness checkpoint writes a note with 2f+1 verified cosignatures and the vkeys of the epoch', async () => {
    const run = await witness('checkpoint', '--replicas', urls(), '--genesis', layout.genesisFile, '--out', file('checkpoint.note'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/VERIFIED checkpoint vcr\.example\/vcr-witness size \d+ root \S+: cosigned by r1 .*quorum 3 of epoch 0/);
    const note = readFileSync(file('checkpoint.note'));
    const verdict = verifyCheckpointNote(nodeBackend, note, registryCheckpointPolicy(nodeBackend, membership));
    expect(verdict.ok && verdict.cosigners.length).toBeGreaterThanOrEqual(3);
    const vkeys = readFileSync(file('checkpoint.note.vkeys'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(vkeys).toEqual(registryCheckpointPolicy(nodeBackend, membership).cosigners.map((c) => encodeVkey(c.key)));
    const offline = await witness('verify', '--vkeys', file('checkpoint.note.vkeys'), '--note', file('checkpoint.note'));
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/^VERIFIED checkpoint vcr\.example\/vcr-witness size \d+ root .*quorum 3/);
  }, 60_000);

  it('witness proof writes a tlog-proof bundle whose leaf is the committed entry', async () => {
    const run = await witness('proof', '--index', '3', '--replicas', urls(), '--genesis', layout.genesisFile, '--out', file('entry3.tlog-proof'));
    expect(run.code, run.stderr).toBe(0);
    const bundle = readFileSync(file('entry3.tlog-proof'), 'utf8');
    expect(bundle.startsWith('c2sp.org/tlog-proof@v1\nextra ')).toBe(true);
    const verdict = verifyTlogProof(nodeBackend, bundle, registryCheckpointPolicy(nodeBackend, membership));
    expect(verdict.ok && verdict.index).toBe(3n);
    const change = (await (await fetch(`${layout.replicas[1]?.url}/v1/changes?from=3&limit=1`)).json()) as { entries: { logIndex: string; leafData: string }[] };
    expect(verdict.ok && Buffer.from(verdict.leafData).toString('hex')).toBe(change.entries[0]?.leafData);
    const offline = await witness('verify', '--vkeys', file('checkpoint.note.vkeys'), '--proof', file('entry3.tlog-proof'));
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/^VERIFIED tlog-proof: entry 3 /);
    // An earlier size the cluster certified is exportable too (the binary search over headers).
    const size = verdict.ok ? verdict.checkpoint.size : 0n;
    const earlier = await witness('checkpoint', '--replicas', urls(), '--genesis', layout.genesisFile, '--size', String(size));
    expect(earlier.code, earlier.stderr).toBe(0);
  }, 60_000);

  describe('negative controls, each refused by `witness verify` with its rule', () => {
    const refuse = async (name: string, content: string, kind: '--note' | '--proof') => {
      writeFileSync(file(name), content);
      const run = await witness('verify', '--vkeys', file('checkpoint.note.vkeys'), kind, file(name));
      expect(run.code).toBe(1);
      return run.stderr.trim();
    };
    const noteText = () => readFileSync(file('checkpoint.note'), 'utf8');

    it('a flipped root', async () => {
      const root = noteText().split('\n')[2] as string;
      const bytes = tryBase64ToBytes(root) as Uint8Array;
      bytes[5] = (bytes[5] as number) ^ 0x10;
      const message = await refuse('flipped.note', noteText().replace(root, bytesToBase64(bytes)), '--note');
      expect(message).toMatch(/^REFUSED: checkpoint note .*flipped\.note: known-key-signature-invalid \(vcr\.example\/vcr-witness\+[0-9a-f]{8} /);
    });

    it('a cosignature from a key not in the membership does not count', async () => {
      const parsed = parseNote(noteText());
      if (!parsed.ok) throw new Error('note does not parse');
      const outsider = signCosignature(nodeBackend, createMemorySigner(hexToBytes('77'.repeat(32))), 'vcr.example/vcr-witness', parsed.value.text, 1_700_000_000n);
      const lines = [...parsed.value.signatures.slice(0, 2).map((s) => s.line), outsider];
      const message = await refuse('outsider.note', formatNote(parsed.value.text, lines), '--note');
      expect(message).toMatch(/^REFUSED: checkpoint note .*: below-quorum \(2 of 3 required cosignatures from epoch 0's membership; ignored 1 line\(s\) of keys not in epoch 0's membership: vcr\.example\/vcr-witness\+[0-9a-f]{8}\)$/);
    });

    it('fewer than 2f+1 cosignatures', async () => {
      const parsed = parseNote(noteText());
      if (!parsed.ok) throw new Error('note does not parse');
      const message = await refuse('two.note', formatNote(parsed.value.text, parsed.value.signatures.slice(0, 2).map((s) => s.line)), '--note');
      expect(message).toMatch(/below-quorum \(2 of 3 required cosignatures from epoch 0's membership\)$/);
    });

    it('a tampered proof hash', async () => {
      const bundle = parseTlogProof(readFileSync(file('entry3.tlog-proof'), 'utf8'));
      if (!bundle.ok || bundle.value.proof.length === 0) throw new Error('bundle does not parse');
      const lines = readFileSync(file('entry3.tlog-proof'), 'utf8').split('\n');
      const hash = tryBase64ToBytes(lines[3] as string) as Uint8Array;
      hash[0] = (hash[0] as number) ^ 0x01;
      lines[3] = bytesToBase64(hash);
      const message = await refuse('tampered.tlog-proof', lines.join('\n'), '--proof');
      expect(message).toMatch(/: inclusion-root-mismatch \(leaf 3 in the tree of size \d+\)$/);
    });
  });

  it('with only 2 of 4 replicas answering, no note is written', async () => {
    for (const r of running.filter((x) => x.id === 'r3' || x.id === 'r4')) r.process.kill('SIGKILL');
    const run = await witness('checkpoint', '--replicas', urls(), '--genesis', layout.genesisFile, '--out', file('two-of-four.note'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/REFUSED: only 2 of the 3 cosignatures epoch 0 requires \(2f\+1\) for size \d+/);
    expect(run.stderr).toMatch(/not counted: http:\/\/127\.0\.0\.1:\d+: unreachable/);
  }, 60_000);
});
