// `npm run cli -- <command>`: a command-line client for the local cluster
// (like etcdctl). Every answer is verified against the pinned genesis; the CLI
// prints whether it verified and, if not, which rule failed.
//   get <key> [--replica N]     verified read (value, revision, certified height and time); a stale answer
//                               (certified longer ago than --max-staleness-ms, default 30 s) is refused
//                               and exits 1 unless --allow-stale, which prints it marked STALE
//   put <key> <value>           signed write; prints the verified receipt
//   delete <key>                signed delete
//   list [prefix]               live keys under a prefix, each verified by its map proof (stale: as get)
//   history <key>               every change to a key, each verified (certificate, signed request, inclusion)
//   watch [prefix]              follows changes under a prefix from now on, printing each verified change as it commits;
//                               --from <log index> replays from that log index, --from-revision <r> (prefix = one key)
//                               from the change that made that revision of the key
//   verify                      re-verifies the whole chain from genesis and that the log extends the head verified last time
//   status                      each replica's health and latest verified certificate
//   epochs                      the epoch chain from genesis, each link verified, with its change and approvals (= membership list)
//   --as orgN                   sign as organization N's admin (local cluster keys), e.g. to approve a change
//   witness checkpoint|proof|verify   C2SP checkpoints and tlog-proof bundles cosigned by 2f+1 replicas (ops/witness/cli.ts, docs/witness.md)
// The trusted head (the highest certified header verified so far) is kept in <data dir>/cli-trust.json
// between runs, so an answer older than one this CLI already verified is refused as a rollback.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { RegistryClient, RegistryError, type VerifiedChange } from '@vcr/client-sdk';
import { FileStorage } from '@vcr/client-sdk/node';
import { loadGenesis, loadGenesisRegistry } from '../apps/replica/src/genesis';
import { openOrgAdminKey, prepareLocalCluster } from './local-cluster';
import { runEpochListing } from './membership';
import { type LogHead, verifyChain } from './verify-chain';
import { runWitness } from './witness/cli';

const DECIMAL = /^(?:0|[1-9][0-9]{0,18})$/;

/**
 * Where a watch starts: now (the log size of the newest verified header) by
 * default; `--from N` replays from log index N; `--from-revision R` (the
 * prefix names one key) from the verified change that made revision R of it.
 * Undefined for a malformed flag.
 */
async function watchStart(client: RegistryClient, prefix: string, args: readonly string[]): Promise<{ from: bigint; why: string } | undefined> {
  const fi = args.indexOf('--from');
  const ri = args.indexOf('--from-revision');
  if (fi >= 0 && ri >= 0) return undefined;
  if (fi >= 0) {
    const n = args[fi + 1] ?? '';
    return DECIMAL.test(n) ? { from: BigInt(n), why: ' (--from)' } : undefined;
  }
  if (ri >= 0) {
    const r = args[ri + 1] ?? '';
    if (!DECIMAL.test(r) || prefix === '' || prefix.endsWith('/')) return undefined;
    const made = (await client.history(prefix)).find((c) => c.revision === BigInt(r) && c.op === 'put');
    if (made === undefined) throw new RegistryError('absent', `no verified change made revision ${r} of ${JSON.stringify(prefix)}`);
    return { from: made.logIndex, why: ` (revision ${r} of ${prefix}, height ${made.height})` };
  }
  const latest = await client.latest();
  return { from: latest.certificate.header.logSize, why: ` (now: height ${latest.height})` };
}

async function main(): Promise<number> {
  const localCluster = () => prepareLocalCluster({ dataDir: process.env.VCR_DATA_DIR ?? 'data', basePort: Number(process.env.VCR_BASE_PORT ?? 7001) });
  if (process.argv[2] === 'witness') return runWitness(process.argv.slice(3), () => {
    const l = localCluster();
    return { replicas: l.replicas.map((r) => r.url), genesisFile: l.genesisFile };
  });
  const layout = prepareLocalCluster({ dataDir: process.env.VCR_DATA_DIR ?? 'data', basePort: Number(process.env.VCR_BASE_PORT ?? 7001) });
  const seedFile = join(layout.dataDir, 'cli-client.seed');
  if (!existsSync(seedFile)) writeFileSync(seedFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const membership = loadGenesis(layout.genesisFile);
  const [command, ...args] = process.argv.slice(2);
  const ri = args.indexOf('--replica');
  const url = ri >= 0 ? layout.replicas[Number(args[ri + 1]) - 1]?.url : undefined;
  // --as orgN: sign with organization N's admin key from the local cluster's keystore (approvals, governance).
  const ai = args.indexOf('--as');
  const asOrg = ai >= 0 ? /^org([1-9][0-9]?)$/.exec(args[ai + 1] ?? '')?.[1] : undefined;
  if (ai >= 0 && (asOrg === undefined || Number(asOrg) > layout.replicas.length)) return usage();
  // Freshness fails closed: a stale answer is an error unless --allow-stale (docs/client-sdk.md, "Freshness").
  const allowStale = args.includes('--allow-stale');
  const si = args.indexOf('--max-staleness-ms');
  const maxStalenessMs = si >= 0 ? Number(args[si + 1]) : undefined;
  if (maxStalenessMs !== undefined && !(Number.isSafeInteger(maxStalenessMs) && maxStalenessMs >= 0)) return usage();
  const freshness = { allowStale, ...(maxStalenessMs === undefined ? {} : { maxStalenessMs }) };
  // The SDK verifies every answer; --replica pins it to one replica, else it fails over across all.
  const client = await RegistryClient.create({
    membership,
    replicas: url ? [url] : layout.replicas.map((r) => r.url),
    // The newest epoch is learned from f+1 of all the replicas, even when --replica pins the reads.
    epochReplicas: layout.replicas.map((r) => r.url),
    signer: asOrg ? openOrgAdminKey(layout, Number(asOrg)) : createNodeSigner(Buffer.from(readFileSync(seedFile, 'utf8').trim(), 'hex')),
    backend: nodeBackend,
    storage: new FileStorage(join(layout.dataDir, 'cli-trust.json')),
  });
  switch (command) {
    case 'get': {
      const key = args[0];
      if (!key) return usage();
      const r = await client.get(key, freshness);
      const when = `${new Date(Number(r.timestampMs)).toISOString()}${r.stale ? ` (STALE: ${r.ageMs} ms old)` : ''}`;
      if (!r.entry) console.log(`${key}: absent (proof of absence verified) at height ${r.height}, certified ${when}`);
      else console.log(`${key} = ${new TextDecoder().decode(r.entry.value)}\n  revision ${r.entry.revision}, height ${r.height}, certified ${when}, verified (certificate + map proof) from ${r.replica}`);
      return 0;
    }
    case 'put':
    case 'delete': {
      const key = args[0];
      if (!key || (command === 'put' && args[1] === undefined)) return usage();
      const r = command === 'put' ? await client.put(key, args[1] as string) : await client.delete(key);
      console.log(`${command} ${key}: ${JSON.stringify(r.result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n  committed at height ${r.height}, log index ${r.logIndex} (request ${r.requestId}); receipt verified (certificate + inclusion proof) from ${r.replica}`);
      return r.result.ok ? 0 : 1;
    }
    case 'list': {
      const prefix = args[0]?.startsWith('--') ? '' : (args[0] ?? '');
      const r = await client.list(prefix, freshness);
      for (const k of r.keys) console.log(`${k.key} = ${text(k.value)}  (revision ${k.revision}, height ${k.height})`);
      console.log(`${r.keys.length} keys under ${JSON.stringify(prefix)}${r.stale ? ' (STALE)' : ''}; each verified by its map proof (a listing's completeness cannot be proven)`);
      return 0;
    }
    case 'history': {
      const key = args[0];
      if (!key) return usage();
      const changes = await client.history(key);
      for (const c of changes) console.log(describeChange(c));
      console.log(`${changes.length} changes to ${key}; each verified (certificate, client signature, inclusion in the certified log)`);
      return 0;
    }
    case 'watch': {
      const prefix = args[0]?.startsWith('--') ? '' : (args[0] ?? '');
      const start = await watchStart(client, prefix, args);
      if (start === undefined) return usage();
      console.log(`watching ${JSON.stringify(prefix)} from log index ${start.from}${start.why} (Ctrl-C to stop)`);
      const onFailure = (a: { replica: string; code: string; detail: string }) => console.error(`NOT USED: ${a.replica}: ${a.code}: ${a.detail}`);
      for await (const c of client.watch(prefix, { onFailure, fromLogIndex: start.from })) console.log(describeChange(c));
      return 0;
    }
    case 'verify': {
      const target = url ?? (layout.replicas[0]?.url as string);
      const headFile = join(layout.dataDir, 'cli-trusted-head.json');
      const previous = readHead(headFile);
      const verdict = await verifyChain(membership, target, previous, (h) => process.stderr.write(`\rverified up to height ${h}`), loadGenesisRegistry(layout.genesisFile));
      process.stderr.write('\n');
      if (!verdict.ok) return report(`NOT VERIFIED at height ${verdict.height}: ${verdict.reason}`);
      writeFileSync(headFile, JSON.stringify({ size: verdict.head.size.toString(), root: bytesToHex(verdict.head.root) }) + '\n');
      console.log(`${target}: ${verdict.height} blocks verified (certificates, hash chain, batch hashes, re-executed state and log roots); log size ${verdict.head.size}${previous ? `, consistent with the head verified before (size ${previous.size})` : ''}; state root ${verdict.stateRoot}`);
      return 0;
    }
    case 'status': {
      for (const r of layout.replicas) {
        const health = await fetch(`${r.url}/healthz`).then((x) => x.json()).catch(() => undefined);
        const one = await RegistryClient.create({ membership, replicas: [r.url], epochReplicas: layout.replicas.map((x) => x.url), backend: nodeBackend });
        const cert = await one.latest().then((c) => `verified, height ${c.height}, ${c.ageMs} ms old`, (e: unknown) => `NOT VERIFIED (${e instanceof Error ? e.message : String(e)})`);
        console.log(`${r.id} ${r.url}: ${health ? JSON.stringify(health) : 'unreachable'}; latest certificate ${cert}`);
      }
      return 0;
    }
    case 'epochs':
      return runEpochListing(url ?? (layout.replicas[0]?.url as string), membership);
    default:
      return usage();
  }
}

function text(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '(absent)' : new TextDecoder().decode(bytes);
}

function describeChange(c: VerifiedChange): string {
  const what = c.op === 'delete' ? 'deleted' : `= ${text(c.value)}`;
  return `[log ${c.logIndex}, height ${c.height}, ${new Date(Number(c.timestampMs)).toISOString()}] ${c.key} ${what} (revision ${c.revision}) by client ${c.clientId.slice(0, 16)}..., verified`;
}

function readHead(file: string): LogHead | undefined {
  if (!existsSync(file)) return undefined;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { size?: unknown; root?: unknown };
  if (typeof raw.size !== 'string' || !/^[0-9]{1,19}$/.test(raw.size) || typeof raw.root !== 'string' || !/^[0-9a-f]{64}$/.test(raw.root)) throw new Error(`${file} is malformed; delete it to start trusting from genesis again`);
  return { size: BigInt(raw.size), root: hexToBytes(raw.root) };
}

function usage(): number {
  console.error('usage: npm run cli -- get <key> | put <key> <value> | delete <key> | list [prefix] | history <key> | watch [prefix] [--from N | --from-revision R] | verify | status | epochs | witness ...   [--replica N] [--as orgN] [--allow-stale] [--max-staleness-ms MS]');
  return 2;
}

function report(message: string): number {
  console.error(message);
  return 1;
}

main().then((code) => process.exit(code), (error) => {
  if (error instanceof RegistryError && error.code === 'stale') console.error('STALE: every verified answer was certified too long ago; --allow-stale prints it anyway, marked STALE');
  console.error(`NOT VERIFIED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
