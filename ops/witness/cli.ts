// `npm run cli -- witness <command>` (docs/witness.md):
//   checkpoint [--replicas <url,url,...>] [--genesis <file>] [--size N] [--out <file>]
//       the replicas' cosignatures of one log size, each checked against its certified header and
//       the verified epoch chain; 2f+1 required; writes the C2SP checkpoint note and <out>.vkeys
//   proof --index N [--replicas ...] [--genesis <file>] [--leaf-hex <hex>] [--out <file>]
//       a c2sp.org/tlog-proof bundle: the cosigned checkpoint, the inclusion proof and the leaf (extra)
//   verify --vkeys <file> [--quorum K] (--note <file> | --proof <file> [--leaf-hex <hex>])
//       offline: the note or bundle against the vkeys, as a monitor configured with them would
// Without --replicas/--genesis the local cluster's (data/) are used. Exit: 0 done/VERIFIED, 1 refused, 2 usage.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  bytesToBase64,
  type CheckpointPolicy,
  encodeVkey,
  formatTlogProof,
  maxFaultTolerance,
  parseLogProofJson,
  parseVkey,
  quorumSize,
  tryHexToBytes,
  verifyCheckpointNote,
  verifyTlogProof,
} from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { loadGenesis } from '../../apps/replica/src/genesis';
import { collectCheckpoint } from './collect';
import { errorText, getJson, witnessCliLimits } from './fetch';

export interface WitnessDefaults {
  replicas: string[];
  genesisFile: string;
}

const USAGE = `usage: npm run cli -- witness checkpoint [--replicas <url,...>] [--genesis <file>] [--size N] [--out <file>]
       npm run cli -- witness proof --index N [--replicas <url,...>] [--genesis <file>] [--leaf-hex <hex>] [--out <file>]
       npm run cli -- witness verify --vkeys <file> [--quorum K] (--note <file> | --proof <file> [--leaf-hex <hex>])`;

class UsageError extends Error {}

const DECIMAL = /^(?:0|[1-9][0-9]{0,18})$/;

function decimal(value: string | undefined, flag: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!DECIMAL.test(value)) throw new UsageError(`${flag} must be a decimal number`);
  return BigInt(value);
}

function readBounded(path: string): Uint8Array {
  if (statSync(path).size > witnessCliLimits.fileBytesMax) throw new Error(`${path} is larger than ${witnessCliLimits.fileBytesMax} bytes`);
  return new Uint8Array(readFileSync(path));
}

function endpoints(values: { replicas?: string; genesis?: string }, defaults: () => WitnessDefaults): { replicas: string[]; genesisFile: string } {
  const local = values.replicas === undefined || values.genesis === undefined ? defaults() : undefined;
  const replicas = values.replicas === undefined ? (local?.replicas ?? []) : values.replicas.split(',').map((u) => u.trim().replace(/\/+$/, ''));
  if (replicas.length === 0 || replicas.length > witnessCliLimits.replicasMax || replicas.some((u) => !/^https?:\/\/\S+$/.test(u))) throw new UsageError('--replicas must be 1 to 64 http(s) URLs, comma-separated');
  return { replicas, genesisFile: values.genesis ?? (local?.genesisFile as string) };
}

function write(out: string | undefined, text: string): void {
  if (out === undefined) process.stdout.write(text);
  else writeFileSync(out, text);
}

function vkeysFile(policy: CheckpointPolicy): string {
  const header = `# cosignature/v1 keys of ${policy.origin}, epoch ${policy.epoch}: a checkpoint needs ${policy.quorum} of these ${policy.cosigners.length} (2f+1); docs/witness.md\n# epoch ${policy.epoch} quorum ${policy.quorum}\n`;
  return header + policy.cosigners.map((c) => `${encodeVkey(c.key)}\n`).join('');
}

async function checkpoint(argv: string[], defaults: () => WitnessDefaults): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { replicas: { type: 'string' }, genesis: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' } } });
  const { replicas, genesisFile } = endpoints(values, defaults);
  const collected = await collectCheckpoint(replicas, loadGenesis(genesisFile), decimal(values.size, '--size'));
  for (const why of collected.refused) console.error(`not counted: ${why}`);
  if (!collected.ok) return refuse(collected.reason);
  const c = collected.value;
  write(values.out, c.note);
  if (values.out !== undefined) writeFileSync(`${values.out}.vkeys`, vkeysFile(c.policy));
  console.error(
    `VERIFIED checkpoint ${c.policy.origin} size ${c.size} root ${bytesToBase64(c.root)}: cosigned by ${c.cosigned.map((s) => `${s.replicaId} (block ${s.height}, time ${s.timestamp})`).join(', ')}; ` +
      `${c.cosigned.length} of ${c.policy.cosigners.length}, quorum ${c.policy.quorum} of epoch ${c.policy.epoch}${values.out === undefined ? '' : `; wrote ${values.out} and ${values.out}.vkeys`}`,
  );
  return 0;
}

async function proof(argv: string[], defaults: () => WitnessDefaults): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { index: { type: 'string' }, replicas: { type: 'string' }, genesis: { type: 'string' }, 'leaf-hex': { type: 'string' }, out: { type: 'string' } } });
  const index = decimal(values.index, '--index');
  if (index === undefined) throw new UsageError('proof needs --index');
  const { replicas, genesisFile } = endpoints(values, defaults);
  const collected = await collectCheckpoint(replicas, loadGenesis(genesisFile));
  for (const why of collected.refused) console.error(`not counted: ${why}`);
  if (!collected.ok) return refuse(collected.reason);
  const c = collected.value;
  if (index >= c.size) return refuse(`index ${index} is not in the cosigned checkpoint (size ${c.size})`);
  const given = values['leaf-hex'] === undefined ? undefined : tryHexToBytes(values['leaf-hex']);
  if (values['leaf-hex'] !== undefined && given === undefined) throw new UsageError('--leaf-hex must be hex');
  // Proof and leaf come from any replica: both are checked against the cosigned root below.
  for (const r of replicas) {
    const inc = await getJson(`${r}/v1/log/inclusion?index=${index}&size=${c.size}`);
    const nodes = inc.ok && inc.status === 200 ? parseLogProofJson((inc.body as { proof?: unknown }).proof) : undefined;
    if (nodes === undefined || !nodes.ok) {
      console.error(`not used: ${r}: inclusion proof: ${nodes === undefined ? errorText(inc) : 'malformed'}`);
      continue;
    }
    const leaf = given ?? (await leafFrom(r, index));
    if (leaf === undefined) return refuse(`log entry ${index} changed no key, so no replica serves its leaf: give it with --leaf-hex`);
    const bundle = formatTlogProof({ extra: leaf, index, proof: nodes.value, checkpointNote: c.note });
    const verdict = verifyTlogProof(nodeBackend, bundle, c.policy);
    if (!verdict.ok) {
      console.error(`not used: ${r}: ${verdict.reason}${verdict.detail ? ` (${verdict.detail})` : ''}`);
      continue;
    }
    write(values.out, bundle);
    console.error(`VERIFIED tlog-proof: entry ${index} of ${c.policy.origin} at size ${c.size}, cosigned by ${verdict.cosigners.join(', ')} (quorum ${c.policy.quorum} of epoch ${c.policy.epoch})${values.out === undefined ? '' : `; wrote ${values.out}`}`);
    return 0;
  }
  return refuse(`no replica served an inclusion proof of entry ${index} at size ${c.size} that verifies`);
}

async function leafFrom(replica: string, index: bigint): Promise<Uint8Array | undefined> {
  const got = await getJson(`${replica}/v1/changes?from=${index}&limit=1`);
  const entry = got.ok && got.status === 200 ? (got.body as { entries?: { logIndex?: unknown; leafData?: unknown }[] }).entries?.[0] : undefined;
  if (entry?.logIndex !== index.toString() || typeof entry.leafData !== 'string') return undefined;
  return tryHexToBytes(entry.leafData);
}

/** A policy from a vkeys file (as `checkpoint` writes it): one origin, cosignature/v1 keys, the quorum. */
function policyFromVkeys(path: string, quorumFlag: string | undefined): CheckpointPolicy {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(readBounded(path));
  const lines = text.split('\n').map((l) => l.trim());
  const meta = lines.map((l) => /^# epoch ([0-9]{1,19}) quorum ([0-9]{1,2})$/.exec(l)).find((m) => m !== null);
  const cosigners = lines.filter((l) => l.length > 0 && !l.startsWith('#')).map((l, i) => {
    const v = parseVkey(nodeBackend, l);
    if (!v.ok) throw new Error(`${path}: vkey ${i + 1}: ${v.reason}`);
    if (v.value.type !== 4) throw new Error(`${path}: vkey ${i + 1} is not a cosignature/v1 (type 0x04) key`);
    return { replicaId: `key ${i + 1}`, key: v.value };
  });
  const origin = cosigners[0]?.key.name;
  if (origin === undefined || cosigners.some((c) => c.key.name !== origin)) throw new Error(`${path}: needs at least one vkey, all named after one origin`);
  const n = cosigners.length;
  const quorum = quorumFlag !== undefined ? Number(decimal(quorumFlag, '--quorum')) : meta ? Number(meta[2]) : quorumSize(n, maxFaultTolerance(n));
  if (quorum < 1 || quorum > n) throw new UsageError(`quorum must be 1..${n}`);
  return { origin, epoch: meta ? BigInt(meta[1] as string) : 0n, quorum, cosigners };
}

function verify(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { vkeys: { type: 'string' }, quorum: { type: 'string' }, note: { type: 'string' }, proof: { type: 'string' }, 'leaf-hex': { type: 'string' } } });
  if (values.vkeys === undefined || (values.note === undefined) === (values.proof === undefined)) throw new UsageError('verify needs --vkeys and one of --note, --proof');
  const policy = policyFromVkeys(values.vkeys, values.quorum);
  const now = BigInt(Math.floor(Date.now() / 1000)) + 60n;
  if (values.note !== undefined) {
    const v = verifyCheckpointNote(nodeBackend, readBounded(values.note), policy, { notAfterSeconds: now });
    if (!v.ok) return refuse(`checkpoint note ${values.note}: ${v.reason}${v.detail ? ` (${v.detail})` : ''}`);
    console.log(`VERIFIED checkpoint ${v.checkpoint.origin} size ${v.checkpoint.size} root ${bytesToBase64(v.checkpoint.root)}: ${v.cosigners.length} cosignatures, quorum ${policy.quorum}${v.ignoredLines.length ? `; ignored lines of unknown keys: ${v.ignoredLines.join(', ')}` : ''}`);
    return 0;
  }
  const leaf = values['leaf-hex'] === undefined ? undefined : tryHexToBytes(values['leaf-hex']);
  if (values['leaf-hex'] !== undefined && leaf === undefined) throw new UsageError('--leaf-hex must be hex');
  const v = verifyTlogProof(nodeBackend, readBounded(values.proof as string), policy, { notAfterSeconds: now, ...(leaf === undefined ? {} : { expectedLeafData: leaf }) });
  if (!v.ok) return refuse(`tlog-proof ${values.proof}: ${v.reason}${v.detail ? ` (${v.detail})` : ''}`);
  console.log(`VERIFIED tlog-proof: entry ${v.index} (${v.leafData.length}-byte leaf) is in ${v.checkpoint.origin} at size ${v.checkpoint.size}, ${v.cosigners.length} cosignatures, quorum ${policy.quorum}`);
  return 0;
}

function refuse(message: string): number {
  console.error(`REFUSED: ${message}`);
  return 1;
}

export async function runWitness(argv: string[], defaults: () => WitnessDefaults): Promise<number> {
  const [command, ...rest] = argv;
  // --help anywhere: the usage on stdout, exit 0 (as every vcr command; docs/cli.md).
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case 'checkpoint':
        return await checkpoint(rest, defaults);
      case 'proof':
        return await proof(rest, defaults);
      case 'verify':
        return verify(rest);
      default:
        console.error(USAGE);
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
