// Prometheus metrics (docs/runbook.md "Metrics"), one prom-client Registry per
// node (no global registry: tests run several nodes in one process).
//
// Counters the hot paths bump stay plain numbers and maps here (an increment,
// no label hashing); prom-client reads them when scraped, through each
// family's collect(). Histograms are prom-client's own: observing one is an
// array index and two additions. The names are the ones the alerts, the
// dashboard, the benchmark and the fault suite read: keep them.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the node knows at scrape time: set by the /metrics route just before rendering. */
export interface ScrapeLabels {
  replica: string;
  view: number;
  height: number;
  /** Peers with an authenticated outbound link now (the transport's connectedPeers()), for the peer-unreachable alert. */
  connectedPeers?: number;
  /** Replicas in the current epoch's membership: alerts compare connectedPeers with it, not with a constant. */
  membershipSize?: number;
  storage?: { writes: number; syncs: number };
  /** The SQLite database and its WAL, in bytes. */
  databaseBytes?: number;
  /** The WAL alone, and the state snapshot file, in bytes. */
  walBytes?: number;
  snapshotBytes?: number;
  /** The file system holding the data folder: free for this process, and its size. */
  volume?: { availableBytes: number; sizeBytes: number };
  /** Client requests taken in and not yet committed (the core's pending set). */
  pendingRequests?: number;
  /** What GET /readyz answers: 1 ready, 0 not. */
  ready?: boolean;
}

/** Latency buckets, in seconds: a write commits in a few fsyncs (ms), a slow view change takes seconds. */
const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type PbftPhase = 'prepare' | 'commit';

export class Metrics {
  readonly registry = new Registry();
  private commits = 0;
  private requests = 0;
  private viewChanges = 0;
  private evidenceCount = 0;
  private removed = false;
  private readonly forwardedRequests = { primary: 0, all: 0 };
  private readonly rejectedByReason = new Map<string, number>();
  private readonly peerErrors = new Map<string, number>();
  private readonly peerDrops = new Map<string, number>();
  private readonly peerIntakeDrops = new Map<string, number>();
  private readonly peerIntakeDepth = new Map<string, number>();
  private scrape: ScrapeLabels = { replica: '', view: 0, height: 0 };
  private processMetrics = false;

  private readonly httpSeconds: Histogram<'route' | 'method' | 'code'>;
  private readonly requestCommitSeconds: Histogram;
  private readonly blockCommitSeconds: Histogram;
  private readonly phaseSeconds: Histogram<'phase'>;

  constructor() {
    const r = this.registry;
    const self = this;
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });
    const labelled = (name: string, help: string, label: string, map: Map<string, number>) =>
      new Counter({ name, help, labelNames: [label], registers: [r], collect() { this.reset(); for (const [value, n] of map) this.inc({ [label]: value }, n); } });
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      new Gauge({ name, help, registers: [r], collect() { const v = read(); if (v === undefined) this.reset(); else this.set(v); } });

    counter('vcr_blocks_committed_total', 'Blocks this replica committed (executed and stored), by consensus or state transfer.', () => self.commits);
    counter('vcr_requests_committed_total', 'Client requests in the blocks this replica committed.', () => self.requests);
    counter('vcr_view_changes_total', 'View changes this replica started (its primary was suspected).', () => self.viewChanges);
    new Counter({
      name: 'vcr_requests_forwarded_total',
      help: 'Client requests taken in here and sent on: to the primary, or to every peer when not committed in time.',
      labelNames: ['to'],
      registers: [r],
      collect() {
        this.reset();
        this.inc({ to: 'primary' }, self.forwardedRequests.primary);
        this.inc({ to: 'all' }, self.forwardedRequests.all);
      },
    });
    counter('vcr_equivocation_evidence_total', 'Pairs of conflicting signed messages from one replica (equivocation evidence) recorded.', () => self.evidenceCount);
    gauge('vcr_replica_removed', '1 once this replica verified that a membership change removed it: it has no vote and signs nothing (docs/replica.md, "Removal").', () => (self.removed ? 1 : 0));
    gauge('vcr_view', 'The PBFT view this replica is in.', () => self.scrape.view);
    gauge('vcr_committed_height', 'Height of the last block this replica committed.', () => self.scrape.height);
    gauge('vcr_connected_peers', 'Peers with an authenticated outbound link now.', () => self.scrape.connectedPeers);
    gauge('vcr_membership_size', 'Replicas in the current epoch; quorum is 2f+1 of them (alerts compare vcr_connected_peers with this).', () => self.scrape.membershipSize);
    counter('vcr_store_commits_total', 'SQLite transactions committed (an idle replica commits none).', () => self.scrape.storage?.writes ?? 0);
    counter('vcr_store_syncs_total', 'fdatasync calls on the WAL, each making every commit before it durable.', () => self.scrape.storage?.syncs ?? 0);
    gauge('vcr_database_size_bytes', 'Size of the SQLite database file and its write-ahead log.', () => self.scrape.databaseBytes);
    gauge('vcr_database_wal_bytes', 'Size of the SQLite write-ahead log alone (checkpointed into the database as it grows; growth without bound means checkpoints are held back).', () => self.scrape.walBytes);
    gauge('vcr_snapshot_size_bytes', 'Size of the state snapshot file beside the database (0 before the first snapshot).', () => self.scrape.snapshotBytes);
    gauge('vcr_volume_available_bytes', 'Free space on the file system of the data folder, for this process.', () => self.scrape.volume?.availableBytes);
    gauge('vcr_volume_size_bytes', 'Size of the file system of the data folder.', () => self.scrape.volume?.sizeBytes);
    gauge('vcr_pending_requests', 'Client requests taken in and not yet committed.', () => self.scrape.pendingRequests);
    gauge('vcr_ready', 'What GET /readyz answers: 1 when following a view, connected to a quorum and caught up; 0 otherwise.', () => (self.scrape.ready === undefined ? undefined : self.scrape.ready ? 1 : 0));
    labelled('vcr_rejected_messages_total', 'Messages refused, by reason (bad signature, wrong epoch, malformed, overloaded, ...).', 'reason', this.rejectedByReason);
    labelled('vcr_peer_errors_total', 'Failed connections or requests to a peer.', 'peer', this.peerErrors);
    labelled('vcr_peer_dropped_total', 'Frames to a peer dropped because its link was down or its queue full.', 'peer', this.peerDrops);
    labelled('vcr_peer_intake_dropped_total', 'Inbound frames from a peer dropped because its intake queue was full.', 'peer', this.peerIntakeDrops);
    new Gauge({
      name: 'vcr_peer_intake_queued_frames',
      help: 'Frames from a peer waiting in its intake queue now.',
      labelNames: ['peer'],
      registers: [r],
      collect() {
        this.reset();
        for (const [peer, n] of self.peerIntakeDepth) this.set({ peer }, n);
      },
    });

    this.httpSeconds = new Histogram({
      name: 'vcr_http_request_duration_seconds',
      help: 'HTTP requests served, by route pattern (not the URL), method and status code. Long-polling reads wait up to their timeout.',
      labelNames: ['route', 'method', 'code'],
      buckets: LATENCY_BUCKETS_S,
      registers: [r],
    });
    this.requestCommitSeconds = new Histogram({
      name: 'vcr_request_commit_seconds',
      help: 'From a client write reaching this replica (POST /v1/requests) to its durable, certified receipt.',
      buckets: LATENCY_BUCKETS_S,
      registers: [r],
    });
    this.blockCommitSeconds = new Histogram({
      name: 'vcr_block_commit_seconds',
      help: 'From the pre-prepare of a sequence number reaching this replica to its commit here.',
      buckets: LATENCY_BUCKETS_S,
      registers: [r],
    });
    this.phaseSeconds = new Histogram({
      name: 'vcr_pbft_phase_seconds',
      help: 'Time in each PBFT phase here: prepare (pre-prepare to prepared, when this replica sends its commit), commit (prepared to committed).',
      labelNames: ['phase'],
      buckets: LATENCY_BUCKETS_S,
      registers: [r],
    });
  }

  /** Adds prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC). Once per process: they describe the process, not the node. */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
    // Gauges that end in _total break the exposition format's naming rule (`promtool check metrics`);
    // each is the sum over the by-type series of the same name without _total, which stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
  }

  committed(requests: number): void {
    this.commits++;
    this.requests += requests;
  }
  viewChange(): void {
    this.viewChanges++;
  }
  evidence(): void {
    this.evidenceCount++;
  }
  /** This replica verified that a membership change removed it (removal.ts). */
  replicaRemoved(): void {
    this.removed = true;
  }
  /** A client request taken in here went to the primary, or (not committed in time) to every peer. */
  requestForwarded(to: 'primary' | 'all'): void {
    this.forwardedRequests[to]++;
  }
  rejected(reason: string): void {
    this.rejectedByReason.set(reason, (this.rejectedByReason.get(reason) ?? 0) + 1);
  }
  peerError(peer: string): void {
    this.peerErrors.set(peer, (this.peerErrors.get(peer) ?? 0) + 1);
  }
  peerDropped(peer: string): void {
    this.peerDrops.set(peer, (this.peerDrops.get(peer) ?? 0) + 1);
  }
  /** An inbound frame from `peer` was dropped: its intake queue was full. */
  peerIntakeDropped(peer: string): void {
    this.peerIntakeDrops.set(peer, (this.peerIntakeDrops.get(peer) ?? 0) + 1);
  }
  /** Frames from `peer` waiting in its intake queue now. */
  peerIntakeQueued(peer: string, frames: number): void {
    this.peerIntakeDepth.set(peer, frames);
  }

  /** `route` is the matched pattern (`/v1/keys/:key`), never the raw URL, so the label set stays bounded. */
  httpRequest(route: string, method: string, code: number, seconds: number): void {
    this.httpSeconds.labels(route, method, String(code)).observe(seconds);
  }
  requestCommitted(seconds: number): void {
    this.requestCommitSeconds.observe(seconds);
  }
  blockCommitted(seconds: number): void {
    this.blockCommitSeconds.observe(seconds);
  }
  phase(phase: PbftPhase, seconds: number): void {
    this.phaseSeconds.labels(phase).observe(seconds);
  }

  /**
   * A counter or gauge value by family and one label (`reason="peer-auth"`), read from the plain
   * values the collectors export; 0 when never counted. For tests that poll synchronously.
   */
  valueOf(name: 'vcr_rejected_messages_total' | 'vcr_peer_errors_total' | 'vcr_peer_dropped_total' | 'vcr_peer_intake_dropped_total' | 'vcr_peer_intake_queued_frames', label: string): number {
    const value = /^[a-z]+="(.*)"$/.exec(label)?.[1] ?? label;
    const map = {
      vcr_rejected_messages_total: this.rejectedByReason,
      vcr_peer_errors_total: this.peerErrors,
      vcr_peer_dropped_total: this.peerDrops,
      vcr_peer_intake_dropped_total: this.peerIntakeDrops,
      vcr_peer_intake_queued_frames: this.peerIntakeDepth,
    }[name];
    return map.get(value) ?? 0;
  }

  /** The Prometheus text exposition (version 0.0.4), every series labelled with the replica id. */
  async render(labels: ScrapeLabels): Promise<string> {
    if (labels.replica !== this.scrape.replica) this.registry.setDefaultLabels({ replica: labels.replica });
    this.scrape = labels;
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
