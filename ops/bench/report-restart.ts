// The report of `--only restart` (restart.ts): the time from starting a
// replica with a long certified history to its first verified read, with its
// snapshot and without, and what else used the CPUs meanwhile.

import { machineLine } from './report';
import type { RunSet } from './report-types';
import type { RestartTiming } from './restart';
import { runsLine, target } from './report-writes';
import { fmt } from './stats';

const row = (what: string, t: RestartTiming) =>
  `| ${what} | ${fmt(t.seconds, 2)} | ${fmt(t.listeningAfterS, 2)} | ${t.fromSnapshot ?? 'none'} | ${fmt(t.snapshotEntries, 0)} | ${fmt(t.blocksReplayed, 0)} | ${fmt(t.replicaCpuPct, 0)} | ${fmt(t.clusterCpuPct, 0)} | ${fmt(t.generatorCpuPct, 0)} | ${fmt(t.otherCpuPct, 0)} |`;

export function renderRestartOnlyReport(set: RunSet): string {
  const r = set.median.restart;
  const out = [`# Restart benchmark (--only restart), ${set.median.startedAt}`, '', machineLine(set, '4 replicas and the client'), '', runsLine(set), ''];
  if (r === undefined) return [...out, 'Not measured.'].join('\n');
  out.push(
    `r1's certified history, on a cluster of ${set.median.settings.restartReplicas ?? 4} replica(s): ${fmt(r.entries, 0)} log entries in ${fmt(r.blocks, 0)} blocks, written as ${fmt(r.written, 0)} signed puts through the SDK (receipts verified) at ${fmt(r.writesPerSecond, 0)} writes/s; its snapshot file ${fmt(r.snapshotBytes / 2 ** 20, 1)} MiB.`,
    '',
    'Seconds from spawning r1 to its first verified read (a client reading from r1 alone, newest epoch from the three others); "listening" is when its HTTP port opened (after recovery). CPU in % of one core over that window.',
    '',
    '| start | seconds to a verified read | listening after s | snapshot of height | snapshot entries | blocks re-executed | r1 CPU % | other replicas CPU % | client CPU % | other CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|',
    row('with its snapshot', r.withSnapshot),
  );
  if (r.withoutSnapshot !== undefined) out.push(row('snapshot moved away (every block re-executed)', r.withoutSnapshot));
  out.push('', '## Target (issue 17)', '', '| target | measured | |', '|---|---|---|');
  out.push(target('a replica with >= 100,000 log entries serves verified reads within 3 s of being started', `${fmt(r.entries, 0)} entries, ${fmt(r.seconds, 2)} s`, r.entries >= 100_000 ? r.seconds <= 3 : undefined));
  return out.join('\n');
}
