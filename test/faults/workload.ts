// The fault suite's workload and its recorder: N SDK clients, each running one
// operation at a time (put, compare-and-set, a two-key transaction, a
// linearizable get, a plain get) chosen by a seeded RNG, recording for every
// operation its invocation, its outcome and the receipt the SDK verified.
//
// What goes where:
// - writes and linearizable gets go to the history the linearizability checker
//   reads (test/linearizability);
// - plain gets are only as fresh as `maxStalenessMs` by design, so they are not
//   linearizable and are kept apart: they are checked only for "verified, and
//   not older than the client's own last acknowledged write" (checks.ts).
//
// Keys come in groups of two (`<prefix>/g<i>/a` and `/b`) and transactions stay
// inside one group, so the checker's components stay two keys wide.

import { randomBytes } from 'node:crypto';
import type { Membership } from '@vcr/proofs';
import { RegistryClient, RegistryError, type VerifiedReceipt } from '@vcr/client-sdk';
import { nodeFetch } from '@vcr/client-sdk/node';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import type { SingleOp } from '@vcr/registry';
import type { Rng } from '../../packages/consensus/test/sim/rng';
import type { HistoryOp } from '../linearizability/checker';
import type { KvOutcome, SingleKvOp } from '../linearizability/model';

export interface PlainRead {
  client: number;
  key: string;
  invokedAt: number;
  completedAt: number;
  value: string | undefined;
  revision: bigint;
  height: bigint;
  /** Height of the client's last acknowledged write when the read was invoked. */
  ownWriteHeight: bigint;
}

/** An acknowledged write, for the end checks (present on every replica). */
export interface AckedWrite {
  historyId: number;
  clientId: string;
  requestId: bigint;
  keys: string[];
  height: bigint;
}

export interface WorkloadRecord {
  history: HistoryOp[];
  plainReads: PlainRead[];
  acked: AckedWrite[];
  /** Receipts the SDK verified (every write that returned, including refusals). */
  receiptsVerified: number;
  /** Verified reads returned (linearizable and plain). */
  readsVerified: number;
  /** Failures by SDK error code (writes with unknown outcome, reads without an answer). */
  failures: Record<string, number>;
  /** Things that must never happen (a fork, a verification failure the SDK surfaced, a refusal the workload cannot cause). */
  anomalies: string[];
  keys: string[];
  /** Client ids (hex public keys) by client index. */
  clientIds: string[];
}

export interface WorkloadOptions {
  membership: Membership;
  urls: string[];
  clients: number;
  keyGroups: number;
  keyPrefix: string;
  rng: Rng;
  /** Resolves when the workload must stop (each client finishes its operation in flight). */
  until: Promise<void>;
  /** Clock for the history (monotonic ms). */
  now: () => number;
  /** SDK timeouts: short enough that a fault shows as unknown outcomes, not as a stalled run. */
  readTimeoutMs?: number;
  writeTimeoutMs?: number;
  writeDeadlineMs?: number;
}

type Choice = 'put' | 'cas' | 'txn' | 'get-linearizable' | 'get-plain';
const MIX: [Choice, number][] = [
  ['put', 0.3],
  ['cas', 0.25],
  ['txn', 0.1],
  ['get-linearizable', 0.15],
  ['get-plain', 0.2],
];

function choose(rng: Rng): Choice {
  let x = rng.float();
  for (const [choice, p] of MIX) if ((x -= p) < 0) return choice;
  return 'get-plain';
}

const text = new TextDecoder();

export async function runWorkload(opts: WorkloadOptions): Promise<WorkloadRecord> {
  const record: WorkloadRecord = { history: [], plainReads: [], acked: [], receiptsVerified: 0, readsVerified: 0, failures: {}, anomalies: [], keys: [], clientIds: [] };
  const groups = Array.from({ length: opts.keyGroups }, (_, g) => [`${opts.keyPrefix}/g${g}/a`, `${opts.keyPrefix}/g${g}/b`] as const);
  record.keys = groups.flat();
  let stopped = false;
  void opts.until.then(() => {
    stopped = true;
  });
  let nextId = 0;
  // The SDK's Node transport (keep-alive node:http), so the fault suite runs it through kills and partitions too.
  const transport = nodeFetch();
  const clients = await Promise.all(
    Array.from({ length: opts.clients }, (_, c) =>
      // Each client prefers another replica first, so every replica serves load.
      RegistryClient.create({
        membership: opts.membership,
        replicas: [...opts.urls.slice(c % opts.urls.length), ...opts.urls.slice(0, c % opts.urls.length)],
        signer: createNodeSigner(randomBytes(32)),
        backend: nodeBackend,
        fetch: transport,
        readTimeoutMs: opts.readTimeoutMs ?? 2_000,
        writeTimeoutMs: opts.writeTimeoutMs ?? 4_000,
        writeDeadlineMs: opts.writeDeadlineMs ?? 12_000,
      }),
    ),
  );
  record.clientIds = clients.map((c) => c.clientId ?? '');

  const fail = (code: string) => {
    record.failures[code] = (record.failures[code] ?? 0) + 1;
  };
  const codeOf = (e: unknown): string => (e instanceof RegistryError ? e.code : 'exception');
  const checkSurfaced = (e: unknown, what: string) => {
    // A fork or a forged answer that every replica gave is not a fault the nemesis can cause with at most f crashed replicas.
    const code = codeOf(e);
    if (code === 'fork' || code === 'verification-failed' || code === 'rollback' || code === 'exception') record.anomalies.push(`${what}: ${code}: ${e instanceof Error ? e.message : String(e)}`);
  };

  async function runClient(c: number): Promise<void> {
    const client = clients[c] as RegistryClient;
    const rng = opts.rng.fork(c);
    const knownRevision = new Map<string, bigint>();
    let ownWriteHeight = 0n;
    let seq = 0;
    while (!stopped) {
      const choice = choose(rng);
      const [ka, kb] = rng.pick(groups);
      const key = rng.chance(0.5) ? ka : kb;
      const value = `c${c}-${seq++}`;
      if (choice === 'get-plain' || choice === 'get-linearizable') {
        const linearizable = choice === 'get-linearizable';
        const invokedAt = opts.now();
        try {
          const read = await client.get(key, linearizable ? { linearizable: true } : {});
          const completedAt = opts.now();
          record.readsVerified++;
          const observed = { value: read.entry === undefined ? undefined : text.decode(read.entry.value), revision: read.entry?.revision ?? 0n };
          knownRevision.set(key, observed.revision);
          if (linearizable) record.history.push({ id: nextId++, client: c, op: { kind: 'get', key }, invokedAt, completedAt, outcome: { kind: 'read', ...observed } });
          else record.plainReads.push({ client: c, key, invokedAt, completedAt, ...observed, height: read.height, ownWriteHeight });
        } catch (e) {
          fail(`${choice}:${codeOf(e)}`);
          checkSurfaced(e, `client ${c} ${choice} ${key}`);
        }
        continue;
      }
      let kvOps: SingleKvOp[];
      if (choice === 'put') kvOps = [{ kind: 'put', key, value }];
      else if (choice === 'cas') kvOps = [{ kind: 'cas', key, expectedRevision: knownRevision.get(key) ?? 0n, value }];
      else kvOps = [{ kind: 'put', key: ka, value }, { kind: 'cas', key: kb, expectedRevision: knownRevision.get(kb) ?? 0n, value }];
      const sdkOps: SingleOp[] = kvOps.map((o) => (o.kind === 'cas' ? { op: 'cas', key: o.key, expectedRevision: o.expectedRevision, value: new TextEncoder().encode(o.value) } : o.kind === 'put' ? { op: 'put', key: o.key, value: new TextEncoder().encode(o.value) } : { op: 'delete', key: o.key }));
      const op = kvOps.length === 1 ? (kvOps[0] as SingleKvOp) : { kind: 'txn' as const, ops: kvOps };
      const id = nextId++;
      const invokedAt = opts.now();
      let receipt: VerifiedReceipt;
      try {
        receipt = await (sdkOps.length === 1 ? client.submit(sdkOps[0] as SingleOp) : client.transaction(sdkOps));
      } catch (e) {
        // Unknown outcome: the signed request may still be ordered (the SDK retried it), now or later.
        record.history.push({ id, client: c, op, invokedAt, completedAt: undefined, outcome: { kind: 'unknown' } });
        fail(`${choice}:${codeOf(e)}`);
        checkSurfaced(e, `client ${c} ${choice} ${key}`);
        for (const o of kvOps) knownRevision.delete(o.key);
        continue;
      }
      const completedAt = opts.now();
      record.receiptsVerified++;
      let outcome: KvOutcome;
      if (receipt.result.ok) {
        outcome = { kind: 'written', revisions: receipt.result.revisions };
        kvOps.forEach((o, i) => knownRevision.set(o.key, receipt.result.ok ? (receipt.result.revisions[i] ?? 0n) : 0n));
        ownWriteHeight = receipt.height;
        record.acked.push({ historyId: id, clientId: client.clientId ?? '', requestId: receipt.requestId, keys: kvOps.map((o) => o.key), height: receipt.height });
      } else if (receipt.result.error === 'revision-mismatch' || receipt.result.error === 'absent') {
        outcome = { kind: 'refused', error: receipt.result.error };
        for (const o of kvOps) knownRevision.delete(o.key);
        // A refusal is ordered too: the client's later plain reads must not be older than it.
        ownWriteHeight = receipt.height;
      } else {
        record.anomalies.push(`client ${c} ${choice} ${key}: refused with ${receipt.result.error}`);
        continue;
      }
      record.history.push({ id, client: c, op, invokedAt, completedAt, outcome });
    }
  }

  await Promise.all(clients.map((_, c) => runClient(c)));
  return record;
}
