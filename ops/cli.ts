// `vcr` (compiled: npm run build:cli, then dist/cli/vcr.js; in development
// also `npm run cli -- <command>`): a command-line client for a local cluster,
// like etcdctl. Every answer is verified against the pinned genesis; the CLI
// says whether it verified and, if not, which rule failed. The reference,
// with every command, option and exit code, is docs/cli.md; `vcr --help` and
// `vcr <command> --help` print the same from ops/cli/args.ts.
//
// This file only dispatches. Parsing: cli/args.ts; exit codes: cli/exit-codes.ts;
// the data folder, genesis and client: cli/setup.ts; commands: cli/reads.ts,
// cli/writes.ts, cli/status.ts, cli/chain.ts (loaded on demand, as are
// `witness` and the keystore behind --as, so everyday commands start fast).

import { RegistryError } from '@vcr/client-sdk';
import { type ParsedCommand, parseCommandLine } from './cli/args';
import { CliError, exitClassOf, exitCodes, headlineOf } from './cli/exit-codes';
import { toJson } from './cli/format';
import { runGet, runHistory, runList, runWatch } from './cli/reads';
import { type CliContext, createClient, openCluster } from './cli/setup';
import { runStatus } from './cli/status';
import { runWrite } from './cli/writes';

const print = (line: string): void => void process.stdout.write(line + '\n');

async function run(cmd: ParsedCommand, ctx: CliContext): Promise<number> {
  switch (cmd.command) {
    case 'get':
      return runGet(await createClient(ctx), cmd, print);
    case 'list':
      return runList(await createClient(ctx), cmd, print);
    case 'history':
      return runHistory(await createClient(ctx), cmd, print);
    case 'watch':
      return runWatch(await createClient(ctx), cmd, print);
    case 'put':
    case 'delete':
      return runWrite(await createClient(ctx, { write: { as: cmd.as } }), cmd, print);
    case 'status':
      return runStatus(ctx, cmd.output === 'json' ? 'json' : 'table', print);
    case 'verify':
      return (await import('./cli/chain')).runVerify(ctx, cmd, print);
    case 'epochs':
      return (await import('./cli/chain')).runEpochs(ctx);
    default: {
      const unhandled: never = cmd.command;
      return unhandled;
    }
  }
}

async function runWitnessCommand(argv: string[]): Promise<number> {
  const { runWitness } = await import('./witness/cli');
  return runWitness(argv, () => {
    const ctx = openCluster({ command: 'status', args: {}, output: 'text', allowStale: false }, process.env);
    return { replicas: ctx.layout.replicas.map((r) => r.url), genesisFile: ctx.layout.genesisFile };
  });
}

function reportFailure(error: unknown, json: boolean): number {
  const exitClass = exitClassOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    const code = error instanceof RegistryError ? error.code : undefined;
    const attempts = error instanceof RegistryError ? error.attempts : [];
    console.error(toJson({ error: { class: exitClass, exitCode: exitCodes[exitClass], ...(code ? { code } : {}), message, attempts } }));
  } else if (error instanceof CliError) {
    console.error(`${exitClass === 'usage' ? 'usage' : 'error'}: ${message}`);
  } else {
    console.error(`${headlineOf(exitClass)}\n${message}`);
  }
  return exitCodes[exitClass];
}

async function main(argv: string[]): Promise<number> {
  const outcome = parseCommandLine(argv);
  switch (outcome.kind) {
    case 'help':
      print(outcome.text);
      return exitCodes.ok;
    case 'usage':
      console.error(`error: ${outcome.message}\n\n${outcome.help}`);
      return exitCodes.usage;
    case 'witness':
      return runWitnessCommand(outcome.argv);
    case 'run':
      try {
        return await run(outcome.parsed, openCluster(outcome.parsed, process.env));
      } catch (error) {
        return reportFailure(error, outcome.parsed.output === 'json');
      }
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
