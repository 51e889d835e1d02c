// The end-of-run checks of the fault suite, once the workload and the nemesis
// have stopped and every replica runs again (with a Byzantine replica in the
// cluster, "replicas" below means the honest ones, and no equivocation
// evidence may accuse an honest replica):
// 1. all replicas converge to the same latest header (height and state root);
// 2. every acknowledged write is in the verified history of its keys on every
//    replica (a missing one is a lost write);
// 3. the final value of every key, read verified from every replica, is the
//    same, and is appended to the history as reads after everything;
// 4. the history of writes and linearizable reads is linearizable;
// 5. plain reads are verified and not older than their client's own last write,
//    and see only values that some write invoked before them wrote.

import { randomBytes } from 'node:crypto';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { checkHistory, type Explanation, type HistoryOp } from '../linearizability/checker';
import { keysOf, type KvOp } from '../linearizability/model';
import type { FaultCluster } from './cluster';
import type { NemesisRecord } from './nemesis';
import type { WorkloadRecord } from './workload';

export interface FaultRunSummary {
  seed: number;
  loadMs: number;
  clients: number;
  operations: { total: number; writesAcked: number; writesRefused: number; writesUnknown: number; readsLinearizable: number; readsPlain: number; failures: Record<string, number> };
  faults: Record<string, number>;
  recoveryTimeouts: number;
  /** Sum of vcr_view_changes_total over the replicas (each replica counts the view changes it went through). */
  viewChanges: number;
  /** The highest view any replica is in at the end (views started at 0). */
  finalView: string;
  receiptsVerified: number;
  readsVerified: number;
  /** Latency of writes that returned a receipt (ms). */
  writeLatencyMs: { p50: number; p99: number; max: number };
  lostWrites: number;
  /** The Byzantine replica and its strategy, if the cluster had one; the checks below hold the honest replicas only. */
  byzantine: string | undefined;
  /** Equivocation evidence the honest replicas hold, by accused replica (summed over the honest replicas). */
  evidence: Record<string, number>;
  /** Messages the honest replicas refused, by reason (summed). */
  rejected: Record<string, number>;
  converged: { ok: boolean; height: string; stateRoot: string; waitedMs: number };
  finalValuesAgree: boolean;
  plainReadViolations: string[];
  anomalies: string[];
  linearizability: { verdict: 'linearizable' | 'not linearizable' | 'refused'; components: number; ops: number; steps: number; checkMs: number; failures: Explanation[]; refusal?: string };
  verdict: 'pass' | 'fail';
  problems: string[];
}

async function waitConverged(cluster: FaultCluster, timeoutMs: number): Promise<FaultRunSummary['converged']> {
  const started = Date.now();
  let last: ({ height: bigint; stateRoot: string } | undefined)[] = [];
  while (Date.now() - started < timeoutMs) {
    last = await Promise.all(cluster.honestIds.map((id) => cluster.latestHeader(id)));
    const first = last[0];
    if (first !== undefined && last.every((h) => h !== undefined && h.height === first.height && h.stateRoot === first.stateRoot)) {
      return { ok: true, height: String(first.height), stateRoot: first.stateRoot, waitedMs: Date.now() - started };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { ok: false, height: last.map((h) => String(h?.height ?? '?')).join('/'), stateRoot: last.map((h) => h?.stateRoot.slice(0, 12) ?? '?').join('/'), waitedMs: Date.now() - started };
}

function checkPlainReads(record: WorkloadRecord): string[] {
  const writesOf = new Map<string, HistoryOp[]>();
  for (const h of record.history) {
    if (h.op.kind === 'get') continue;
    for (const k of keysOf(h.op)) writesOf.set(k, [...(writesOf.get(k) ?? []), h]);
  }
  const wrote = (op: KvOp, key: string, value: string): boolean =>
    op.kind === 'txn' ? op.ops.some((o) => o.key === key && o.kind !== 'delete' && o.value === value) : op.kind !== 'get' && op.kind !== 'delete' && op.key === key && op.value === value;
  const violations: string[] = [];
  for (const r of record.plainReads) {
    if (r.height < r.ownWriteHeight) violations.push(`client ${r.client} read ${r.key} at height ${r.height}, below its own last write at ${r.ownWriteHeight}`);
    if (r.value === undefined) continue;
    const value = r.value;
    const source = (writesOf.get(r.key) ?? []).find((w) => w.invokedAt <= r.completedAt && w.outcome.kind !== 'refused' && wrote(w.op, r.key, value));
    if (source === undefined) violations.push(`client ${r.client} read ${r.key}=${r.value} @${r.revision}, which no write invoked before it wrote`);
  }
  return violations;
}

function latencies(ops: readonly HistoryOp[]): FaultRunSummary['writeLatencyMs'] {
  const sorted = ops.flatMap((h) => (h.completedAt === undefined ? [] : [h.completedAt - h.invokedAt])).sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
}

export async function finalChecks(cluster: FaultCluster, seed: number, loadMs: number, clients: number, work: WorkloadRecord, nemesis: NemesisRecord, now: () => number): Promise<FaultRunSummary> {
  const problems: string[] = [];
  const converged = await waitConverged(cluster, 30_000);
  if (!converged.ok) problems.push(`replicas did not converge: heights ${converged.height}, roots ${converged.stateRoot}`);

  // Verified reads and histories from each honest replica alone.
  const honest = cluster.honestIds;
  const readers = await Promise.all(
    honest.map((id) => cluster.urlOf(id)).map((url) => RegistryClient.create({ membership: cluster.membership, replicas: [url], epochReplicas: honest.map((id) => cluster.urlOf(id)), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, readTimeoutMs: 5_000 })),
  );
  const missing = new Set<number>();
  const finals = new Map<string, string[]>();
  const finalReads: HistoryOp[] = [];
  let nextId = work.history.reduce((m, h) => Math.max(m, h.id), 0) + 1;
  for (const [i, reader] of readers.entries()) {
    const id = honest[i] as string;
    for (const key of work.keys) {
      const changes = await reader.history(key).catch((e: unknown) => {
        problems.push(`history of ${key} from ${id} failed: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      });
      if (changes !== undefined) {
        const present = new Set(changes.map((c) => `${c.clientId}:${c.requestId}`));
        for (const w of work.acked) if (w.keys.includes(key) && !present.has(`${w.clientId}:${w.requestId}`)) missing.add(w.historyId);
      }
      const invokedAt = now();
      const read = await reader.get(key, { allowStale: true }).catch(() => undefined);
      if (read === undefined) {
        problems.push(`final read of ${key} from ${id} failed`);
        continue;
      }
      const value = read.entry === undefined ? undefined : new TextDecoder().decode(read.entry.value);
      const revision = read.entry?.revision ?? 0n;
      finals.set(key, [...(finals.get(key) ?? []), `${value ?? '(absent)'}@${revision}`]);
      finalReads.push({ id: nextId++, client: -1 - i, op: { kind: 'get', key }, invokedAt, completedAt: now(), outcome: { kind: 'read', value, revision } });
    }
  }
  const finalValuesAgree = [...finals.values()].every((v) => v.length === readers.length && v.every((x) => x === v[0]));
  if (!finalValuesAgree) problems.push('replicas disagree on final values');
  if (missing.size > 0) problems.push(`${missing.size} acknowledged writes missing from some replica's history`);

  // Final reads are appended only once the replicas agree: they are then the state after every write.
  const history = converged.ok && finalValuesAgree ? [...work.history, ...finalReads] : work.history;
  const started = performance.now();
  let linearizability: FaultRunSummary['linearizability'];
  try {
    const verdict = checkHistory(history);
    linearizability = { verdict: verdict.linearizable ? 'linearizable' : 'not linearizable', components: verdict.components, ops: verdict.ops, steps: verdict.steps, checkMs: Math.round(performance.now() - started), failures: verdict.linearizable ? [] : verdict.failures };
  } catch (e) {
    linearizability = { verdict: 'refused', components: 0, ops: history.length, steps: 0, checkMs: Math.round(performance.now() - started), failures: [], refusal: e instanceof Error ? e.message : String(e) };
  }
  if (linearizability.verdict !== 'linearizable') problems.push(`history ${linearizability.verdict}`);
  const plainReadViolations = checkPlainReads(work);
  if (plainReadViolations.length > 0) problems.push(`${plainReadViolations.length} plain reads violate their rule`);
  if (work.anomalies.length > 0) problems.push(`${work.anomalies.length} anomalies`);

  // Evidence must name only the Byzantine replica: evidence against an honest one is a false accusation.
  const evidence: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  // A replica whose record cannot be read fails the run: an empty answer must not pass for "no evidence".
  const unreadable = (what: string, id: string) => (e: unknown): Record<string, number> => {
    problems.push(`${what} of ${id} could not be read: ${e instanceof Error ? e.message : String(e)}`);
    return {};
  };
  for (const id of honest) {
    for (const [accused, n] of Object.entries(await cluster.evidenceBy(id).catch(unreadable('evidence', id)))) evidence[accused] = (evidence[accused] ?? 0) + n;
    for (const [reason, n] of Object.entries(await cluster.rejectedBy(id).catch(unreadable('metrics', id)))) rejected[reason] = (rejected[reason] ?? 0) + n;
  }
  for (const accused of Object.keys(evidence)) if (honest.includes(accused)) problems.push(`evidence accuses honest replica ${accused}`);

  const faults: Record<string, number> = {};
  for (const e of nemesis.events) faults[e.kind] = (faults[e.kind] ?? 0) + 1;
  const writes = work.history.filter((h) => h.op.kind !== 'get');
  return {
    seed,
    loadMs,
    clients,
    operations: {
      total: work.history.length + work.plainReads.length,
      writesAcked: writes.filter((h) => h.outcome.kind === 'written').length,
      writesRefused: writes.filter((h) => h.outcome.kind === 'refused').length,
      writesUnknown: writes.filter((h) => h.outcome.kind === 'unknown').length,
      readsLinearizable: work.history.length - writes.length,
      readsPlain: work.plainReads.length,
      failures: work.failures,
    },
    faults,
    recoveryTimeouts: nemesis.recoveryTimeouts,
    viewChanges: await cluster.viewChangesTotal(),
    finalView: String((await Promise.all(cluster.ids.map((id) => cluster.probe(id)))).reduce((m, p) => (p !== undefined && p.view > m ? p.view : m), 0n)),
    receiptsVerified: work.receiptsVerified,
    writeLatencyMs: latencies(writes),
    readsVerified: work.readsVerified,
    lostWrites: missing.size,
    byzantine: cluster.byzantine === undefined ? undefined : `${cluster.byzantine.id} ${cluster.byzantine.strategy}`,
    evidence,
    rejected,
    converged,
    finalValuesAgree,
    plainReadViolations: plainReadViolations.slice(0, 20),
    anomalies: work.anomalies.slice(0, 20),
    linearizability,
    verdict: problems.length === 0 ? 'pass' : 'fail',
    problems,
  };
}
