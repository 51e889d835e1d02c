// The fault suite's long run: `npx tsx ops/nemesis-run.ts --minutes 10 --seed N`.
// Starts 4 replica processes, runs the workload and the process nemesis for the
// given time, checks the history and the replicas, prints the summary table and
// exits 1 if any check failed. --links adds link faults (partition, delay,
// drop) through per-link proxies; --byzantine <strategy> makes r1 run one of
// the simulator's Byzantine strategies (the nemesis then hits only r1). A
// failing seed is rerun with the same --seed.
// See docs/faults.md.

import { parseArgs } from 'node:util';
import { formatSummary, runFaultSchedule, shortSchedule } from '../test/faults/run';
import { STRATEGIES, type StrategyName } from '../packages/consensus/test/sim/adversary';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    clients: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    links: { type: 'boolean', default: false },
    byzantine: { type: 'string' },
  },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const minutes = Number(values.minutes);
const clients = Number(values.clients);
const byzantine = values.byzantine as StrategyName | undefined;
if (!Number.isSafeInteger(seed) || seed < 0 || !(minutes > 0) || !Number.isSafeInteger(clients) || clients < 1 || (byzantine !== undefined && !STRATEGIES.includes(byzantine))) {
  console.error(`usage: npx tsx ops/nemesis-run.ts [--minutes 10] [--seed N] [--clients 8] [--links] [--byzantine <${STRATEGIES.join('|')}>] [--json]`);
  process.exit(2);
}
console.log(`seed ${seed} (rerun: npx tsx ops/nemesis-run.ts --minutes ${minutes} --seed ${seed} --clients ${clients}${values.links ? ' --links' : ''}${byzantine ? ` --byzantine ${byzantine}` : ''})`);
const started = Date.now();
const { summary, logsOf } = await runFaultSchedule({ ...shortSchedule(seed), loadMs: Math.round(minutes * 60_000), clients, keyGroups: 8, linkFaults: values.links, ...(byzantine === undefined ? {} : { byzantine }), log: (line) => console.log(line) });
console.log(formatSummary(summary));
console.log(`wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (values.json) console.log(JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v), 2));
if (summary.verdict !== 'pass') {
  for (const id of ['r1', 'r2', 'r3', 'r4']) console.log(`--- last lines of ${id}\n${logsOf(id).join('\n')}`);
  process.exit(1);
}
