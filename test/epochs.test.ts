// Epochs on real processes (issue 6): four replica processes grow to five
// (the fifth follows by state transfer, then votes), rotate a key (generated
// in the replica's keystore while it runs; it switches at the boundary with
// no restart), and remove a replica. Each change is a signed request carrying
// the organizations' admin approvals. A client pinned to genesis verifies
// reads at the last epoch by walking the epoch chain; a rotated-out key can
// no longer speak for its replica.

import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RegistryClient, type RegistryError } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import {
  bytesToHex,
  certificateToJson,
  clientRequestToJson,
  commitVoteMessage,
  headerHash,
  mapProofToJson,
  type Membership,
  MerkleMap,
  parseEpochLinkJson,
  signClientRequest,
  signInDomain,
  verifyEpochChain,
} from '@vcr/proofs';
import { encodeOp, type MembershipAction, type MembershipChange, signMembershipApproval } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { peerEnvelopeDomain, signHello } from '../apps/replica/src/transport/handshake';
import {
  generateReplicaKey,
  type LocalClusterLayout,
  openOrgAdminKey,
  prepareJoiningReplica,
  prepareLocalCluster,
  type RunningReplica,
  spawnReplica,
  waitHealthy,
} from '../ops/local-cluster';
import { runScript } from './support/run-script';

const basePort = 21_000 + Math.floor(Math.random() * 1_500) * 6;
let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
let genesis: Membership;
let writer: RegistryClient;
const logs = new Map<string, string[]>();

function start(id: string): RunningReplica {
  const r = spawnReplica(layout, id, (line) => {
    const list = logs.get(id) ?? [];
    if (list.length < 4_000) list.push(line);
    logs.set(id, list);
  });
  running = [...running.filter((x) => x.id !== id), r];
  return r;
}

const urlOf = (id: string) => (layout.replicas.find((r) => r.id === id) as { url: string }).url;
const pinnedClient = (urls: string[]) => RegistryClient.create({ membership: genesis, replicas: urls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });

interface Health {
  epoch: number;
  member: number;
  committed: number;
  status: string;
  connectedPeers: string[];
}
async function health(id: string): Promise<Health> {
  return (await (await fetch(`${urlOf(id)}/healthz`)).json()) as Health;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const tail = [...logs].map(([id, lines]) => `${id}: ${lines.slice(-8).join('\n  ')}`).join('\n');
      throw new Error(`timed out waiting for ${what}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A membership change with approvals from org1..org3's admin keys (the local cluster's governance threshold is 3). */
async function changeMembership(epoch: bigint, actions: MembershipAction[]) {
  const change: MembershipChange = { epoch, actions };
  const approvals = [1, 2, 3].map((org) => ({ organization: `org${org}`, signature: signMembershipApproval(openOrgAdminKey(layout, org), genesis.chainId, change) }));
  return writer.submit({ op: 'membership', change, approvals });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-epochs-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-epochs' });
  for (const r of layout.replicas) start(r.id);
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  genesis = loadGenesis(layout.genesisFile);
  writer = await pinnedClient(layout.replicas.map((r) => r.url));
}, 90_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('membership changes on real processes', () => {
  let r5Url = '';
  let oldR2Key: Uint8Array;

  it('grows 4 -> 5: the fifth replica follows by state transfer with no vote, then joins at epoch 1 and votes', async () => {
    expect((await writer.put('epochs/before', 'zero')).result.ok).toBe(true);
    const joining = prepareJoiningReplica(layout, 'r5', basePort + 4, { fastKdf: true });
    layout = joining.layout;
    r5Url = joining.url;
    start('r5');
    await until('r5 following epoch 0 without a vote', async () => {
      const h = await health('r5');
      return h.epoch === 0 && h.member === 0 && h.committed >= 1;
    });
    // Approvals below the threshold change nothing.
    const weak: MembershipChange = { epoch: 0n, actions: [{ action: 'add-replica', replica: { id: 'r5', organization: 'org5', publicKey: joining.publicKey, address: r5Url } }] };
    const refused = await writer.submit({ op: 'membership', change: weak, approvals: [{ organization: 'org1', signature: signMembershipApproval(openOrgAdminKey(layout, 1), genesis.chainId, weak) }] });
    expect(refused.result).toMatchObject({ ok: false, error: 'approvals-below-threshold' });
    expect((await health('r1')).epoch).toBe(0);

    const added = await changeMembership(0n, weak.actions);
    expect(added.result.ok).toBe(true);
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) await until(`${id} in epoch 1`, async () => (await health(id)).epoch === 1);
    await until('r5 votes in epoch 1', async () => (await health('r5')).member === 1);
    // Writes go on with n = 5 (f = 1, quorum 4), and r5's COMMITs are among the signed votes the others verified.
    for (let i = 0; i < 5; i++) expect((await writer.put(`epochs/one/${i}`, String(i))).result.ok).toBe(true);
    await until('a commit signed by r5 in epoch 1 at r1', async () => {
      const body = (await (await fetch(`${urlOf('r1')}/v1/audit/messages?type=commit&limit=200&order=desc`)).json()) as { messages: { message: { from: string; epoch: string } }[] };
      return body.messages.some((m) => m.message.from === 'r5' && m.message.epoch === '1');
    });
    await until('r5 at the same height as r1', async () => (await health('r5')).committed >= (await health('r1')).committed - 1);
  }, 120_000);

  it('a put signed for the previous epoch after the epoch moved on commits, and its history and a watch over its prefix verify through the SDK', async () => {
    expect((await health('r1')).epoch).toBe(1);
    // A client that has not yet learned of epoch 1 signs for epoch 0: the replicas admit it (requestSigningEpochs).
    const signer = createNodeSigner(randomBytes(32));
    const request = signClientRequest(signer, { chainId: genesis.chainId, epoch: 0n }, { requestId: BigInt(Date.now()) * 1000n, payload: encodeOp({ op: 'put', key: 'epochs/previous/k', value: new TextEncoder().encode('signed-for-0') }) });
    const posted = await fetch(`${urlOf('r1')}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(clientRequestToJson(request)) });
    expect(posted.status, await posted.clone().text()).toBe(200);
    const receipt = (await posted.json()) as { certificate: { header: { epoch: string } } };
    expect(receipt.certificate.header.epoch).toBe('1');

    const reader = await pinnedClient(layout.replicas.map((r) => r.url));
    const history = await reader.history('epochs/previous/k');
    expect(history.map((c) => [c.clientId, c.requestId, new TextDecoder().decode(c.value)])).toEqual([[bytesToHex(signer.publicKey), request.requestId, 'signed-for-0']]);
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 20_000);
    const watched: string[] = [];
    for await (const change of reader.watch('epochs/previous/', { signal: stop.signal, maxFailedRounds: 2, waitMs: 1_000 })) {
      watched.push(`${change.key}=${new TextDecoder().decode(change.value)}`);
      break;
    }
    clearTimeout(timer);
    expect(watched).toEqual(['epochs/previous/k=signed-for-0']);
  }, 60_000);

  it('rotates r2 to a key generated in its keystore while it runs; r2 switches at the boundary without a restart', async () => {
    const pid = running.find((r) => r.id === 'r2')?.process.pid;
    const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
    oldR2Key = new EncryptedFileKeyStore(join(layout.dataDir, 'r2', 'keys'), passphrase).open('replica').publicKey;
    const newKey = generateReplicaKey(layout, 'r2', 'replica-epoch-2', { fastKdf: true });
    const rotated = await changeMembership(1n, [{ action: 'rotate-key', id: 'r2', publicKey: newKey }]);
    expect(rotated.result.ok).toBe(true);
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) await until(`${id} in epoch 2`, async () => (await health(id)).epoch === 2);
    await until('r2 votes in epoch 2', async () => (await health('r2')).member === 1);
    expect(running.find((r) => r.id === 'r2')?.process.pid).toBe(pid);
    expect(logs.get('r2')?.some((l) => l.includes('"key-opened"') && l.includes(bytesToHex(newKey)))).toBe(true);
    for (let i = 0; i < 5; i++) expect((await writer.put(`epochs/two/${i}`, String(i))).result.ok).toBe(true);
    await until('a commit signed by r2 in epoch 2 at r1', async () => {
      const body = (await (await fetch(`${urlOf('r1')}/v1/audit/messages?type=commit&limit=200&order=desc`)).json()) as { messages: { message: { from: string; epoch: string } }[] };
      return body.messages.some((m) => m.message.from === 'r2' && m.message.epoch === '2');
    });
  }, 120_000);

  it("the rotated-out key can no longer speak for r2: its peer handshake in epoch 2 is refused and counted", async () => {
    const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
    const oldKey = new EncryptedFileKeyStore(join(layout.dataDir, 'r2', 'keys'), passphrase).open('replica');
    expect(bytesToHex(oldKey.publicKey)).toBe(bytesToHex(oldR2Key));
    const ctx = { selfId: 'r2', domain: peerEnvelopeDomain(genesis.chainId, 2n), signer: oldKey, backend: nodeBackend, peerKey: () => undefined };
    const closeCode = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${urlOf('r1').replace('http', 'ws')}/v1/peer/ws`);
      ws.on('message', (data) => {
        const challenge = JSON.parse(String(data)) as { server: string; nonce: string };
        // A hello correctly signed with r2's old key, in the current epoch's domain.
        ws.send(JSON.stringify(signHello(ctx, challenge.server, challenge.nonce, '55'.repeat(32))));
      });
      ws.on('close', (code) => resolve(code));
      ws.on('error', reject);
    });
    expect(closeCode).toBe(1008);
    const metrics = await (await fetch(`${urlOf('r1')}/metrics`)).text();
    expect(metrics).toMatch(/^vcr_rejected_messages_total\{(?=[^}]*replica="r1")[^}]*reason="peer-auth"[^}]*\} [1-9]/m);
  }, 30_000);

  it('retired keys (all of epoch 0, more than f) certifying a false state to a genesis-pinned client are refused once f+1 replicas told it the newest epoch', async () => {
    expect((await health('r1')).epoch).toBe(2);
    // r4 is in epoch 2 once it has the certified block that ends epoch 1, but serves the link into
    // epoch 2 only once the new membership's quorum accepted it: wait for that, or the client below
    // learns epoch 1 alone from it (this test's flake under load: trustedEpoch 1, not 2).
    await until('r4 serves the links into epochs 1 and 2', async () => ((await (await fetch(`${urlOf('r4')}/v1/epochs?after=0`)).json()) as { links: unknown[] }).links.length >= 2);
    // The keys of the whole epoch-0 membership, r2's rotated-out one among them: what a thief of old keys holds.
    const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
    const retired = ['r1', 'r2', 'r3', 'r4'].map((id) => ({ id, key: new EncryptedFileKeyStore(join(layout.dataDir, id, 'keys'), passphrase).open('replica') }));
    expect(bytesToHex(retired[1]?.key.publicKey ?? new Uint8Array())).toBe(bytesToHex(oldR2Key));
    const served = (await (await fetch(`${urlOf('r1')}/v1/epochs?after=0&limit=1`)).json()) as { links: unknown[] };
    const link = parseEpochLinkJson(served.links[0]);
    if (!link.ok) throw new Error(link.issues.join('; '));
    const end = link.value.lastHeader;
    // A false state, certified in epoch 0 at a height past the end of epoch 0, by all four epoch-0 keys.
    const falseMap = new MerkleMap(nodeBackend);
    falseMap.set('epochs/before', { value: new TextEncoder().encode('false'), revision: 7n });
    const header = { ...end, height: end.height + 3n, prevHash: headerHash(nodeBackend, end), stateRoot: falseMap.root, timestampMs: BigInt(Date.now()), nextMembershipHash: null };
    const hash = headerHash(nodeBackend, header);
    const signatures = retired.map(({ id, key }) => ({ replicaId: id, signature: signInDomain(key, { kind: 'commit', chainId: genesis.chainId, epoch: 0n }, commitVoteMessage(hash, header.height, header.view)) }));
    const forged = { key: 'epochs/before', entry: { value: bytesToHex(new TextEncoder().encode('false')), revision: '7' }, proof: mapProofToJson(falseMap.prove('epochs/before')), certificate: certificateToJson({ header, commitView: header.view, signatures }) };
    // The thief's replica: it hides every epoch link and serves the false state.
    const thief = createServer((req, res) => {
      const body = req.url?.startsWith('/v1/epochs') ? { current: '0', links: [] } : forged;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    thief.listen(0, '127.0.0.1');
    await new Promise((resolve) => thief.once('listening', resolve));
    const thiefUrl = `http://127.0.0.1:${(thief.address() as AddressInfo).port}`;
    try {
      // Asking only the thief, the client cannot hear f+1 replicas: it trusts no certificate at all.
      const alone = await pinnedClient([thiefUrl]);
      const unheard = await alone.get('epochs/before').then(() => undefined, (e: unknown) => e as RegistryError);
      expect(unheard?.code).toBe('unknown-epoch');
      expect(unheard?.message).toMatch(/the newest epoch was told by 1 replica\(s\) of the 2 needed/);
      // With one more replica to ask (f+1 = 2), the client learns epoch 2 and refuses the retired keys for the height.
      const told = await RegistryClient.create({ membership: genesis, replicas: [thiefUrl], epochReplicas: [thiefUrl, urlOf('r4')], backend: nodeBackend });
      const refused = await told.get('epochs/before').then(() => undefined, (e: unknown) => e as RegistryError);
      expect(refused?.message).toMatch(new RegExp(`outside its epoch \\(epoch 0 ended at height ${end.height}\\)`));
      expect(told.trustedEpoch).toBe(2n);
    } finally {
      thief.closeAllConnections();
      thief.close();
    }
  }, 90_000);

  it('removes r3: it keeps following without a vote, the four others commit, and a client pinned to genesis verifies reads at epoch 3', async () => {
    const removed = await changeMembership(2n, [{ action: 'remove-replica', id: 'r3' }]);
    expect(removed.result.ok).toBe(true);
    for (const id of ['r1', 'r2', 'r4', 'r5']) await until(`${id} in epoch 3`, async () => (await health(id)).epoch === 3);
    await until('r3 in epoch 3 without a vote', async () => {
      const h = await health('r3');
      return h.epoch === 3 && h.member === 0;
    });
    const write = await writer.put('epochs/three', 'after-removal');
    expect(write.result.ok).toBe(true);
    expect(write.certificate.header.epoch).toBe(3n);
    expect(write.certificate.signatures.map((s) => s.replicaId)).not.toContain('r3');

    // A fresh client pinned to genesis walks three links, each verified from the membership before it.
    // (Asked first, r4 may still be collecting the new members' accepts for epoch 3's link; the client then walks via the next replica.)
    const fresh = await pinnedClient(['r4', 'r1', 'r2', 'r5'].map(urlOf));
    const read = await fresh.get('epochs/three');
    expect(read.entry?.value).toEqual(new TextEncoder().encode('after-removal'));
    expect(read.epoch).toBe(3n);
    expect(fresh.trustedEpoch).toBe(3n);

    // The links as served, checked here independently of the SDK: each needs both quorums.
    const body = (await (await fetch(`${urlOf('r1')}/v1/epochs?after=0`)).json()) as { current: string; links: unknown[] };
    expect(body.current).toBe('3');
    const links = body.links.map((l) => {
      const parsed = parseEpochLinkJson(l);
      if (!parsed.ok) throw new Error(parsed.issues.join('; '));
      return parsed.value;
    });
    const walked = verifyEpochChain(nodeBackend, genesis, links);
    expect(walked.ok).toBe(true);
    if (walked.ok) expect(walked.latest.replicas.map((r) => r.id)).toEqual(['r1', 'r2', 'r4', 'r5']);
    // Dropping the new quorum's signatures makes a link worthless.
    const stripped = verifyEpochChain(nodeBackend, genesis, [{ ...(links[0] as (typeof links)[number]), newSignatures: [] }]);
    expect(stripped.ok).toBe(false);

    // The removed replica still serves verifiable reads of the certified state (it follows by state transfer).
    const viaRemoved = await RegistryClient.create({ membership: genesis, replicas: [urlOf('r3')], epochReplicas: ['r3', 'r1', 'r2', 'r4', 'r5'].map(urlOf), backend: nodeBackend });
    await until('r3 serving epoch 3 state', async () => (await viaRemoved.get('epochs/three')).entry !== undefined);
  }, 150_000);

  it('the offline audit verifies the archive across the three epoch changes, and catches a changed vote of epoch 2', async () => {
    const archive = join(dir, 'archive');
    const download = await audit('download', '--replica', urlOf('r1'), '--genesis', layout.genesisFile, '--out', archive);
    expect(download.code, download.stderr).toBe(0);
    const ok = await audit('verify', '--archive', archive, '--genesis', layout.genesisFile);
    expect(ok.code, ok.stderr).toBe(0);
    // A vote of epoch 2 checked against epoch 2's membership: a flipped signature byte is named by line and rule.
    const rows = readFileSync(join(archive, 'messages.ndjson'), 'utf8').split('\n').filter(Boolean);
    const at = rows.findIndex((l) => {
      const m = (JSON.parse(l) as { message: { type: string; epoch: string } }).message;
      return m.type === 'commit' && m.epoch === '2';
    });
    expect(at).toBeGreaterThanOrEqual(0);
    const row = JSON.parse(rows[at] as string) as { id: string; message: { from: string; signature: string } };
    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const copy = join(dir, 'archive-tampered');
    cpSync(archive, copy, { recursive: true });
    writeFileSync(join(copy, 'messages.ndjson'), rows.map((l, i) => (i === at ? JSON.stringify({ ...row, message: { ...row.message, signature: flip(row.message.signature) } }) : l)).join('\n') + '\n');
    const bad = await audit('verify', '--archive', copy, '--genesis', layout.genesisFile);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`messages.ndjson line ${at + 1}`);
    expect(bad.stderr).toContain(`epoch 2`);
  }, 120_000);
});

/** The audit command as its own process, as an auditor runs it. */
const audit = (...args: string[]) => runScript('ops/audit/cli.ts', [...args, '--quiet']);
