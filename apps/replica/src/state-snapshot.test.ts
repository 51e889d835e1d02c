// Restart from a state snapshot (issue 17): a one-replica membership (n = 1,
// f = 0) commits on its own, so snapshots, restarts and tampered files can be
// checked against a real SQLite file and real certified blocks.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex, type Membership, signInDomain } from '@vcr/proofs';
import { createNodeSigner } from '@vcr/crypto-node';
import { type ClientRequest, requestSigningMessage } from '@vcr/consensus';
import { signMembershipApproval, type MembershipChange } from '@vcr/registry';
import { MemoryKeyStore } from './keystore';
import { encodeOp } from './registry';
import { ReplicaNode } from './replica-node';
import { ReplicaStore } from './storage/replica-store';
import { decodeSnapshot } from './storage/snapshot-file';
import { SnapshotRefused } from './state-snapshot';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const client = createNodeSigner(new Uint8Array(32).fill(7));
const clientId = bytesToHex(client.publicKey);

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'vcr-snapshot-'));
  dirs.push(dir);
  const keys = new MemoryKeyStore();
  const key = keys.generate('replica');
  const membership: Membership = {
    chainId: 'vcr-unit',
    epoch: 0n,
    f: 0,
    replicas: [{ id: 'r1', organization: 'org1', publicKey: key.publicKey, address: 'http://127.0.0.1:1' }],
    governance: { threshold: 1, admins: [{ organization: 'org1', publicKey: key.publicKey }] },
  };
  const path = join(dir, 'replica.sqlite');
  const lines: Record<string, unknown>[] = [];
  const open = (snapshotEvery = { entries: 3, blocks: 1_000 }) =>
    new ReplicaNode({ membership, replicaId: 'r1', key, store: new ReplicaStore(path), tickMs: 5, snapshotEvery, log: (l) => lines.push(l) });
  return { membership, open, path, lines, key, keys };
}

function request(membership: Membership, requestId: bigint): ClientRequest {
  const unsigned = { clientId, requestId, payload: encodeOp({ op: 'put', key: `k/${requestId}`, value: new TextEncoder().encode(`v${requestId}`) }) };
  return { ...unsigned, signature: signInDomain(client, { kind: 'client-request', chainId: membership.chainId, epoch: 0n }, requestSigningMessage(unsigned)) };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

/** Commits requests 1..n one at a time, waits for a snapshot, and stops; returns the last receipt's block. */
async function historyWithSnapshot(n: number) {
  const s = setup();
  // One snapshot, once all n entries are in: none is still being written when the node stops.
  const node = s.open({ entries: n, blocks: 1_000 });
  node.start();
  let last;
  for (let i = 1n; i <= BigInt(n); i++) last = await node.submit(request(s.membership, i));
  await until(() => s.lines.some((l) => l.event === 'snapshot-written'));
  node.stop();
  return { ...s, lastBlock: last?.block };
}

/** Rewrites the snapshot's trailer after a change, so only the certified roots can catch it. */
function rewriteTrailer(bytes: Buffer): Buffer {
  const body = bytes.subarray(0, bytes.length - 32);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

describe('state snapshots', () => {
  it('a snapshot taken in a later epoch restores that epoch, checked against the block that ended the one before', async () => {
    const s = setup();
    const node = s.open({ entries: 1, blocks: 1_000 });
    node.start();
    // r2 joins: the block that commits the change ends epoch 0, and the state after it is in epoch 1.
    const r2 = s.keys.generate('r2');
    const change: MembershipChange = { epoch: 0n, actions: [{ action: 'add-replica', replica: { id: 'r2', organization: 'org2', publicKey: r2.publicKey, address: 'http://127.0.0.1:1' } }] };
    const approvals = [{ organization: 'org1', signature: signMembershipApproval(s.key, s.membership.chainId, change) }];
    const unsigned = { clientId, requestId: 1n, payload: encodeOp({ op: 'membership', change, approvals }) };
    const ended = await node.submit({ ...unsigned, signature: signInDomain(client, { kind: 'client-request', chainId: s.membership.chainId, epoch: 0n }, requestSigningMessage(unsigned)) });
    expect(ended.block.header.nextMembershipHash).not.toBeNull();
    await until(() => s.lines.some((l) => l.event === 'snapshot-written' && BigInt(l.height as string) >= ended.block.header.height));
    node.stop();
    s.lines.length = 0;
    const again = s.open();
    expect(s.lines.find((l) => l.event === 'recovered')?.fromSnapshot).not.toBeNull();
    expect(again.status.epoch).toBe(1);
    expect(again.currentMembership.replicas.map((r) => r.id)).toEqual(['r1', 'r2']);
  });

  it('a restart loads the newest snapshot and re-executes only the blocks after it, to the same certified state', async () => {
    const { open, path, lines, membership } = await historyWithSnapshot(5);
    const written = lines.filter((l) => l.event === 'snapshot-written');
    const snapshotHeight = BigInt(written[written.length - 1]?.height as string);
    expect(existsSync(`${path}.snapshot`)).toBe(true);
    lines.length = 0;
    const again = open();
    const recovered = lines.find((l) => l.event === 'recovered');
    expect(recovered?.fromSnapshot).toBe(snapshotHeight.toString());
    const committed = BigInt(again.status.committed);
    expect(recovered?.blocksReplayed).toBe(Number(committed - snapshotHeight));
    expect(bytesToHex(again.committedState().map.root)).toBe(bytesToHex(again.latestBlock()?.header.stateRoot ?? new Uint8Array()));
    // Reads and writes go on from the loaded state.
    expect(again.committedState().map.get('k/2')?.revision).toBe(1n);
    again.start();
    const receipt = await again.submit(request(membership, 6n));
    expect(receipt.reply.result).toBeDefined();
    again.stop();
  });

  it('the snapshot file holds the map and log frontier of the certified header it names', async () => {
    const { path, lines } = await historyWithSnapshot(4);
    const decoded = decodeSnapshot(readFileSync(`${path}.snapshot`));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const last = lines.filter((l) => l.event === 'snapshot-written').at(-1);
    expect(decoded.header.height.toString()).toBe(last?.height);
    expect(decoded.entries.map(([k]) => k)).toContain('k/3');
  });

  it('refuses to start from a snapshot whose entries were changed, naming the state root it does not match', async () => {
    const { open, path } = await historyWithSnapshot(4);
    const bytes = readFileSync(`${path}.snapshot`);
    const at = bytes.indexOf(Buffer.from('v3'));
    expect(at).toBeGreaterThan(0);
    bytes[at + 1] = '9'.charCodeAt(0);
    writeFileSync(`${path}.snapshot`, rewriteTrailer(bytes));
    let error: unknown;
    try {
      open();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SnapshotRefused);
    expect((error as SnapshotRefused).code).toBe('snapshot-state-root-mismatch');
    expect((error as Error).message).toMatch(/certified header of block \d+/);
  });

  it('refuses a torn snapshot file, and one whose log frontier was changed', async () => {
    const { open, path } = await historyWithSnapshot(4);
    const original = readFileSync(`${path}.snapshot`);
    writeFileSync(`${path}.snapshot`, original.subarray(0, original.length - 10));
    expect(() => open()).toThrow(/snapshot-unreadable: bad-trailer/);
    // A frontier hash flipped (the header is canonical CBOR: the frontier array follows its key).
    const tampered = Buffer.from(original);
    const at = tampered.indexOf(Buffer.from('frontier')) + 'frontier'.length + 3; // array head, byte-string head (2), then the first hash
    tampered[at] = (tampered[at] as number) ^ 1;
    writeFileSync(`${path}.snapshot`, rewriteTrailer(tampered));
    expect(() => open()).toThrow(/snapshot-log-root-mismatch/);
  });

  it('sets aside a snapshot of a block the store does not hold (a wiped store) and re-executes what it has', async () => {
    const { open, path, lines } = await historyWithSnapshot(4);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    lines.length = 0;
    const fresh = open();
    expect(fresh.status.committed).toBe(0);
    expect(lines.some((l) => l.event === 'snapshot-set-aside')).toBe(true);
    fresh.stop();
  });
});
