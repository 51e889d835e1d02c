// What a replica does once it has verified that a membership change removed
// it (docs/protocol.md, "Removed while behind"; docs/replica.md, "Removal").
// The core says so in `epoch-entered` (`removed`), after it committed the
// block that ended the epoch: certified by the membership this replica
// trusted, re-executed to the next membership, which does not list it. From
// then on this replica has no vote, and the record below makes it permanent:
// the double-sign guard refuses every signature once the store holds it
// (keystore/guarded-signer.ts, rule 0), across restarts. It is said once per
// process in the log, and in /healthz, /readyz and vcr_replica_removed.

import type { Metrics } from './metrics';
import type { ReplicaStore } from './storage/replica-store';

/** What the operator chose for a removed replica (config `onRemoval`): keep following as a read-only mirror, or exit 0. */
export type OnRemoval = 'mirror' | 'exit';

export interface RemovalHost {
  store: ReplicaStore;
  metrics: Metrics;
  log: (line: Record<string, unknown>) => void;
}

/**
 * The core verified this replica's removal at `epoch`: record it in the current group (durable
 * with the block that ended the epoch), count it, and log it. Returns false when it was already
 * recorded (a replay of the same blocks after a restart says nothing new).
 */
export function recordRemoval(host: RemovalHost, epoch: bigint): boolean {
  if (host.store.removedAtEpoch() !== undefined) return false;
  host.store.markRemoved(epoch);
  host.metrics.replicaRemoved();
  host.log({ event: 'removed', epoch: epoch.toString(), note: `a membership change removed this replica at epoch ${epoch} (the certified block that ended epoch ${epoch - 1n} verified); it has no vote and signs nothing from here on` });
  return true;
}

/** At startup: a removal recorded before this restart is reported again, once. */
export function reportRecordedRemoval(host: RemovalHost): bigint | undefined {
  const epoch = host.store.removedAtEpoch();
  if (epoch === undefined) return undefined;
  host.metrics.replicaRemoved();
  host.log({ event: 'removed', epoch: epoch.toString(), note: 'recorded before this restart: this replica has no vote and signs nothing' });
  return epoch;
}

/** The removal part of GET /healthz: integers and strings only (the Health schema's rule for added keys). */
export function removalHealth(store: ReplicaStore): { removed: 0 | 1; removedAtEpoch?: string } {
  const epoch = store.removedAtEpoch();
  return epoch === undefined ? { removed: 0 } : { removed: 1, removedAtEpoch: epoch.toString() };
}
