// The nemesis: process faults on a schedule drawn from a seeded RNG. One fault
// at a time and never more than f = 1 replica faulty: a fault is healed (the
// process restarted or resumed) and the replica has caught up with the others
// before the next one starts. The seed fixes the schedule (gaps, kinds,
// victims, durations); real processes still race, so a seed reproduces the
// same faults at the same offsets, not the same interleaving.

import type { Rng } from '../../packages/consensus/test/sim/rng';
import type { FaultCluster } from './cluster';

export type FaultKind = 'kill-restart' | 'pause-resume' | 'kill-restart-primary' | 'pause-resume-primary';
export const FAULT_KINDS: readonly FaultKind[] = ['kill-restart', 'pause-resume', 'kill-restart-primary', 'pause-resume-primary'];

export interface NemesisOptions {
  rng: Rng;
  /** Pause between the end of one fault (replica caught up) and the next, drawn in [min, max]. */
  gapMs: [number, number];
  /** How long the replica stays down or stopped, drawn in [min, max]. */
  faultMs: [number, number];
  /** How long a healed replica may take to reach the others' height before the nemesis gives up waiting (and reports it). */
  recoveryTimeoutMs: number;
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
  while (!stopped) {
    // Draw the whole fault first, so the schedule depends only on the seed.
    const gapMs = opts.rng.int(opts.gapMs[0], opts.gapMs[1]);
    const kind = opts.rng.pick(FAULT_KINDS);
    const drawnVictim = opts.rng.pick(cluster.ids);
    const faultMs = opts.rng.int(opts.faultMs[0], opts.faultMs[1]);
    await sleepUnless(gapMs, opts.until);
    if (stopped) break;
    const victim = kind.endsWith('-primary') ? ((await primaryOf(cluster)) ?? drawnVictim) : drawnVictim;
    const startedAt = opts.now();
    log(`nemesis: ${kind} ${victim} for ${faultMs} ms at ${(startedAt / 1000).toFixed(1)} s`);
    if (kind.startsWith('kill')) await cluster.kill(victim);
    else cluster.pause(victim);
    // The fault lasts its drawn time even if the run ends meanwhile: the healing below always runs.
    await new Promise((r) => setTimeout(r, faultMs));
    if (kind.startsWith('kill')) cluster.restart(victim);
    else cluster.resume(victim);
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
