// What one run of the benchmark measured (results.json keeps one per run),
// and the set of runs a report is rendered from.

import type { LocalEvalResult, ViewPropagationResult } from './view-figures';
import type { LoadResult } from './closed-loop';
import type { MirrorReads } from './mirror-reads';
import type { ProfileSummary } from './cpu-profile';
import type { TransferResult } from './state-transfer';
import type { RestartResult } from './restart';
import type { VerifyCost } from './sdk-verify-cost';

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  memoryGiB: number;
  loadAverage: string;
  /** At the end of the run: other work on a shared machine shows here. */
  loadAverageAtEnd: string;
}

export interface BenchSettings {
  seconds: number;
  warmupSeconds: number;
  /** Clients of the unmeasured warm-up level each system runs first (0: none). */
  warmupClients: number;
  warmupLevelSeconds: number;
  levels: number[];
  readClients: number;
  transferEntries: number;
  /** Log entries of the history `--only restart` builds. */
  restartEntries?: number;
  /** Replicas of the cluster `--only restart` builds it on. */
  restartReplicas?: number;
  runs: number;
  only: string | undefined;
}

export interface BenchResults {
  startedAt: string;
  machine: Machine;
  settings: BenchSettings;
  /** The unmeasured warm-up levels, kept to show what ran (not in the tables). */
  vcrWarmupLevel: LoadResult | undefined;
  etcdWarmupLevel: LoadResult | undefined;
  vcrWrites: LoadResult[];
  vcrReads: { one: LoadResult; all: LoadResult; oneRaw: LoadResult } | undefined;
  /** Why etcd is missing, or its version and path. */
  etcdNote: string;
  etcdWrites: LoadResult[] | undefined;
  etcdReads: { one: LoadResult; all: LoadResult } | undefined;
  verifyCost: VerifyCost[];
  transfer: TransferResult | undefined;
  /** Why the state transfer is missing, when it is. */
  transferNote: string;
  memory: { name: string; rssMiB: number }[];
  profile: ProfileSummary | undefined;
  profileNote: string;
  /** Read scale-out: reads across read-only mirrors, and from one replica in the same run. */
  mirrorReads: { oneReplica: LoadResult; oneReplicaRaw: LoadResult; mirrors: MirrorReads } | undefined;
  /** Why the mirror section is missing, when it is. */
  mirrorNote: string;
  /** Local views (issue 19): evaluateFlag from a verified view, and a change reaching a subscribed view. */
  localEval: LocalEvalResult | undefined;
  viewPropagation: ViewPropagationResult | undefined;
  /** `--only restart` (issue 17): start to first verified read of a replica with a long history. */
  restart?: RestartResult;
}

/** Every run's results, and their figure-by-figure median (with the profiles pooled) that the report shows. */
export interface RunSet {
  median: BenchResults;
  runs: BenchResults[];
}
