// Prometheus text-format metrics, kept as plain counters (no global registry).

export class Metrics {
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

  /** `connectedPeers`: peers with an authenticated outbound link now (the transport's connectedPeers()), for the peer-unreachable alert. */
  render(labels: { replica: string; view: number; height: number; connectedPeers?: number; storage?: { writes: number; syncs: number } }): string {
    const l = `replica="${labels.replica}"`;
    const lines = [
      '# TYPE vcr_blocks_committed_total counter',
      `vcr_blocks_committed_total{${l}} ${this.commits}`,
      '# TYPE vcr_requests_committed_total counter',
      `vcr_requests_committed_total{${l}} ${this.requests}`,
      '# TYPE vcr_view_changes_total counter',
      `vcr_view_changes_total{${l}} ${this.viewChanges}`,
      '# HELP vcr_requests_forwarded_total Client requests taken in here and sent on: to the primary, or to every peer when not committed in time.',
      '# TYPE vcr_requests_forwarded_total counter',
      `vcr_requests_forwarded_total{${l},to="primary"} ${this.forwardedRequests.primary}`,
      `vcr_requests_forwarded_total{${l},to="all"} ${this.forwardedRequests.all}`,
      '# TYPE vcr_equivocation_evidence_total counter',
      `vcr_equivocation_evidence_total{${l}} ${this.evidenceCount}`,
      '# HELP vcr_replica_removed 1 once this replica verified that a membership change removed it: it has no vote and signs nothing (docs/replica.md, "Removal").',
      '# TYPE vcr_replica_removed gauge',
      `vcr_replica_removed{${l}} ${this.removed ? 1 : 0}`,
      '# TYPE vcr_view gauge',
      `vcr_view{${l}} ${labels.view}`,
      '# TYPE vcr_committed_height gauge',
      `vcr_committed_height{${l}} ${labels.height}`,
      ...(labels.connectedPeers === undefined ? [] : ['# TYPE vcr_connected_peers gauge', `vcr_connected_peers{${l}} ${labels.connectedPeers}`]),
      ...(labels.storage === undefined
        ? []
        : [
            '# HELP vcr_store_commits_total SQLite transactions committed (an idle replica commits none).',
            '# TYPE vcr_store_commits_total counter',
            `vcr_store_commits_total{${l}} ${labels.storage.writes}`,
            '# HELP vcr_store_syncs_total fdatasync calls on the WAL, each making every commit before it durable.',
            '# TYPE vcr_store_syncs_total counter',
            `vcr_store_syncs_total{${l}} ${labels.storage.syncs}`,
          ]),
      '# TYPE vcr_rejected_messages_total counter',
      ...[...this.rejectedByReason].map(([reason, n]) => `vcr_rejected_messages_total{${l},reason="${reason}"} ${n}`),
      '# TYPE vcr_peer_errors_total counter',
      ...[...this.peerErrors].map(([peer, n]) => `vcr_peer_errors_total{${l},peer="${peer}"} ${n}`),
      '# TYPE vcr_peer_dropped_total counter',
      ...[...this.peerDrops].map(([peer, n]) => `vcr_peer_dropped_total{${l},peer="${peer}"} ${n}`),
      '# TYPE vcr_peer_intake_dropped_total counter',
      ...[...this.peerIntakeDrops].map(([peer, n]) => `vcr_peer_intake_dropped_total{${l},peer="${peer}"} ${n}`),
      '# TYPE vcr_peer_intake_queued_frames gauge',
      ...[...this.peerIntakeDepth].map(([peer, n]) => `vcr_peer_intake_queued_frames{${l},peer="${peer}"} ${n}`),
    ];
    return lines.join('\n') + '\n';
  }
}
