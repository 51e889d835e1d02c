// The offline audit against four real replica processes: signed writes, the
// primary killed with SIGKILL (a view change) and restarted until it caught
// up, an archive downloaded (and resumed) from a replica, verified offline
// from the pinned genesis, and tampered copies caught with a message that
// names the file, the line, the record and the replica. Also: compare of two
// replicas' archives, equivocation written as an evidence file, and every
// download answer read under a bound (through a padding proxy).

import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexToBytes, type Membership } from '@vcr/proofs';
import { parsePeerMessageJson, peerMessageToJson, type Prepare, signMessage } from '@vcr/consensus';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { loadGenesis } from '../apps/replica/src/genesis';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';
import { runScript } from './support/run-script';

const basePort = 21_000 + Math.floor(Math.random() * 2_000) * 4;
let dir: string;
let layout: LocalClusterLayout;
let membership: Membership;
let running: RunningReplica[] = [];

/** Runs the audit command as its own process, as an auditor would. */
const audit = (...args: string[]) => runScript('ops/audit/cli.ts', [...args, '--quiet']);

function start(id: string): RunningReplica {
  const r = spawnReplica(layout, id);
  running = [...running.filter((x) => x.id !== id), r];
  return r;
}

const health = async (url: string) => (await (await fetch(`${url}/healthz`)).json()) as { view: number; committed: number };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const urlOf = (id: string) => layout.replicas.find((r) => r.id === id)?.url as string;
const sdk = (urls: string[]) => RegistryClient.create({ membership, replicas: urls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });

async function writeEntries(urls: string[], prefix: string, writers: number, each: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: writers }, () => sdk(urls)));
  await Promise.all(
    clients.map(async (c, w) => {
      for (let i = 0; i < each; i++) expect((await c.put(`${prefix}/w${w}/k${i}`, String(i))).result.ok).toBe(true);
    }),
  );
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
const saveLines = (file: string, rows: string[]) => writeFileSync(file, rows.map((l) => l + '\n').join(''));

/** A copy of the archive with one file's lines changed. */
function tampered(name: string, file: string, edit: (rows: string[]) => string[]): string {
  const copy = join(dir, `tampered-${name}`);
  cpSync(join(dir, 'archive-a'), copy, { recursive: true });
  saveLines(join(copy, file), edit(lines(join(copy, file))));
  return copy;
}

let viewBefore = 0;
let viewAfter = 0;
let killedId = '';
let archiveReplica = '';
let otherReplica = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-audit-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-audit' });
  for (const r of layout.replicas) start(r.id);
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  membership = loadGenesis(layout.genesisFile);
  const all = layout.replicas.map((r) => r.url);
  await writeEntries(all, 'audit/before', 8, 10);

  // PBFT 4.4: kill the primary of the current view (replica (v mod n) + 1); writes go on through the others.
  viewBefore = (await health(all[0] as string)).view;
  killedId = `r${(viewBefore % 4) + 1}`;
  const live = layout.replicas.filter((r) => r.id !== killedId).map((r) => r.url);
  running.find((r) => r.id === killedId)?.process.kill('SIGKILL');
  await writeEntries(live, 'audit/during', 4, 5);
  viewAfter = (await health(live[0] as string)).view;

  // The killed replica restarts from its disk and catches up by verified state transfer.
  start(killedId);
  await waitHealthy(urlOf(killedId), 30_000);
  await writeEntries(all, 'audit/after', 4, 5);
  const target = (await health(live[0] as string)).committed;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(200)) {
    if ((await health(urlOf(killedId)).catch(() => ({ committed: 0 }))).committed >= target) break;
  }
  expect((await health(urlOf(killedId))).committed).toBeGreaterThanOrEqual(target);
  // Audit rows are flushed with the next block or within a second.
  await sleep(1_500);

  // Archives of two replicas that lived through the view change, downloaded side by side.
  const survivors = layout.replicas.map((r) => r.id).filter((id) => id !== killedId);
  archiveReplica = survivors[0] as string;
  otherReplica = survivors[1] as string;
  const [a, b] = await Promise.all([
    audit('download', '--replica', urlOf(archiveReplica), '--genesis', layout.genesisFile, '--out', join(dir, 'archive-a')),
    audit('download', '--replica', urlOf(otherReplica), '--genesis', layout.genesisFile, '--out', join(dir, 'archive-b')),
  ]);
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('the offline audit of a cluster that went through a view change', () => {
  it('the primary was killed and the cluster moved to a later view', () => {
    expect(viewAfter).toBeGreaterThan(viewBefore);
  });

  it('verifies a downloaded archive offline and reports the view change among the audit messages', async () => {
    const heads = join(dir, 'trusted-heads.json');
    const r = await audit('verify', '--archive', join(dir, 'archive-a'), '--genesis', layout.genesisFile, '--heads', heads);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`replica ${archiveReplica}): VERIFIED`);
    expect(r.stdout).toMatch(/[1-9][0-9]* view-change/);
    expect(r.stdout).toMatch(new RegExp(`NEW-VIEW for view ${viewAfter} from r${(viewAfter % 4) + 1}`));
    expect(r.stdout).toMatch(/rate: [0-9]+ entries\/s/);
    expect(r.stdout).toContain('equivocation: none found');
    console.log(r.stdout);
    expect(existsSync(heads)).toBe(true);
  }, 60_000);

  it('a resumed download records a new head with the consistency proof, and the log extends every head seen before', async () => {
    await writeEntries(layout.replicas.map((r) => r.url), 'audit/later', 2, 3);
    await sleep(1_200);
    const d = await audit('download', '--replica', urlOf(archiveReplica), '--genesis', layout.genesisFile, '--out', join(dir, 'archive-a'));
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^resumed .* 2 log heads \(\+1\)/);
    const r = await audit('verify', '--archive', join(dir, 'archive-a'), '--genesis', layout.genesisFile, '--heads', join(dir, 'trusted-heads.json'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('log heads: 3 checked');
    // A head whose root the archive's history does not reproduce: history rewritten since it was seen.
    const forged = join(dir, 'forged-heads.json');
    const trusted = JSON.parse(readFileSync(join(dir, 'trusted-heads.json'), 'utf8')) as { heads: { size: string; root: string }[] };
    writeFileSync(forged, JSON.stringify({ heads: [{ size: trusted.heads[0]?.size, root: 'ab'.repeat(32) }] }));
    const bad = await audit('verify', '--archive', join(dir, 'archive-a'), '--genesis', layout.genesisFile, '--heads', forged);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/forged-heads\.json \(head 1 \(size [0-9]+\)\): log root at size [0-9]+ is [0-9a-f]{64}, but the head seen before has (ab){32} \(history rewritten\)/);
  }, 60_000);

  it('catches a changed vote: a flipped signature byte, and a changed header hash in a vote', async () => {
    const rows = lines(join(dir, 'archive-a', 'messages.ndjson'));
    const at = rows.findIndex((l) => (JSON.parse(l) as { message: { type: string } }).message.type === 'prepare');
    const row = JSON.parse(rows[at] as string) as { id: string; message: { from: string; view: string; seq: string; signature: string; headerHash: string } };
    const m = row.message;
    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const sigCopy = tampered('vote-signature', 'messages.ndjson', (r) => r.map((l, i) => (i === at ? JSON.stringify({ ...row, message: { ...m, signature: flip(m.signature) } }) : l)));
    const a = await audit('verify', '--archive', sigCopy, '--genesis', layout.genesisFile);
    expect(a.code).toBe(1);
    const where = `messages.ndjson line ${at + 1} (audit id ${row.id}) replica ${m.from}: prepare from ${m.from}, epoch 0, view ${m.view}, seq ${m.seq}: signature`;
    expect(a.stderr).toContain(`FAIL ${where}`);
    expect(a.stderr).toContain(`does not verify under ${m.from}'s key`);
    const hashCopy = tampered('vote-hash', 'messages.ndjson', (r) => r.map((l, i) => (i === at ? JSON.stringify({ ...row, message: { ...m, headerHash: flip(m.headerHash) } }) : l)));
    const b = await audit('verify', '--archive', hashCopy, '--genesis', layout.genesisFile);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`FAIL ${where}`);
    console.log(a.stderr, b.stderr);
  }, 60_000);

  it('catches a dropped block', async () => {
    const copy = tampered('dropped-block', 'blocks.ndjson', (r) => r.filter((_, i) => i !== 4));
    const r = await audit('verify', '--archive', copy, '--genesis', layout.genesisFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FAIL blocks.ndjson line 5 (height 5): expected height 5, found height 6 (a block is missing or out of order)');
    console.log(r.stderr);
  }, 60_000);

  it('catches a forged certificate: a signature replaced, or a header field changed', async () => {
    type BlockJson = { header: Record<string, string>; certificate: { header: Record<string, string>; signatures: { replicaId: string; signature: string }[] } };
    const blocks = lines(join(dir, 'archive-a', 'blocks.ndjson'));
    const at = 6;
    const block = JSON.parse(blocks[at] as string) as BlockJson;
    const [s0, s1] = block.certificate.signatures;
    const swapped = { ...block, certificate: { ...block.certificate, signatures: [{ ...s0, signature: s1?.signature }, ...block.certificate.signatures.slice(1)] } };
    const sigCopy = tampered('cert-signature', 'blocks.ndjson', (r) => r.map((l, i) => (i === at ? JSON.stringify(swapped) : l)));
    const a = await audit('verify', '--archive', sigCopy, '--genesis', layout.genesisFile);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(`FAIL blocks.ndjson line ${at + 1} (height ${at + 1}): certificate: bad-signature (${s0?.replicaId})`);
    // The header's time moved by 1 ms, in the block and in its certificate alike: no signature covers the new header.
    const later = String(BigInt(block.header.timestampMs as string) + 1n);
    const changed = { ...block, header: { ...block.header, timestampMs: later }, certificate: { ...block.certificate, header: { ...block.certificate.header, timestampMs: later } } };
    const headerCopy = tampered('cert-header', 'blocks.ndjson', (r) => r.map((l, i) => (i === at ? JSON.stringify(changed) : l)));
    const b = await audit('verify', '--archive', headerCopy, '--genesis', layout.genesisFile);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(new RegExp(`FAIL blocks\\.ndjson line ${at + 1} \\(height ${at + 1}\\): certificate: bad-signature \\(r[1-4]\\)`));
    console.log(a.stderr, b.stderr);
  }, 60_000);

  it('writes equivocation as an evidence file: two validly signed prepares from one replica for one slot', async () => {
    // The equivocator signs a second prepare for a slot it already voted in, with its real key.
    const rows = lines(join(dir, 'archive-a', 'messages.ndjson'));
    const original = rows.map((l) => JSON.parse(l) as { id: string; message: unknown }).find((r) => {
      const m = parsePeerMessageJson(r.message);
      return m.ok && m.value.type === 'prepare' && m.value.from !== archiveReplica;
    });
    const parsed = parsePeerMessageJson(original?.message);
    if (!parsed.ok || parsed.value.type !== 'prepare') throw new Error('no prepare of another replica in the archive');
    const vote: Prepare = parsed.value;
    const keys = new EncryptedFileKeyStore(join(dir, vote.from, 'keys'), readFileSync(layout.passphraseFile, 'utf8').trim());
    const conflicting = signMessage<Prepare>({ backend: nodeBackend, chainId: membership.chainId }, keys.open('replica'), { type: 'prepare', epoch: vote.epoch, from: vote.from, view: vote.view, seq: vote.seq, headerHash: hexToBytes('ee'.repeat(32)) });
    const lastId = BigInt((JSON.parse(rows.at(-1) as string) as { id: string }).id);
    const copy = tampered('equivocation', 'messages.ndjson', (r) => [...r, JSON.stringify({ id: String(lastId + 1n), receivedAtMs: '0', message: peerMessageToJson(conflicting) })]);
    const evidenceDir = join(dir, 'evidence');
    const r = await audit('verify', '--archive', copy, '--genesis', layout.genesisFile, '--evidence-dir', evidenceDir);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toContain(`equivocation: 1 found: ${vote.from} prepare epoch 0 view ${vote.view} seq ${vote.seq}`);
    const files = readdirSync(evidenceDir);
    expect(files).toEqual([`equivocation-${vote.from}-e0-v${vote.view}-s${vote.seq}-prepare.json`]);
    const evidence = JSON.parse(readFileSync(join(evidenceDir, files[0] as string), 'utf8')) as { first: { message: unknown }; second: { message: unknown }; secondDigest: string };
    expect(evidence.secondDigest).toBe('ee'.repeat(32));
    expect(parsePeerMessageJson(evidence.first.message).ok && parsePeerMessageJson(evidence.second.message).ok).toBe(true);
  }, 60_000);

  it('bounds every answer: an oversized health answer stops the download naming the URL; an oversized audit page is asked again with fewer rows', async () => {
    const asked: string[] = [];
    // In front of the archive replica: /healthz padded past its 64 KiB bound when told so; audit message pages of more
    // than 100 rows padded past the 32 MiB page bound (a busy replica's honest page can be that large).
    let hugeHealth = true;
    const proxy: Server = createServer((req, res) => {
      void (async () => {
        const path = req.url ?? '/';
        asked.push(path);
        const upstream = await fetch(urlOf(archiveReplica) + path);
        let text = await upstream.text();
        const limit = Number(/[?&]limit=([0-9]+)/.exec(path)?.[1] ?? '0');
        if ((path.startsWith('/healthz') && hugeHealth) || (path.startsWith('/v1/audit/messages') && limit > 100)) text = text.replace(/^\{/, `{"pad":"${'x'.repeat(path.startsWith('/healthz') ? 70_000 : 33 * 1024 * 1024)}",`);
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(text);
      })().catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const via = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const refused = await audit('download', '--replica', via, '--genesis', layout.genesisFile, '--out', join(dir, 'archive-bounded'));
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`GET ${via}/healthz: the answer is larger than 65536 bytes (the bound for a health answer)`);
      hugeHealth = false;
      const ok = await audit('download', '--replica', via, '--genesis', layout.genesisFile, '--out', join(dir, 'archive-bounded'));
      expect(ok.code, ok.stderr).toBe(0);
      const limits = asked.filter((p) => p.startsWith('/v1/audit/messages')).map((p) => Number(/limit=([0-9]+)/.exec(p)?.[1]));
      // (A first limit=1 request finds the newest id for the progress bar.)
      expect(limits.join(',')).toContain('500,250,125,63');
      const direct = lines(join(dir, 'archive-a', 'messages.ndjson')).length;
      expect(lines(join(dir, 'archive-bounded', 'messages.ndjson')).length).toBeGreaterThanOrEqual(direct);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  }, 90_000);

  it('compare: two replicas agree; a truncated copy is reported where it stops', async () => {
    const same = await audit('compare', join(dir, 'archive-a'), join(dir, 'archive-b'));
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^AGREE up to height [1-9][0-9]*/);
    const truncated = join(dir, 'truncated');
    cpSync(join(dir, 'archive-b'), truncated, { recursive: true });
    saveLines(join(truncated, 'blocks.ndjson'), lines(join(truncated, 'blocks.ndjson')).slice(0, 10));
    const cut = await audit('compare', join(dir, 'archive-b'), truncated);
    expect(cut.stdout).toMatch(new RegExp(`^AGREE up to height 10, where ${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} stops; .* goes on to height [0-9]+`));
    // A different header at one height is a divergence.
    const forked = tampered('forked', 'blocks.ndjson', (r) => r.map((l, i) => (i === 11 ? l.replace(/"timestampMs":"([0-9]+)"/g, (_m, t: string) => `"timestampMs":"${BigInt(t) + 1n}"`) : l)));
    const fork = await audit('compare', join(dir, 'archive-a'), forked);
    expect(fork.code).toBe(1);
    expect(fork.stdout).toMatch(/^DIVERGE at height 12: .* \(they agree up to height 11\)/);
    console.log(same.stdout, cut.stdout, fork.stdout);
  }, 60_000);
});
