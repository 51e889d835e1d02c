// The proofs benchmark: what a verifier (browser SDK on @noble, replica on
// node:crypto) pays per certificate, per map proof, per log proof, and what
// the replica pays per state update and log append, at realistic sizes.
//
//   npm run bench -w @vcr/crypto-node               (full: maps of 10^4, 10^5, 10^6 keys, log of 10^6 leaves)
//   npx tsx packages/crypto-node/bench/proofs-bench.ts --quick   (10^3 / 10^4, short timings, < 20 s)
//   npx tsx --expose-gc packages/crypto-node/bench/proofs-bench.ts   (adds heap-per-key figures)
//
// Every figure: a warm-up, then several timed batches of a fixed minimum
// duration; the reported rate is the median of the batch rates and the µs/op
// the median of the batch per-op times. Inputs (proofs, claims, entries) are
// built before timing. Results also go to bench-results/proofs.json
// (bench-results/proofs-quick.json with --quick) at the repository root.
//
// The map is built once per size, through a delegating backend: its tree
// bytes do not depend on the backend (checked below on a small map), so both
// backends verify the very same proofs, and updates switch the delegate's
// target to measure each backend's hashing. `runProofsBench` is the
// importable core; the CLI below only prints and writes the file.

import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type Certificate,
  checkEd25519,
  type CryptoBackend,
  equalBytes,
  hashLeaf,
  type InclusionClaim,
  type MapEntry,
  type MembershipClaim,
  type Membership,
  MerkleLog,
  MerkleMap,
  type MerkleMapSnapshot,
  nobleBackend,
  type NonMembershipClaim,
  utf8,
  verifyCertificate,
  verifyInclusion,
  verifyMembership,
  verifyNonMembership,
} from '@vcr/proofs';
import { testCertificate, testCluster, testHeader } from '@vcr/proofs/testing';
import { nodeBackend } from '../src/index';

// ---------------------------------------------------------------------------
// Configuration

export interface ProofsBenchOptions {
  /** 10^3/10^4 sizes and short timings. */
  quick?: boolean;
  /** Override the map sizes (ascending); non-membership is measured at the largest. */
  mapSizes?: number[];
  /** Override the log size. */
  logSize?: number;
  /** Timed batches per figure, and the minimum duration of each. */
  batches?: number;
  batchMs?: number;
  /** Warm-up before the timed batches of each figure. */
  warmupMs?: number;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
}

interface ResolvedConfig {
  quick: boolean;
  mapSizes: number[];
  logSize: number;
  batches: number;
  batchMs: number;
  warmupMs: number;
  /** Distinct prebuilt inputs per figure, cycled through. */
  inputPool: number;
  /** Every batch runs at least this many operations, however long they take. */
  minOpsPerBatch: number;
}

function resolveConfig(opts: ProofsBenchOptions): ResolvedConfig {
  const quick = opts.quick ?? false;
  return {
    quick,
    mapSizes: opts.mapSizes ?? (quick ? [1_000, 10_000] : [10_000, 100_000, 1_000_000]),
    logSize: opts.logSize ?? (quick ? 10_000 : 1_000_000),
    batches: opts.batches ?? (quick ? 5 : 9),
    batchMs: opts.batchMs ?? (quick ? 40 : 100),
    warmupMs: opts.warmupMs ?? (quick ? 50 : 150),
    inputPool: quick ? 256 : 1024,
    minOpsPerBatch: 5,
  };
}

// ---------------------------------------------------------------------------
// Report types

export type BackendName = 'noble' | 'node';

export interface Figure {
  /** Stable id, e.g. "map-verify-membership". */
  id: string;
  label: string;
  /** Keys or leaves in the structure, when it has a size. */
  size: number | null;
  backend: BackendName;
  /** Median of the batch rates. */
  opsPerSec: number;
  /** Median of the batch per-op times, in microseconds. */
  usPerOpMedian: number;
  batchRates: number[];
  /** (max rate - min rate) / median rate over the batches. */
  spread: number;
  totalOps: number;
  timedMs: number;
}

export interface BuildCost {
  what: string;
  size: number;
  backend: string;
  ms: number;
  /** Heap growth per key/leaf after a full GC; only with --expose-gc. */
  heapBytesPerItem?: number;
}

export interface ProofsBenchReport {
  setup: {
    node: string;
    cpuModel: string;
    cpuCount: number;
    platform: string;
    arch: string;
    quick: boolean;
    gcExposed: boolean;
    startedAt: string;
  };
  config: ResolvedConfig;
  approach: string[];
  builds: BuildCost[];
  figures: Figure[];
  runtimeMs: number;
}

// ---------------------------------------------------------------------------
// Timing

const now = (): number => performance.now();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One side of a comparison: `enter` runs before each of its batches (e.g. to switch a delegate). */
interface Runner {
  enter?: () => void;
  /** Runs the i-th operation (i counts up from 0); false means an unexpected result. */
  op: (i: number) => boolean;
}

type Measured = Omit<Figure, 'id' | 'label' | 'size' | 'backend'>;

/**
 * Warms every runner up, then runs `cfg.batches` timed batches of each,
 * interleaved (batch 1 of every runner, then batch 2, ...), so load drift and
 * GC from a busy heap fall on all of them alike. Any unexpected result fails
 * the run, so a broken setup cannot report a fast "verification".
 */
function measureInterleaved(cfg: ResolvedConfig, runners: readonly Runner[]): Measured[] {
  const state = runners.map((runner) => {
    runner.enter?.();
    // Warm-up, one op at a time, which also estimates the cost of one op.
    let i = 0;
    let bad = 0;
    const warmStart = now();
    while (now() - warmStart < cfg.warmupMs || i < 3) if (!runner.op(i++)) bad++;
    if (bad > 0) throw new Error(`benchmark operation returned an unexpected result during warm-up (${bad} of ${i})`);
    const perOpMs = (now() - warmStart) / i;
    // Read the clock about once a millisecond, so reading it costs nothing measurable.
    const chunk = Math.max(1, Math.floor(1 / perOpMs));
    return { runner, i, chunk, batchRates: [] as number[], batchUs: [] as number[], totalOps: 0, timedMs: 0 };
  });
  for (let b = 0; b < cfg.batches; b++) {
    for (const s of state) {
      s.runner.enter?.();
      const op = s.runner.op;
      let bad = 0;
      let ops = 0;
      let elapsed = 0;
      const start = now();
      do {
        for (let k = 0; k < s.chunk; k++) if (!op(s.i++)) bad++;
        ops += s.chunk;
        elapsed = now() - start;
      } while (elapsed < cfg.batchMs || ops < cfg.minOpsPerBatch);
      if (bad > 0) throw new Error(`benchmark operation returned an unexpected result ${bad} times`);
      s.batchRates.push((ops * 1000) / elapsed);
      s.batchUs.push((elapsed * 1000) / ops);
      s.totalOps += ops;
      s.timedMs += elapsed;
    }
  }
  return state.map((s) => {
    const rate = median(s.batchRates);
    return {
      opsPerSec: rate,
      usPerOpMedian: median(s.batchUs),
      batchRates: s.batchRates.map((r) => Math.round(r * 10) / 10),
      spread: (Math.max(...s.batchRates) - Math.min(...s.batchRates)) / rate,
      totalOps: s.totalOps,
      timedMs: Math.round(s.timedMs),
    };
  });
}

// ---------------------------------------------------------------------------
// Inputs

/** mulberry32: a small seeded PRNG, so every run picks the same "random" keys. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keyOf = (i: number): string => `config/service-${i}/setting`;
const valueOf = (i: number): Uint8Array => utf8(`{"v":${i}}`);

function* mapEntries(n: number): Generator<readonly [string, MapEntry]> {
  for (let i = 0; i < n; i++) yield [keyOf(i), { value: valueOf(i), revision: 1n }];
}

/**
 * A backend that forwards to a switchable target. Trees are built once
 * through it; updates switch `target` to measure each backend. Costs one
 * extra call per hash, the same for both backends.
 */
class DelegatingBackend implements CryptoBackend {
  constructor(public target: CryptoBackend) {}
  get name(): string {
    return `delegate(${this.target.name})`;
  }
  sha256(...parts: readonly Uint8Array[]): Uint8Array {
    return this.target.sha256(...parts);
  }
  ed25519VerifyPrechecked(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    return this.target.ed25519VerifyPrechecked(signature, message, publicKey);
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number | undefined {
  if (gc === undefined) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

// ---------------------------------------------------------------------------
// The benchmark

const BACKENDS: readonly { name: BackendName; backend: CryptoBackend }[] = [
  { name: 'noble', backend: nobleBackend },
  { name: 'node', backend: nodeBackend },
];

export function runProofsBench(options: ProofsBenchOptions = {}): ProofsBenchReport {
  const cfg = resolveConfig(options);
  const progress = options.progress ?? (() => {});
  const t0 = now();
  const figures: Figure[] = [];
  const builds: BuildCost[] = [];
  const rand = prng(0x5eed);

  /** Measures one figure for both backends (batches interleaved); `make` builds the runner for one backend. */
  const record = (id: string, label: string, size: number | null, make: (backend: CryptoBackend) => Runner): void => {
    const started = now();
    const results = measureInterleaved(cfg, BACKENDS.map(({ backend }) => make(backend)));
    BACKENDS.forEach(({ name }, k) => figures.push({ id, label, size, backend: name, ...(results[k] as Measured) }));
    const rates = BACKENDS.map(({ name }, k) => `${name} ${fmtRate((results[k] as Measured).opsPerSec)}`).join(', ');
    progress(`  ${label}${size === null ? '' : ` @ ${size}`}: ${rates} ops/s (${((now() - started) / 1000).toFixed(1)} s)`);
  };

  // The tree bytes do not depend on the backend: the premise of building each map once.
  {
    const a = MerkleMap.fromEntries(nobleBackend, mapEntries(1000));
    const b = MerkleMap.fromEntries(nodeBackend, mapEntries(1000));
    if (!equalBytes(a.root, b.root)) throw new Error('noble and node backends built different map roots');
  }

  // ---- Certificates and raw signatures ----
  progress('certificates');
  const cluster = testCluster({ n: 4 });
  const header = testHeader();
  const certificate: Certificate = testCertificate(cluster, header, ['r1', 'r2', 'r3']);
  const membership: Membership = cluster.membership;
  record('certificate-verify', 'certificate verify (n=4, 3 sigs)', null, (backend) => ({ op: () => verifyCertificate(backend, membership, certificate).ok }));

  const signer = cluster.signers.get('r1');
  if (signer === undefined) throw new Error('test cluster has no r1');
  const messages = Array.from({ length: 16 }, (_, i) => utf8(`bench message ${i} `.padEnd(64, '.')));
  const signatures = messages.map((m) => signer.sign(m));
  record('ed25519-verify', 'raw Ed25519 verify (checkEd25519)', null, (backend) => ({
    op: (i) => {
      const k = i & 15;
      return checkEd25519(backend, signatures[k] as Uint8Array, messages[k] as Uint8Array, signer.publicKey) === undefined;
    },
  }));

  // ---- The Merkle map, one size at a time (only one big map alive at once) ----
  const largest = cfg.mapSizes[cfg.mapSizes.length - 1] as number;
  for (const n of cfg.mapSizes) {
    progress(`map of ${n} keys: building`);
    const delegate = new DelegatingBackend(nodeBackend);
    const heapBefore = heapAfterGc();
    const buildStart = now();
    const map = MerkleMap.fromEntries(delegate, mapEntries(n));
    const buildMs = now() - buildStart;
    const heapAfter = heapAfterGc();
    builds.push({
      what: 'map fromEntries',
      size: n,
      backend: 'node (via delegate)',
      ms: Math.round(buildMs),
      ...(heapBefore !== undefined && heapAfter !== undefined ? { heapBytesPerItem: Math.round((heapAfter - heapBefore) / n) } : {}),
    });
    progress(`map of ${n} keys: built in ${(buildMs / 1000).toFixed(1)} s`);
    const base: MerkleMapSnapshot = map.snapshot();
    const root = base.root;

    // Membership proofs for random existing keys, prebuilt.
    const claims: MembershipClaim[] = [];
    for (let j = 0; j < cfg.inputPool; j++) {
      const key = keyOf(Math.floor(rand() * n));
      const entry = base.get(key);
      if (entry === undefined) throw new Error(`map lost ${key}`);
      claims.push({ root, key, entry, proof: base.prove(key) });
    }
    const depth = median(claims.map((c) => c.proof.siblings.length));
    const mask = cfg.inputPool - 1;
    record('map-verify-membership', `map proof verify, membership (median depth ${depth})`, n, (backend) => ({
      op: (i) => verifyMembership(backend, claims[i & mask] as MembershipClaim).ok,
    }));

    if (n === largest) {
      const absent: NonMembershipClaim[] = [];
      for (let j = 0; j < cfg.inputPool; j++) {
        const key = `absent/${j}/${Math.floor(rand() * 1e9)}`;
        absent.push({ root, key, proof: base.prove(key) });
      }
      record('map-verify-non-membership', 'map proof verify, non-membership', n, (backend) => ({
        op: (i) => verifyNonMembership(backend, absent[i & mask] as NonMembershipClaim).ok,
      }));
    }

    // Updates, each applied to the fixed n-key version (snapshot.with is what
    // MerkleMap.set runs), so the map stays at n keys however many run.
    const updates: [string, MapEntry][] = [];
    const inserts: [string, MapEntry][] = [];
    for (let j = 0; j < cfg.inputPool; j++) {
      const k = Math.floor(rand() * n);
      updates.push([keyOf(k), { value: valueOf(k + 1), revision: 2n }]);
      inserts.push([`config/new-${j}/setting`, { value: valueOf(j), revision: 1n }]);
    }
    const updateOp = (list: [string, MapEntry][], expectedSize: number) => (backend: CryptoBackend): Runner => ({
      enter: () => {
        delegate.target = backend;
      },
      op: (i) => {
        const [key, entry] = list[i & mask] as [string, MapEntry];
        return base.with(key, entry).size === expectedSize;
      },
    });
    record('map-update-existing', 'map update, existing key (new revision)', n, updateOp(updates, n));
    record('map-insert-new', 'map update, insert new key', n, updateOp(inserts, n + 1));
    delegate.target = nodeBackend;
  }

  // ---- The Merkle log, built once by appends through the delegate ----
  {
    const L = cfg.logSize;
    const leafData = Array.from({ length: cfg.inputPool }, (_, j) => utf8(`entry ${j} `.padEnd(96, '#')));
    const mask = cfg.inputPool - 1;
    progress(`log of ${L} leaves: building`);
    const delegate = new DelegatingBackend(nodeBackend);
    const heapBefore = heapAfterGc();
    const buildStart = now();
    const log = new MerkleLog(delegate);
    for (let j = 0; j < L; j++) log.append(leafData[j & mask] as Uint8Array);
    const buildMs = now() - buildStart;
    const heapAfter = heapAfterGc();
    builds.push({
      what: 'log appends',
      size: L,
      backend: 'node (via delegate)',
      ms: Math.round(buildMs),
      ...(heapBefore !== undefined && heapAfter !== undefined ? { heapBytesPerItem: Math.round((heapAfter - heapBefore) / L) } : {}),
    });
    progress(`log of ${L} leaves: built in ${(buildMs / 1000).toFixed(1)} s`);
    const size = BigInt(L);
    const root = log.root();
    const inclusion: InclusionClaim[] = [];
    for (let j = 0; j < cfg.inputPool; j++) {
      const index = Math.floor(rand() * L);
      inclusion.push({
        leafHash: hashLeaf(nodeBackend, leafData[index & mask] as Uint8Array),
        index: BigInt(index),
        size,
        proof: log.inclusionProof(BigInt(index), size),
        root,
      });
    }
    // Inclusion first, while the log is exactly L leaves; then appends grow it slightly (by well under 1%).
    record('log-verify-inclusion', 'log inclusion proof verify', L, (backend) => ({
      op: (i) => verifyInclusion(backend, inclusion[i & mask] as InclusionClaim).ok,
    }));
    record('log-append', 'log append', L, (backend) => ({
      enter: () => {
        delegate.target = backend;
      },
      op: (i) => log.append(leafData[i & mask] as Uint8Array) >= size,
    }));
  }

  return {
    setup: {
      node: process.version,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpuCount: cpus().length,
      platform: process.platform,
      arch: process.arch,
      quick: cfg.quick,
      gcExposed: gc !== undefined,
      startedAt: new Date(Date.now() - (now() - t0)).toISOString(),
    },
    config: cfg,
    approach: [
      'Each map size is built once (MerkleMap.fromEntries through a delegating backend, target node); its bytes are backend-independent (roots checked equal on a 1000-key map).',
      'Map proof verification: both backends verify the same prebuilt proofs, calling nobleBackend / nodeBackend directly.',
      'Map updates: snapshot.with(key, entry) on the fixed n-key version, with the delegate switched to each backend (one extra call per hash for both).',
      'Merkle log: built once by appends (delegate, target node); prebuilt inclusion proofs at the fixed size verified directly with each backend, then appends continue on the same log with the delegate switched.',
      `Each figure: ${cfg.warmupMs} ms warm-up per backend, then ${cfg.batches} batches of >= ${cfg.batchMs} ms per backend, noble and node batches interleaved; median of batch rates and of batch per-op times.`,
    ],
    builds,
    figures,
    runtimeMs: Math.round(now() - t0),
  };
}

// ---------------------------------------------------------------------------
// Formatting

function fmtRate(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}

function fmtUs(us: number): string {
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

function fmtSize(n: number | null): string {
  if (n === null) return '-';
  const exp = Math.log10(n);
  return Number.isInteger(exp) ? `10^${exp}` : String(n);
}

function alignTable(rows: string[][], rightAligned: (col: number) => boolean): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (rightAligned(c) ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join('  ').trimEnd());
}

/** The plain-text report: setup line, results table, build costs. */
export function formatProofsBench(report: ProofsBenchReport): string {
  const s = report.setup;
  const lines: string[] = [];
  lines.push(`proofs bench${s.quick ? ' (--quick)' : ''}: node ${s.node}, ${s.cpuModel}, ${s.cpuCount} CPUs, ${s.platform}/${s.arch}`);
  lines.push('');
  const header = ['operation', 'size', 'noble ops/s', 'µs/op', '±', 'node ops/s', 'µs/op', '±', 'node/noble'];
  const rows: string[][] = [header];
  const keyOfFigure = (f: Figure) => `${f.id}@${f.size}`;
  const seen = new Set<string>();
  for (const f of report.figures) {
    const k = keyOfFigure(f);
    if (seen.has(k)) continue;
    seen.add(k);
    const noble = report.figures.find((g) => keyOfFigure(g) === k && g.backend === 'noble');
    const node = report.figures.find((g) => keyOfFigure(g) === k && g.backend === 'node');
    const cells = (g: Figure | undefined) => (g === undefined ? ['-', '-', '-'] : [fmtRate(g.opsPerSec), fmtUs(g.usPerOpMedian), `${Math.round(g.spread * 100)}%`]);
    const ratio = noble !== undefined && node !== undefined ? `${(node.opsPerSec / noble.opsPerSec).toFixed(2)}x` : '-';
    rows.push([f.label, fmtSize(f.size), ...cells(noble), ...cells(node), ratio]);
  }
  lines.push(...alignTable(rows, (c) => c >= 1));
  lines.push('');
  lines.push('± = (max - min) / median of the batch rates. Build costs (not timed loops):');
  const buildRows = [['build', 'size', 'backend', 'time', 'heap/item']];
  for (const b of report.builds) {
    buildRows.push([b.what, fmtSize(b.size), b.backend, `${(b.ms / 1000).toFixed(2)} s`, b.heapBytesPerItem === undefined ? '-' : `${b.heapBytesPerItem} B`]);
  }
  lines.push(...alignTable(buildRows, (c) => c === 1 || c >= 3).map((l) => `  ${l}`));
  lines.push('');
  lines.push('Method:');
  for (const a of report.approach) lines.push(`  - ${a}`);
  if (!s.gcExposed) lines.push('  - Heap per item omitted (run with --expose-gc to get it).');
  lines.push(`Total runtime ${(report.runtimeMs / 1000).toFixed(1)} s.`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// CLI

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === pathToFileURL(realpathSync(fileURLToPath(import.meta.url))).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const quick = process.argv.includes('--quick');
  const report = runProofsBench({ quick, progress: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${formatProofsBench(report)}\n`);
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const outFile = join(repoRoot, 'bench-results', quick ? 'proofs-quick.json' : 'proofs.json');
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`Results written to ${outFile}\n`);
}
