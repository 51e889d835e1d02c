// `vcr verify` and `vcr epochs`: whole-chain checks. Loaded on demand by the
// CLI (they pull in the registry state machine and the audit code), so the
// everyday commands start without them.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@vcr/proofs';
import { loadGenesisRegistry } from '../../apps/replica/src/genesis';
import { runEpochListing } from '../membership/list';
import { type LogHead, verifyChain } from '../verify-chain';
import type { ParsedCommand } from './args';
import { CliError, exitCodes } from './exit-codes';
import { toJson } from './format';
import type { CliContext } from './setup';

function readHead(file: string): LogHead | undefined {
  if (!existsSync(file)) return undefined;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { size?: unknown; root?: unknown };
  if (typeof raw.size !== 'string' || !/^[0-9]{1,19}$/.test(raw.size) || typeof raw.root !== 'string' || !/^[0-9a-f]{64}$/.test(raw.root)) throw new CliError('setup', `${file} is malformed; delete it to start trusting from genesis again`);
  return { size: BigInt(raw.size), root: hexToBytes(raw.root) };
}

export async function runVerify(ctx: CliContext, cmd: ParsedCommand, print: (line: string) => void): Promise<number> {
  const target = ctx.pinnedUrl ?? (ctx.layout.replicas[0]?.url as string);
  const headFile = join(ctx.layout.dataDir, 'cli-trusted-head.json');
  const previous = readHead(headFile);
  const verdict = await verifyChain(ctx.membership, target, previous, (h) => process.stderr.write(`\rverified up to height ${h}`), loadGenesisRegistry(ctx.layout.genesisFile));
  process.stderr.write('\n');
  if (!verdict.ok) {
    if (cmd.output === 'json') print(toJson({ replica: target, verified: false, height: verdict.height, reason: verdict.reason }));
    console.error(`NOT VERIFIED at height ${verdict.height}: ${verdict.reason}`);
    return exitCodes.verificationFailed;
  }
  writeFileSync(headFile, JSON.stringify({ size: verdict.head.size.toString(), root: bytesToHex(verdict.head.root) }) + '\n');
  if (cmd.output === 'json') print(toJson({ replica: target, verified: true, height: verdict.height, logSize: verdict.head.size, stateRoot: verdict.stateRoot, consistentWithSize: previous?.size ?? null }));
  else print(`${target}: ${verdict.height} blocks verified (certificates, hash chain, batch hashes, re-executed state and log roots); log size ${verdict.head.size}${previous ? `, consistent with the head verified before (size ${previous.size})` : ''}; state root ${verdict.stateRoot}`);
  return exitCodes.ok;
}

export async function runEpochs(ctx: CliContext): Promise<number> {
  // The listing's own codes are the membership tool's (0 verified, 1 not): a link that does not verify is a verification failure here.
  const code = await runEpochListing(ctx.pinnedUrl ?? (ctx.layout.replicas[0]?.url as string), ctx.membership);
  return code === 0 ? exitCodes.ok : exitCodes.verificationFailed;
}
