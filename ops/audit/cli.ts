// The offline audit command (docs/audit.md):
//   npx tsx ops/audit/cli.ts download --replica <url> --genesis <genesis.json> --out <archive dir>
//   npx tsx ops/audit/cli.ts verify --archive <dir> --genesis <genesis.json> [--heads <file>] [--evidence-dir <dir>]
//   npx tsx ops/audit/cli.ts compare <archive A> <archive B>
// Add --quiet to drop the progress bars. Exit codes: 0 verified, or the
// archives agree (one may stop earlier); 1 a check failed, or the archives
// hold different headers at one height; 2 usage; 3 verified, but
// equivocation was found (evidence files written).

import { join, resolve } from 'node:path';
import { compareArchives } from './compare';
import { downloadArchive } from './download';
import { formatFailure, verifyArchive, type VerifyReport } from './verify';

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function usage(): number {
  console.error(
    [
      'usage: npx tsx ops/audit/cli.ts download --replica <url> --genesis <genesis.json> --out <archive dir> [--quiet]',
      '       npx tsx ops/audit/cli.ts verify --archive <dir> --genesis <genesis.json> [--heads <file>] [--evidence-dir <dir>] [--quiet]',
      '       npx tsx ops/audit/cli.ts compare <archive A> <archive B>',
    ].join('\n'),
  );
  return 2;
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  const progress = args.includes('--quiet') ? undefined : process.stderr;
  switch (command) {
    case 'download': {
      const replicaUrl = option(args, '--replica');
      const outDir = option(args, '--out');
      const genesisFile = option(args, '--genesis');
      if (!replicaUrl || !outDir || !genesisFile) return usage();
      const s = await downloadArchive({ replicaUrl, outDir, genesisFile, progress });
      const f = s.manifest.files;
      console.log(
        `${s.resumed ? 'resumed' : 'downloaded'} ${s.manifest.replica.id} (${s.manifest.replica.url}) into ${outDir}: ` +
          `${f.blocks.lines} blocks (+${s.added.blocks}), ${f.messages.lines} audit messages (+${s.added.messages}), ${f.evidence.lines} evidence (+${s.added.evidence}), ` +
          `${f.signatures.lines} journal entries (+${s.added.signatures}), ${f.heads.lines} log heads (+${s.added.heads}); nothing verified yet: run verify`,
      );
      return 0;
    }
    case 'verify': {
      const archiveDir = option(args, '--archive');
      const genesisFile = option(args, '--genesis');
      if (!archiveDir || !genesisFile) return usage();
      const evidenceDir = option(args, '--evidence-dir') ?? join(resolve(archiveDir), '..', `${resolve(archiveDir).split('/').pop() ?? 'archive'}-evidence`);
      const report = await verifyArchive({ archiveDir, genesisFile, headsFile: option(args, '--heads'), evidenceDir, progress });
      printReport(archiveDir, report);
      if (!report.ok) return 1;
      return report.equivocations.length > 0 ? 3 : 0;
    }
    case 'compare': {
      const [a, b] = args.filter((x) => !x.startsWith('--'));
      if (!a || !b) return usage();
      const c = await compareArchives(a, b);
      switch (c.kind) {
        case 'agree':
          console.log(`AGREE: ${a} and ${b} have the same headers up to height ${c.height}, and both end there`);
          return 0;
        case 'differ':
          console.log(`DIVERGE at height ${c.height}: ${a} has ${c.a}, ${b} has ${c.b} (they agree up to height ${c.height - 1n})`);
          return 1;
        case 'one-stops':
          // A shorter archive is a prefix, not a fork: a replica that was behind, or a download made earlier.
          console.log(`AGREE up to height ${c.height}, where ${c.shorter === 'a' ? a : b} stops; ${c.shorter === 'a' ? b : a} goes on to height ${c.longerHeight}`);
          return 0;
        case 'unreadable':
          console.log(`UNREADABLE: ${c.archive === 'a' ? a : b} blocks.ndjson line ${c.line}: ${c.reason}`);
          return 1;
      }
      return 1;
    }
    default:
      return usage();
  }
}

function printReport(archiveDir: string, r: VerifyReport): void {
  const t = r.timings;
  const seconds = Math.max(t.totalMs / 1000, 1e-3);
  const entries = r.blocks + r.requests;
  const types = Object.entries(r.messagesByType)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  const lines = [
    `archive ${archiveDir} (replica ${r.replica}): ${r.ok ? 'VERIFIED' : `NOT VERIFIED (${r.failures.length} failures)`}`,
    `  signer journal: ${r.journalEntries} entries (hash chain, entry hashes, no conflicting slot, no backwards vote)`,
    `  blocks: heights 1..${r.height} (certificates by a quorum of the pinned membership, prevHash chain, batch hashes, re-executed state and log roots); ${r.requests} requests; log size ${r.logSize}, log root ${r.logRoot}; state root ${r.stateRoot}`,
    `  log heads: ${r.headsChecked} checked for consistency with the rebuilt log`,
    `  audit messages: ${r.messages} (${types || 'none'}); ${r.signaturesVerified} signatures verified (nested ones included)`,
    `  view changes: ${r.viewChanges.length === 0 ? 'none' : r.viewChanges.map((v) => `NEW-VIEW for view ${v.view} from ${v.primary}`).join('; ')}`,
    `  replica's own evidence: ${r.replicaEvidence} verified`,
    `  equivocation: ${r.equivocations.length === 0 ? 'none found' : `${r.equivocations.length} found: ${r.equivocations.map((e) => `${e.replica} ${e.phase} epoch ${e.epoch}${e.view === null ? '' : ` view ${e.view}`} seq ${e.seq}`).join('; ')}`}`,
    ...r.evidenceFiles.map((f) => `    evidence file ${f}`),
    `  rate: ${Math.round(entries / seconds)} entries/s (${Math.round(r.blocks / seconds)} blocks/s + ${Math.round(r.requests / seconds)} requests/s), ${Math.round(r.messages / seconds)} messages/s; ` +
      `${Math.round(t.totalMs)} ms total: certificates ${Math.round(t.certificateMs)} ms, re-execution ${Math.round(t.executionMs)} ms, message signatures ${Math.round(t.messageSignatureMs)} ms, other (reading, parsing, journal, hashing) ${Math.round(t.totalMs - t.certificateMs - t.executionMs - t.messageSignatureMs)} ms`,
  ];
  console.log(lines.join('\n'));
  for (const f of r.failures) console.error(`FAIL ${formatFailure(f)}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`audit: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
