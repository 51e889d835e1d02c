// `npm run cli -- <command>`: a command-line client for the local cluster
// (like etcdctl). Every answer is verified against the pinned genesis; the CLI
// prints whether it verified and, if not, which rule failed.
//   get <key> [--replica N]     verified read (value, revision, certified height and time)
//   put <key> <value>           signed write; prints the verified receipt
//   delete <key>                signed delete
//   list [prefix]               live keys under a prefix, each verified by its map proof
//   history <key>               every change to a key, each verified (certificate, signed request, inclusion)
//   watch [prefix]              follows changes under a prefix, printing each verified change as it commits
//   verify                      re-verifies the whole chain from genesis and that the log extends the head verified last time
//   status                      each replica's health and latest verified certificate

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes, utf8 } from '@vcr/proofs';
import { loadGenesis } from '../apps/replica/src/genesis';
import { prepareLocalCluster } from './local-cluster';
import { RegistryClient } from './registry-client';
import type { VerifiedChange } from './verify-change';
import { type LogHead, verifyChain } from './verify-chain';

async function main(): Promise<number> {
  const layout = prepareLocalCluster({ dataDir: process.env.VCR_DATA_DIR ?? 'data', basePort: Number(process.env.VCR_BASE_PORT ?? 7001) });
  const seedFile = join(layout.dataDir, 'cli-client.seed');
  if (!existsSync(seedFile)) writeFileSync(seedFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const membership = loadGenesis(layout.genesisFile);
  const client = new RegistryClient(membership, layout.replicas.map((r) => r.url), Buffer.from(readFileSync(seedFile, 'utf8').trim(), 'hex'));
  const [command, ...args] = process.argv.slice(2);
  const ri = args.indexOf('--replica');
  const url = ri >= 0 ? layout.replicas[Number(args[ri + 1]) - 1]?.url : undefined;
  switch (command) {
    case 'get': {
      const key = args[0];
      if (!key) return usage();
      const r = await client.read(key, url);
      if (!r.ok) return report(`NOT VERIFIED: ${r.reason}`);
      const when = new Date(Number(r.value.timestampMs)).toISOString();
      if (!r.value.entry) console.log(`${key}: absent (proof of absence verified) at height ${r.value.height}, certified ${when}`);
      else console.log(`${key} = ${new TextDecoder().decode(r.value.entry.value)}\n  revision ${r.value.entry.revision}, height ${r.value.height}, certified ${when}, verified (certificate + map proof) from ${r.value.replica}`);
      return 0;
    }
    case 'put':
    case 'delete': {
      const key = args[0];
      if (!key || (command === 'put' && args[1] === undefined)) return usage();
      const op = command === 'put' ? { op: 'put' as const, key, value: utf8(args[1] as string) } : { op: 'delete' as const, key };
      const r = await client.write(op, url);
      if (!r.ok) return report(`NOT VERIFIED: ${r.reason}`);
      console.log(`${command} ${key}: ${JSON.stringify(r.value.result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n  committed at height ${r.value.height}, log index ${r.value.logIndex}; receipt verified (certificate + inclusion proof)`);
      return r.value.result.ok ? 0 : 1;
    }
    case 'list': {
      const prefix = args[0]?.startsWith('--') ? '' : (args[0] ?? '');
      const r = await client.list(prefix, url);
      if (!r.ok) return report(`NOT VERIFIED: ${r.reason}`);
      for (const k of r.value.keys) console.log(`${k.key} = ${text(k.value)}  (revision ${k.revision})`);
      console.log(`${r.value.keys.length} keys under ${JSON.stringify(prefix)} at height ${r.value.height}; each verified by its map proof (a listing's completeness cannot be proven)`);
      return 0;
    }
    case 'history': {
      const key = args[0];
      if (!key) return usage();
      let from: bigint | undefined = 0n;
      let count = 0;
      while (from !== undefined) {
        const r = await client.history(key, from, url);
        if (!r.ok) return report(`NOT VERIFIED: ${r.reason}`);
        for (const c of r.value.changes) console.log(describeChange(c));
        count += r.value.changes.length;
        from = r.value.next;
      }
      console.log(`${count} changes to ${key}; each verified (certificate, client signature, inclusion in the certified log)`);
      return 0;
    }
    case 'watch': {
      const prefix = args[0]?.startsWith('--') ? '' : (args[0] ?? '');
      let from = 0n;
      console.log(`watching ${JSON.stringify(prefix)} from log index 0 (Ctrl-C to stop)`);
      for (;;) {
        const r = await client.changes(prefix, from, 25_000, url);
        if (!r.ok) {
          console.error(`NOT VERIFIED: ${r.reason}; retrying in 2 s`);
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          continue;
        }
        for (const c of r.value.changes) console.log(describeChange(c));
        from = r.value.next;
      }
    }
    case 'verify': {
      const target = url ?? (layout.replicas[0]?.url as string);
      const headFile = join(layout.dataDir, 'cli-trusted-head.json');
      const previous = readHead(headFile);
      const verdict = await verifyChain(membership, target, previous, (h) => process.stderr.write(`\rverified up to height ${h}`));
      process.stderr.write('\n');
      if (!verdict.ok) return report(`NOT VERIFIED at height ${verdict.height}: ${verdict.reason}`);
      writeFileSync(headFile, JSON.stringify({ size: verdict.head.size.toString(), root: bytesToHex(verdict.head.root) }) + '\n');
      console.log(`${target}: ${verdict.height} blocks verified (certificates, hash chain, batch hashes, re-executed state and log roots); log size ${verdict.head.size}${previous ? `, consistent with the head verified before (size ${previous.size})` : ''}; state root ${verdict.stateRoot}`);
      return 0;
    }
    case 'status': {
      for (const r of layout.replicas) {
        const health = await fetch(`${r.url}/healthz`).then((x) => x.json()).catch(() => undefined);
        const cert = await client.latestCertificate(r.url).catch((e: unknown) => ({ ok: false as const, reason: String(e) }));
        console.log(`${r.id} ${r.url}: ${health ? JSON.stringify(health) : 'unreachable'}; latest certificate ${cert.ok ? `verified, height ${cert.value.header.height}` : `NOT VERIFIED (${cert.reason})`}`);
      }
      return 0;
    }
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
  console.error('usage: npm run cli -- get <key> | put <key> <value> | delete <key> | list [prefix] | history <key> | watch [prefix] | verify | status   [--replica N]');
  return 2;
}

function report(message: string): number {
  console.error(message);
  return 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
