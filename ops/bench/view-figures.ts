// Local views (issue 19): what a service pays to evaluate a flag from its
// verified local view, and how long a flag change takes to reach a subscribed
// view, verified.
// - localEval: `view.evaluateFlag` in batches of 100 calls (one clock read
//   per batch, so the clock does not dominate); the per-call wall time of
//   each batch, p50 and p99 over the batches, and the process CPU time per
//   call over the whole loop. The flag has a rule and a
//   percentage rollout, so an evaluation hashes the unit's bucket.
// - viewPropagation: 100 changes, one at a time, each `RegistryClient.put`
//   (signed write, verified receipt) from another client; the time from the
//   start of the put to the view's `changed` event naming the key (the change
//   proven, and the view's counts checked against the prefix index).

import { randomBytes } from 'node:crypto';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import type { Membership } from '@vcr/proofs';
import { encodeTypedValue, type FlagValue } from '@vcr/registry';
import { percentile } from './stats';

export interface LocalEvalResult {
  p50Us: number;
  p99Us: number;
  calls: number;
  /** Process CPU time (user + system) per call over the whole loop. */
  cpuUsPerCall: number;
  /** Keys in the view. */
  viewKeys: number;
}

export interface ViewPropagationResult {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  changes: number;
}

const PREFIX = 'bench-view/flags/';
// Small batches: on a shared machine a batch that the scheduler interrupts is an outlier, not the median.
const BATCH = 100;

const flag = (serveOn: number): FlagValue => ({
  type: 'flag',
  variants: { on: true, off: false },
  defaultVariant: 'off',
  rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }],
  rollout: { by: 'userId', weights: [{ variant: 'on', weight: serveOn }, { variant: 'off', weight: 10_000 - serveOn }] },
});

export async function measureViewFigures(membership: Membership, urls: string[], opts: { flags: number; evalMs: number; changes: number }): Promise<{ localEval: LocalEvalResult; viewPropagation: ViewPropagationResult }> {
  const writer = await RegistryClient.create({ membership, replicas: urls, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend });
  const seed = Array.from({ length: opts.flags }, (_, i) => ({ op: 'put' as const, key: `${PREFIX}f${i}`, value: encodeTypedValue(flag(5_000)) }));
  for (let i = 0; i < seed.length; i += 64) {
    const r = await writer.transaction(seed.slice(i, i + 64));
    if (!r.result.ok) throw new Error(`view bench: seeding failed (${r.result.error})`);
  }
  const reader = await RegistryClient.create({ membership, replicas: urls, backend: nodeBackend });
  const view = await reader.view(PREFIX, { waitMs: 25_000 });
  try {
    const key = `${PREFIX}f0`;
    const perCallUs: number[] = [];
    let calls = 0;
    const contexts = Array.from({ length: 64 }, (_, i) => ({ userId: `user-${i}`, plan: i % 8 === 0 ? 'internal' : 'free' }));
    const cpuBefore = process.cpuUsage();
    const deadline = performance.now() + opts.evalMs;
    while (performance.now() < deadline || perCallUs.length < 50) {
      const start = performance.now();
      for (let i = 0; i < BATCH; i++) view.evaluateFlag(key, contexts[i & 63] as (typeof contexts)[number]);
      perCallUs.push(((performance.now() - start) * 1000) / BATCH);
      calls += BATCH;
    }
    const cpu = process.cpuUsage(cpuBefore);
    perCallUs.sort((a, b) => a - b);

    const latenciesMs: number[] = [];
    for (let i = 0; i < opts.changes; i++) {
      const changeKey = `${PREFIX}f${i % opts.flags}`;
      const arrived = new Promise<number>((resolve) => {
        const off = view.onEvent((e) => {
          if (e.type === 'changed' && e.keys.includes(changeKey)) {
            off();
            resolve(performance.now());
          }
        });
      });
      const start = performance.now();
      const r = await writer.put(changeKey, encodeTypedValue(flag(i % 10_000)));
      if (!r.result.ok) throw new Error(`view bench: change ${i} refused (${r.result.error})`);
      latenciesMs.push((await arrived) - start);
    }
    latenciesMs.sort((a, b) => a - b);
    return {
      localEval: { p50Us: percentile(perCallUs, 50), p99Us: percentile(perCallUs, 99), calls, cpuUsPerCall: (cpu.user + cpu.system) / calls, viewKeys: view.keys().length },
      viewPropagation: { p50Ms: percentile(latenciesMs, 50), p99Ms: percentile(latenciesMs, 99), maxMs: latenciesMs.at(-1) ?? 0, changes: latenciesMs.length },
    };
  } finally {
    view.close();
  }
}
