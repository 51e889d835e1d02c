// Admission of inbound peer sockets that have not finished the handshake
// (docs/peer-transport.md section 2, "Admission"). Pure bookkeeping: no
// sockets, no clock; the transport closes what this decides to evict.
//
// Every pending socket waits in one of two pools, chosen by its source
// (source-address.ts): the members' pool for the membership's addresses, the
// strangers' pool for everyone else, so strangers cannot fill the slots a
// member needs, whatever number of addresses they have. Each source has its
// own cap across both pools. A new socket is never refused for room: when its
// source, or then its pool, is full, the oldest pending socket there is
// evicted. A member's handshake takes one round trip, so the oldest pending
// socket is the least likely to be a member's, and an attacker that holds
// sockets open gains nothing by holding them: to keep a member out it must
// open a pool's worth of new sockets within that member's round trip.

import { assert } from '@vcr/proofs';

export type AdmissionEviction = 'source-cap' | 'pool-full';

export interface AdmissionLimits {
  pendingPerSourceMax: number;
  strangerPendingMax: number;
  memberPendingMax: number;
}

/** One pending socket's place; `value` is the caller's handle on it (the socket). */
export interface PendingSlot<T> {
  readonly source: string;
  readonly pool: 'member' | 'stranger';
  readonly value: T;
}

export interface Admitted<T> {
  slot: PendingSlot<T>;
  /** What the caller must close now, with why; already released here. At most two (the source's oldest, then the pool's). */
  evicted: Array<{ value: T; cause: AdmissionEviction }>;
}

export class HandshakeAdmission<T> {
  /** Insertion order is age: the first entry of a set is its oldest. */
  private readonly pools = { member: new Set<PendingSlot<T>>(), stranger: new Set<PendingSlot<T>>() };
  private readonly bySource = new Map<string, Set<PendingSlot<T>>>();

  constructor(private readonly limits: AdmissionLimits) {
    assert(limits.pendingPerSourceMax >= 1 && limits.strangerPendingMax >= 1 && limits.memberPendingMax >= 1, 'admission: every cap must leave room for one socket');
  }

  /** Takes a slot for a new socket from `source` (`member`: a membership address), evicting as needed. */
  admit(source: string, member: boolean, value: T): Admitted<T> {
    const slot: PendingSlot<T> = { source, pool: member ? 'member' : 'stranger', value };
    const evicted: Admitted<T>['evicted'] = [];
    const fromSource = this.bySource.get(source);
    if (fromSource !== undefined && fromSource.size >= this.limits.pendingPerSourceMax) evicted.push(this.evictOldest(fromSource, 'source-cap'));
    const pool = this.pools[slot.pool];
    if (pool.size >= this.poolMax(slot.pool)) evicted.push(this.evictOldest(pool, 'pool-full'));
    pool.add(slot);
    const sourceSlots = this.bySource.get(source) ?? new Set();
    sourceSlots.add(slot);
    this.bySource.set(source, sourceSlots);
    assert(pool.size <= this.poolMax(slot.pool) && sourceSlots.size <= this.limits.pendingPerSourceMax, 'admission: a cap was passed');
    return { slot, evicted };
  }

  /** The socket authenticated or closed; idempotent (an evicted slot is already gone). */
  release(slot: PendingSlot<T>): void {
    this.pools[slot.pool].delete(slot);
    const sourceSlots = this.bySource.get(slot.source);
    if (sourceSlots === undefined) return;
    sourceSlots.delete(slot);
    if (sourceSlots.size === 0) this.bySource.delete(slot.source);
  }

  /** Pending sockets now, per pool (for tests and metrics). */
  pending(): { member: number; stranger: number } {
    return { member: this.pools.member.size, stranger: this.pools.stranger.size };
  }

  private poolMax(pool: PendingSlot<T>['pool']): number {
    return pool === 'member' ? this.limits.memberPendingMax : this.limits.strangerPendingMax;
  }

  private evictOldest(slots: Set<PendingSlot<T>>, cause: AdmissionEviction): { value: T; cause: AdmissionEviction } {
    const oldest = slots.values().next();
    assert(oldest.done !== true, 'admission: evicting from an empty group');
    this.release(oldest.value);
    return { value: oldest.value.value, cause };
  }
}
