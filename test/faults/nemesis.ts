// The nemesis: process faults on a schedule drawn from a seeded RNG. One fault
// at a time and never more than f = 1 replica faulty (with a Byzantine replica
// in the cluster, only it is hit): a fault is healed (the
// process restarted or resumed) and the replica has caught up with the others
// before the next one starts. The seed fixes the schedule (gaps, kinds,
// victims, durations); real processes still race, so a seed reproduces the
// same faults at the same offsets, not the same interleaving.

import type { Rng } from '../../packages/consensus/test/sim/rng';
import type { FaultCluster } from './cluster';

export type ProcessFaultKind = 'kill-restart' | 'pause-resume' | 'kill-restart-primary' | 'pause-resume-primary';
/** Link faults touch only the victim's links, so the victim is the one faulty replica. */
export type LinkFaultKind = 'isolate' | 'cut-outbound' | 'delay-links' | 'drop-outbound';
export type FaultKind = ProcessFaultKind | LinkFaultKind;
export const PROCESS_FAULT_KINDS: readonly ProcessFaultKind[] = ['kill-restart', 'pause-resume', 'kill-restart-primary', 'pause-resume-primary'];
export const LINK_FAULT_KINDS: readonly LinkFaultKind[] = ['isolate', 'cut-outbound', 'delay-links', 'drop-outbound'];

export interface NemesisOptions {
  rng: Rng;
  /** Pause between the end of one fault (replica caught up) and the next, drawn in [min, max]. */
  gapMs: [number, number];
  /** How long the replica stays down or stopped, drawn in [min, max]. */
  faultMs: [number, number];
  /** How long a healed replica may take to reach the others' height before the nemesis gives up waiting (and reports it). */
  recoveryTimeoutMs: number;
  /**
   * The replicas faults may hit (default: all). With a Byzantine replica in the cluster it alone is
   * hit: it is the one faulty replica f = 1 allows, so the honest ones must stay up.
   */
  victims?: readonly string[];
  until: Promise<void>;
  now: () => number;
  log?: (line: string) => void;
}

export interface FaultEvent {
  kind: FaultKind;
  victim: string;
  startedAt: number;
  healedAt: number;
  /** When the victim was back at the others' height; undefined if it did not get there in time. */
  recoveredAt: number | undefined;
}

export interface NemesisRecord {
  events: FaultEvent[];
  recoveryTimeouts: number;
}

const sleepUnless = (ms: number, until: Promise<void>) => Promise.race([new Promise<void>((r) => setTimeout(r, ms)), until]);

async function primaryOf(cluster: FaultCluster): Promise<string | undefined> {
  for (const id of cluster.ids) {
    const p = await cluster.probe(id);
    if (p !== undefined) return cluster.ids[Number(p.view % BigInt(cluster.ids.length))];
  }
  return undefined;
}

/** Waits until `victim` has committed at least what the others had when it came back. */
async function waitCaughtUp(cluster: FaultCluster, victim: string, timeoutMs: number): Promise<boolean> {
  const others = await Promise.all(cluster.ids.filter((id) => id !== victim).map((id) => cluster.probe(id)));
  const target = others.reduce((max, p) => (p !== undefined && p.committed > max ? p.committed : max), 0n);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = await cluster.probe(victim);
    if (p !== undefined && p.committed >= target) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export async function runNemesis(cluster: FaultCluster, opts: NemesisOptions): Promise<NemesisRecord> {
  const record: NemesisRecord = { events: [], recoveryTimeouts: 0 };
  let stopped = false;
  void opts.until.then(() => {
    stopped = true;
  });
  const log = opts.log ?? (() => undefined);
  const kinds: readonly FaultKind[] = cluster.links === undefined ? PROCESS_FAULT_KINDS : [...PROCESS_FAULT_KINDS, ...LINK_FAULT_KINDS];
  while (!stopped) {
    // Draw the whole fault first, so the schedule depends only on the seed.
    const gapMs = opts.rng.int(opts.gapMs[0], opts.gapMs[1]);
    const kind = opts.rng.pick(kinds);
    const eligible = opts.victims ?? cluster.ids;
    const drawnVictim = opts.rng.pick(eligible);
    const faultMs = opts.rng.int(opts.faultMs[0], opts.faultMs[1]);
    const delayMs = opts.rng.int(50, 400);
    const dropProbability = opts.rng.pick([0.2, 0.5, 0.9]);
    await sleepUnless(gapMs, opts.until);
    if (stopped) break;
    const primary = kind.endsWith('-primary') ? await primaryOf(cluster) : undefined;
    const victim = primary !== undefined && eligible.includes(primary) ? primary : drawnVictim;
    const startedAt = opts.now();
    const detail = kind === 'delay-links' ? ` (+${delayMs} ms)` : kind === 'drop-outbound' ? ` (p=${dropProbability})` : '';
    log(`nemesis: ${kind}${detail} ${victim} for ${faultMs} ms at ${(startedAt / 1000).toFixed(1)} s`);
    await inject(cluster, kind, victim, { delayMs, dropProbability });
    // The fault lasts its drawn time even if the run ends meanwhile: the healing below always runs.
    await new Promise((r) => setTimeout(r, faultMs));
    heal(cluster, kind, victim);
    const healedAt = opts.now();
    const recovered = await waitCaughtUp(cluster, victim, opts.recoveryTimeoutMs);
    if (!recovered) {
      record.recoveryTimeouts++;
      log(`nemesis: ${victim} did not catch up within ${opts.recoveryTimeoutMs} ms`);
      // Never a second faulty replica: wait (without bound other than the run) until it has.
      while (!stopped && !(await waitCaughtUp(cluster, victim, 5_000)));
    }
    record.events.push({ kind, victim, startedAt, healedAt, recoveredAt: recovered ? opts.now() : undefined });
  }
  return record;
}

async function inject(cluster: FaultCluster, kind: FaultKind, victim: string, p: { delayMs: number; dropProbability: number }): Promise<void> {
  const others = cluster.ids.filter((id) => id !== victim);
  const links = cluster.links;
  switch (kind) {
    case 'kill-restart':
    case 'kill-restart-primary':
      return cluster.kill(victim);
    case 'pause-resume':
    case 'pause-resume-primary':
      return cluster.pause(victim);
    case 'isolate':
      for (const o of others) links?.setRule(victim, o, { kind: 'partition' }), links?.setRule(o, victim, { kind: 'partition' });
      return;
    case 'cut-outbound':
      for (const o of others) links?.setRule(victim, o, { kind: 'partition' });
      return;
    case 'delay-links':
      for (const o of others) links?.setRule(victim, o, { kind: 'delay', delayMs: p.delayMs }), links?.setRule(o, victim, { kind: 'delay', delayMs: p.delayMs });
      return;
    case 'drop-outbound':
      for (const o of others) links?.setRule(victim, o, { kind: 'drop', probability: p.dropProbability });
      return;
  }
}

function heal(cluster: FaultCluster, kind: FaultKind, victim: string): void {
  if (kind === 'kill-restart' || kind === 'kill-restart-primary') return cluster.restart(victim);
  if (kind === 'pause-resume' || kind === 'pause-resume-primary') return cluster.resume(victim);
  for (const o of cluster.ids.filter((id) => id !== victim)) cluster.links?.setRule(victim, o, undefined), cluster.links?.setRule(o, victim, undefined);
}
