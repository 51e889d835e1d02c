// What every command needs before it asks a replica: the local cluster's
// layout, its pinned genesis and a verifying client. The data folder and the
// genesis must exist: the CLI only reads them, and a missing one is an error
// naming the path (exit 8), never a reason to create a new genesis and keys
// (which then fail every certificate as bad-signature).

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Membership, Signer } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient } from '@vcr/client-sdk';
import { FileStorage, nodeFetch } from '@vcr/client-sdk/node';
import { loadGenesis } from '../../apps/replica/src/genesis';
import { type LocalClusterLayout, localClusterLayout } from '../cluster-layout';
import type { ParsedCommand } from './args';
import { parseBoundedInteger } from './args';
import { CliError } from './exit-codes';

export interface CliContext {
  layout: LocalClusterLayout;
  membership: Membership;
  /** The replica --replica names, if any. */
  pinnedUrl: string | undefined;
}

/** Where the cluster is (the command line's --data-dir, --base-port and --replica, else the environment's defaults). */
export type ClusterOptions = Pick<ParsedCommand, 'dataDir' | 'basePort' | 'replica'>;

export function openCluster(cmd: ClusterOptions, env: NodeJS.ProcessEnv): CliContext {
  // An empty variable counts as unset, as in a shell's ${VAR:-default}.
  const dataDir = cmd.dataDir ?? (env.VCR_DATA_DIR || 'data');
  const portText = cmd.basePort ?? (env.VCR_BASE_PORT || '7001');
  const basePort = parseBoundedInteger(portText, 1, 65_535 - 64);
  if (basePort === undefined) throw new CliError(cmd.basePort === undefined ? 'setup' : 'usage', `base port ${JSON.stringify(portText)} is not a port number`);
  const layout = localClusterLayout({ dataDir, basePort });
  if (!existsSync(layout.dataDir) || !statSync(layout.dataDir).isDirectory()) {
    throw new CliError('setup', `data folder ${layout.dataDir} does not exist (start the cluster with npm start, or name its folder with --data-dir or VCR_DATA_DIR); nothing was created`);
  }
  if (!existsSync(layout.genesisFile)) throw new CliError('setup', `no genesis at ${layout.genesisFile}: the CLI verifies against the cluster's genesis and never creates one`);
  let membership: Membership;
  try {
    membership = loadGenesis(layout.genesisFile);
  } catch (error) {
    throw new CliError('setup', error instanceof Error ? error.message : String(error));
  }
  let pinnedUrl: string | undefined;
  if (cmd.replica !== undefined) {
    const index = parseBoundedInteger(cmd.replica, 1, layout.replicas.length);
    if (index === undefined) throw new CliError('usage', `--replica ${JSON.stringify(cmd.replica)}: a replica number from 1 to ${layout.replicas.length}`);
    pinnedUrl = layout.replicas[index - 1]?.url;
  }
  return { layout, membership, pinnedUrl };
}

/** The CLI's own client key: a seed in the data folder, made on the first write. */
function cliSigner(dataDir: string): Signer {
  const seedFile = join(dataDir, 'cli-client.seed');
  if (!existsSync(seedFile)) writeFileSync(seedFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const seed = readFileSync(seedFile, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(seed)) throw new CliError('setup', `${seedFile} is not a 32-byte hex seed; delete it to make a new client key`);
  return createNodeSigner(Buffer.from(seed, 'hex'));
}

/** --as orgN: the organization's admin key from the local cluster's keystore (loaded only when asked: it pulls in the keystore). */
async function orgSigner(ctx: CliContext, as: string): Promise<Signer> {
  const org = /^org([1-9][0-9]?)$/.exec(as)?.[1];
  if (org === undefined || Number(org) > ctx.layout.replicas.length) throw new CliError('usage', `--as ${JSON.stringify(as)}: an organization org1 to org${ctx.layout.replicas.length}`);
  if (!existsSync(ctx.layout.passphraseFile)) throw new CliError('setup', `no keystore passphrase at ${ctx.layout.passphraseFile}: --as needs the local cluster's keys`);
  const { openOrgAdminKey } = await import('../local-cluster');
  return openOrgAdminKey(ctx.layout, Number(org));
}

export async function createClient(ctx: CliContext, opts: { write?: { as: string | undefined } } = {}): Promise<RegistryClient> {
  const urls = ctx.layout.replicas.map((r) => r.url);
  const signer = opts.write === undefined ? undefined : opts.write.as === undefined ? cliSigner(ctx.layout.dataDir) : await orgSigner(ctx, opts.write.as);
  return RegistryClient.create({
    membership: ctx.membership,
    // The SDK verifies every answer; --replica pins it to one replica, else it fails over across all.
    replicas: ctx.pinnedUrl ? [ctx.pinnedUrl] : urls,
    // The newest epoch is learned from f+1 of all the replicas, even when --replica pins the reads.
    epochReplicas: urls,
    backend: nodeBackend,
    // node:http, answered as a BufferedAnswer (no fetch Response): loading undici is a noticeable part of a short command's time.
    fetch: nodeFetch(),
    // The trusted head (the highest certified header verified so far) persists between runs, so an older answer is a rollback.
    storage: new FileStorage(join(ctx.layout.dataDir, 'cli-trust.json')),
    ...(signer ? { signer } : {}),
  });
}
