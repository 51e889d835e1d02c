// A cluster of real replica processes for the fault suite: started from
// ops/local-cluster.ts in a throwaway folder, with the process faults the
// nemesis injects (SIGKILL and restart from disk, SIGSTOP and SIGCONT) and the
// probes the final checks need (health, latest header, metrics).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Membership } from '@vcr/proofs';
import { loadGenesis } from '../../apps/replica/src/genesis';
import { LinkProxies } from './link-proxy';
import { type LocalClusterLayout, prepareLocalCluster, type ReplicaEntry, type RunningReplica, spawnReplica, waitHealthy } from '../../ops/local-cluster';
import type { ProcessStrategyName } from './process-strategies';

/** One replica of the cluster runs a Byzantine strategy of the simulator's (byzantine-replica.ts). */
export interface ByzantineReplica {
  id: string;
  strategy: ProcessStrategyName;
  seed: number;
}

export interface ReplicaProbe {
  committed: bigint;
  view: bigint;
}

const LOG_LINES_MAX = 400;

export class FaultCluster {
  readonly layout: LocalClusterLayout;
  readonly membership: Membership;
  private readonly running = new Map<string, RunningReplica>();
  private readonly paused = new Set<string>();
  /** The last lines of each replica's output, for a failing run's report. */
  readonly logs = new Map<string, string[]>();
  /** vcr_view_changes_total of replica processes that were killed (their counters die with them). */
  private viewChangesOfDeadProcesses = 0;

  /** The per-link proxies, when the cluster was started with link faults. */
  links: LinkProxies | undefined;

  private constructor(
    layout: LocalClusterLayout,
    private readonly dir: string,
    readonly byzantine: ByzantineReplica | undefined,
  ) {
    this.layout = layout;
    this.membership = loadGenesis(layout.genesisFile);
  }

  /**
   * With `linkRandom` (the RNG of frame drops), peers reach each other through
   * per-replica proxies on ports basePort + n + i (the genesis addresses), so
   * the nemesis can cut, delay and drop per link and direction; clients and
   * probes still use the replicas' own ports.
   */
  static async start(options: { n?: number; basePort?: number; startTimeoutMs?: number; linkRandom?: () => number; byzantine?: ByzantineReplica } = {}): Promise<FaultCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'vcr-faults-'));
    const n = options.n ?? 4;
    const basePort = options.basePort ?? 20_000 + Math.floor(Math.random() * 1_000) * 8;
    const proxyPort = (i: number) => basePort + n + i;
    const layout = prepareLocalCluster({
      dataDir: dir,
      basePort,
      n,
      fastKdf: true,
      chainId: 'vcr-faults',
      // The workload's keys are under no namespace: the root is opened explicitly (new genesis files close it).
      rootWrite: 'open',
      ...(options.linkRandom === undefined ? {} : { peerAddressOf: (i: number) => `http://127.0.0.1:${proxyPort(i)}` }),
    });
    const cluster = new FaultCluster(layout, dir, options.byzantine);
    if (options.linkRandom !== undefined) {
      const ids = layout.replicas.map((r) => r.id);
      cluster.links = await LinkProxies.start(ids, ids.map((_, i) => proxyPort(i)), ids.map((_, i) => basePort + i), options.linkRandom);
    }
    for (const r of layout.replicas) cluster.spawn(r.id);
    await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, options.startTimeoutMs ?? 60_000)));
    return cluster;
  }

  get ids(): string[] {
    return this.layout.replicas.map((r) => r.id);
  }

  get urls(): string[] {
    return this.layout.replicas.map((r) => r.url);
  }

  /** The replicas that run the honest process: the ones the end checks hold to account. */
  get honestIds(): string[] {
    return this.ids.filter((id) => id !== this.byzantine?.id);
  }

  urlOf(id: string): string {
    const r = this.layout.replicas.find((x) => x.id === id);
    if (r === undefined) throw new Error(`no replica ${id}`);
    return r.url;
  }

  private spawn(id: string): void {
    const b = this.byzantine;
    const entry: ReplicaEntry | undefined = b?.id === id ? { script: fileURLToPath(new URL('./byzantine-replica.ts', import.meta.url)), args: ['--strategy', b.strategy, '--seed', String(b.seed)] } : undefined;
    const r = spawnReplica(
      this.layout,
      id,
      (line) => {
        const list = this.logs.get(id) ?? [];
        list.push(line);
        if (list.length > LOG_LINES_MAX) list.shift();
        this.logs.set(id, list);
      },
      entry,
    );
    this.running.set(id, r);
  }

  /** SIGKILL, then wait for the process to be gone (its port free again). */
  async kill(id: string): Promise<void> {
    this.viewChangesOfDeadProcesses += await this.viewChangesOf(id).catch(() => 0);
    const r = this.running.get(id);
    if (r === undefined || r.process.exitCode !== null || r.process.signalCode !== null) return;
    const exited = new Promise((resolve) => r.process.once('exit', resolve));
    r.process.kill('SIGKILL');
    await exited;
    this.paused.delete(id);
  }

  /** Starts the replica again from its disk (after a kill). */
  restart(id: string): void {
    this.spawn(id);
  }

  pause(id: string): void {
    this.running.get(id)?.process.kill('SIGSTOP');
    this.paused.add(id);
  }

  resume(id: string): void {
    this.running.get(id)?.process.kill('SIGCONT');
    this.paused.delete(id);
  }

  async probe(id: string, timeoutMs = 1_000): Promise<ReplicaProbe | undefined> {
    try {
      const res = await fetch(`${this.urlOf(id)}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      const body = (await res.json()) as { committed?: number | string; view?: number | string };
      return { committed: BigInt(body.committed ?? 0), view: BigInt(body.view ?? 0) };
    } catch {
      return undefined;
    }
  }

  async latestHeader(id: string): Promise<{ height: bigint; stateRoot: string } | undefined> {
    try {
      const res = await fetch(`${this.urlOf(id)}/v1/headers/latest`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json()) as { header: { height: string | number; stateRoot: string } };
      return { height: BigInt(body.header.height), stateRoot: body.header.stateRoot };
    } catch {
      return undefined;
    }
  }

  private async viewChangesOf(id: string): Promise<number> {
    const res = await fetch(`${this.urlOf(id)}/metrics`, { signal: AbortSignal.timeout(1_000) });
    const match = /^vcr_view_changes_total\{[^}]*\} (\d+)$/m.exec(await res.text());
    return match ? Number(match[1]) : 0;
  }

  /** How many pieces of equivocation evidence `id` holds, by accused replica (all pages, up to 50,000 rows; past that it throws). */
  async evidenceBy(id: string): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    let after = '0';
    for (let page = 0; page < 100; page++) {
      const res = await fetch(`${this.urlOf(id)}/v1/audit/evidence?after=${after}&limit=500`, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`GET /v1/audit/evidence: HTTP ${res.status}`);
      const body = (await res.json()) as { evidence: { replica: string }[]; next: string | null };
      for (const e of body.evidence) counts[e.replica] = (counts[e.replica] ?? 0) + 1;
      if (body.next === null) return counts;
      after = body.next;
    }
    throw new Error('more than 50,000 evidence rows');
  }

  /** vcr_rejected_messages_total of `id` by reason (what its core and links refused). */
  async rejectedBy(id: string): Promise<Record<string, number>> {
    const res = await fetch(`${this.urlOf(id)}/metrics`, { signal: AbortSignal.timeout(1_000) });
    const counts: Record<string, number> = {};
    for (const m of (await res.text()).matchAll(/^vcr_rejected_messages_total\{[^}]*reason="([^"]+)"[^}]*\} (\d+)$/gm)) counts[m[1] as string] = Number(m[2]);
    return counts;
  }

  /** Sum of vcr_view_changes_total over the live processes plus the counters of killed ones. */
  async viewChangesTotal(): Promise<number> {
    const live = await Promise.all(this.ids.map((id) => this.viewChangesOf(id).catch(() => 0)));
    return this.viewChangesOfDeadProcesses + live.reduce((a, b) => a + b, 0);
  }

  async waitHealthy(id: string, timeoutMs: number): Promise<void> {
    await waitHealthy(this.urlOf(id), timeoutMs);
  }

  tailLogs(id: string, lines = 30): string[] {
    return (this.logs.get(id) ?? []).slice(-lines);
  }

  async stop(): Promise<void> {
    for (const id of this.paused) this.resume(id);
    await Promise.all(this.ids.map((id) => this.kill(id)));
    await this.links?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
