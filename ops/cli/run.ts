// Runs one parsed command and turns its outcome into an exit code. Loaded by
// ops/cli.ts only once the command line parsed, so --help and usage errors
// answer without loading the SDK.

import { RegistryError } from '@vcr/client-sdk';
import type { ParsedCommand } from './args';
import { exitClassOf } from './classify';
import { CliError, exitCodes, headlineOf } from './exit-codes';
import { toJson } from './format';
import { runGet, runHistory, runList, runWatch } from './reads';
import { type CliContext, createClient, openCluster } from './setup';
import { runStatus } from './status';
import { runWrite } from './writes';

const print = (line: string): void => void process.stdout.write(line + '\n');

async function dispatch(cmd: ParsedCommand, ctx: CliContext): Promise<number> {
  switch (cmd.command) {
    case 'get':
      return runGet(await createClient(ctx), cmd, print);
    case 'list':
      return runList(await createClient(ctx), cmd, print);
    case 'history':
      return runHistory(await createClient(ctx), cmd, print);
    case 'watch':
      return runWatch(await createClient(ctx), cmd, print);
    case 'pending':
      return (await import('./pending')).runPending(await createClient(ctx), cmd, print);
    case 'put':
    case 'delete':
      return runWrite(await createClient(ctx, { write: { as: cmd.as } }), cmd, print);
    case 'status':
      return runStatus(ctx, cmd.output === 'json' ? 'json' : 'table', print);
    case 'verify':
      return (await import('./chain')).runVerify(ctx, cmd, print);
    case 'epochs':
      return (await import('./chain')).runEpochs(ctx);
    default: {
      const unhandled: never = cmd.command;
      return unhandled;
    }
  }
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

export async function runCommand(cmd: ParsedCommand): Promise<number> {
  try {
    return await dispatch(cmd, openCluster(cmd, process.env));
  } catch (error) {
    return reportFailure(error, cmd.output === 'json');
  }
}

/** `vcr witness ...`: its own parser and exit codes (ops/witness/cli.ts); the local cluster's replicas and genesis by default. */
export async function runWitnessCommand(argv: string[]): Promise<number> {
  const { runWitness } = await import('../witness/cli');
  return runWitness(argv, () => {
    const ctx = openCluster({}, process.env);
    return { replicas: ctx.layout.replicas.map((r) => r.url), genesisFile: ctx.layout.genesisFile };
  });
}
