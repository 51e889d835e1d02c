// `vcr` (compiled: npm run build:cli, then dist/cli/vcr.js; in development
// also `npm run cli -- <command>`): a command-line client for a local cluster,
// like etcdctl. Every answer is verified against the pinned genesis; the CLI
// says whether it verified and, if not, which rule failed. The reference,
// with every command, option and exit code, is docs/cli.md; `vcr --help` and
// `vcr <command> --help` print the same from ops/cli/args.ts.
//
// This file parses and dispatches. Parsing: cli/args.ts; running a command and
// its exit code: cli/run.ts and cli/exit-codes.ts; the data folder, genesis
// and client: cli/setup.ts; commands: cli/reads.ts, cli/writes.ts,
// cli/status.ts, cli/chain.ts. Everything past parsing is loaded on demand
// (and verify, epochs, witness and the keystore behind --as only by those
// commands), so help and usage errors answer at Node's own start-up speed.

import { parseCommandLine } from './cli/args';
import { exitCodes } from './cli/exit-codes';

async function main(argv: string[]): Promise<number> {
  const outcome = parseCommandLine(argv);
  switch (outcome.kind) {
    case 'help':
      process.stdout.write(outcome.text + '\n');
      return exitCodes.ok;
    case 'usage':
      console.error(`error: ${outcome.message}\n\n${outcome.help}`);
      return exitCodes.usage;
    case 'witness':
      return (await import('./cli/run')).runWitnessCommand(outcome.argv);
    case 'run':
      return (await import('./cli/run')).runCommand(outcome.parsed);
    default: {
      const unhandled: never = outcome;
      return unhandled;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(exitCodes.internal);
  },
);
