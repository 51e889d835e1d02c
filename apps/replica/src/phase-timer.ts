// Time per PBFT phase at this replica (PBFT 4.2), for vcr_pbft_phase_seconds
// and vcr_block_commit_seconds. The core is pure and has no clock, so the
// host times what it sees: a sequence number's pre-prepare arriving (or
// leaving, at the primary), this replica's own COMMIT for it (sent once it is
// prepared: the pre-prepare and 2f matching prepares), and its commit here.
// Observation is a map lookup and a clock read per message; entries are
// dropped at commit, and never more than `entriesMax` are kept (a view change
// can abandon sequence numbers that never commit).

import type { PeerMessage } from '@vcr/consensus';
import type { Metrics } from './metrics';

export class PhaseTimer {
  private readonly prePrepareAtMs = new Map<bigint, number>();
  private readonly preparedAtMs = new Map<bigint, number>();

  constructor(
    private readonly metrics: Metrics,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly entriesMax = 1024,
  ) {}

  /** A verified message from a peer, or one this replica sent (`own`). */
  onMessage(message: PeerMessage, own: boolean): void {
    if (message.type === 'pre-prepare') {
      if (!this.prePrepareAtMs.has(message.seq)) this.remember(this.prePrepareAtMs, message.seq);
    } else if (message.type === 'commit' && own) {
      if (!this.preparedAtMs.has(message.seq)) this.remember(this.preparedAtMs, message.seq);
    }
  }

  /** Sequence number `seq` committed here: observe its phases and forget it and everything below it. */
  onCommitted(seq: bigint): void {
    const now = this.nowMs();
    const started = this.prePrepareAtMs.get(seq);
    const prepared = this.preparedAtMs.get(seq);
    // A block that came by state transfer had no pre-prepare here: nothing to time.
    if (started !== undefined) this.metrics.blockCommitted((now - started) / 1000);
    if (started !== undefined && prepared !== undefined) {
      this.metrics.phase('prepare', (prepared - started) / 1000);
      this.metrics.phase('commit', (now - prepared) / 1000);
    }
    forgetUpTo(this.prePrepareAtMs, seq);
    forgetUpTo(this.preparedAtMs, seq);
  }

  private remember(map: Map<bigint, number>, seq: bigint): void {
    if (map.size >= this.entriesMax) map.clear();
    map.set(seq, this.nowMs());
  }
}

function forgetUpTo(map: Map<bigint, number>, seq: bigint): void {
  for (const key of map.keys()) if (key <= seq) map.delete(key);
}
