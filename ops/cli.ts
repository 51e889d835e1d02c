// `npm run cli -- <command>`: a command-line client for the local cluster
// (like etcdctl). Every answer is verified against the pinned genesis; the CLI
// prints whether it verified and, if not, which rule failed.
//   get <key> [--replica N]     verified read (value, revision, certified height and time)
//   put <key> <value>           signed write; prints the verified receipt
//   delete <key>                signed delete
//   status                      each replica's health and latest verified certificate

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '@vcr/proofs';
import { loadGenesis } from '../apps/replica/src/genesis';
import { prepareLocalCluster } from './local-cluster';
import { RegistryClient } from './registry-client';

async function main(): Promise<number> {
  const layout = prepareLocalCluster({ dataDir: process.env.VCR_DATA_DIR ?? 'data', basePort: Number(process.env.VCR_BASE_PORT ?? 7001) });
  const seedFile = join(layout.dataDir, 'cli-client.seed');
  if (!existsSync(seedFile)) writeFileSync(seedFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const client = new RegistryClient(loadGenesis(layout.genesisFile), layout.replicas.map((r) => r.url), Buffer.from(readFileSync(seedFile, 'utf8').trim(), 'hex'));
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

function usage(): number {
  console.error('usage: npm run cli -- get <key> | put <key> <value> | delete <key> | status   [--replica N]');
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
