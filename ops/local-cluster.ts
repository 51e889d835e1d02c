// The local cluster: keys, genesis and one config per replica under a data
// folder (created once, reused on every start), and the replica processes.
// Used by `npm start` and by the multi-process tests.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex, type Membership, membershipToJson } from '@vcr/proofs';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { type LocalClusterLayout, localClusterLayout } from './cluster-layout';

export { type LocalClusterLayout, localClusterLayout } from './cluster-layout';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface LocalClusterOptions {
  dataDir: string;
  basePort: number;
  n?: number;
  chainId?: string;
  /** Lower scrypt cost for throwaway test clusters only. */
  fastKdf?: boolean;
  /**
   * The address the genesis gives for replica i (what peers dial), when it is
   * not the replica's own URL: the fault suite points it at a proxy it controls.
   */
  peerAddressOf?: (index: number) => string;
  /**
   * The genesis registry policy's `rootWrite` (docs/registry.md): 'closed' by default, so a key
   * under no namespace is refused (the demo's keys are all under namespaces). Test clusters that
   * write keys outside any namespace say 'open'.
   */
  rootWrite?: 'open' | 'closed';
  /** The genesis policy's prefix index depth (docs/merkle-map.md section 8); local views need it. Default 4. */
  prefixIndexDepth?: number;
}

/** Creates keys, genesis and configs if the data folder has none yet; returns the layout either way. */
export function prepareLocalCluster(opts: LocalClusterOptions): LocalClusterLayout {
  const n = opts.n ?? 4;
  const layout = localClusterLayout({ dataDir: opts.dataDir, basePort: opts.basePort, n });
  const { dataDir, passphraseFile, genesisFile, replicas } = layout;
  if (existsSync(genesisFile)) return layout;

  mkdirSync(dataDir, { recursive: true });
  // A development passphrase, kept beside the data with owner-only permissions; production sets its own.
  const passphrase = randomBytes(24).toString('base64url');
  writeFileSync(passphraseFile, passphrase + '\n', { mode: 0o600 });
  const members: Membership['replicas'] = [];
  const admins: Membership['governance']['admins'] = [];
  for (const [i, r] of replicas.entries()) {
    const dir = join(dataDir, r.id);
    mkdirSync(join(dir, 'keys'), { recursive: true });
    const store = replicaKeyStore(dir, passphrase, opts.fastKdf);
    const key = store.generate('replica');
    const admin = store.generate('admin');
    members.push({ id: r.id, organization: `org${i + 1}`, publicKey: key.publicKey, address: opts.peerAddressOf?.(i) ?? r.url });
    admins.push({ organization: `org${i + 1}`, publicKey: admin.publicKey });
    writeReplicaConfig(r.configFile, r.id, opts.basePort + i);
  }
  const membership: Membership = { chainId: opts.chainId ?? 'vcr-local', epoch: 0n, f: Math.floor((n - 1) / 3), replicas: members, governance: { threshold: Math.min(3, n), admins } };
  // The registry policy (docs/registry.md): the organizations' admin keys may create organizations and
  // namespaces; keys outside any namespace are refused unless the caller opens the root.
  const registry = { rootWrite: opts.rootWrite ?? 'closed', admins: admins.map((a) => bytesToHex(a.publicKey)), prefixIndexDepth: opts.prefixIndexDepth ?? 4 };
  writeFileSync(genesisFile, JSON.stringify({ membership: membershipToJson(membership), registry }, null, 2) + '\n');
  return layout;
}

/**
 * A replica that is not in the genesis yet (docs/runbook.md, "A new organization joins"): its own
 * keystore with a fresh key, and a config beside the others. It starts with no vote and follows
 * the chain by state transfer until a membership change lists its public key. Returns the layout
 * with it, and the public key to put in the change. Idempotent: an existing one is reused.
 */
export function prepareJoiningReplica(layout: LocalClusterLayout, id: string, port: number, opts: { fastKdf?: boolean } = {}): { layout: LocalClusterLayout; publicKey: Uint8Array; url: string } {
  const url = `http://127.0.0.1:${port}`;
  const dir = join(layout.dataDir, id);
  const configFile = join(dir, 'config.json');
  mkdirSync(join(dir, 'keys'), { recursive: true });
  const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
  const store = replicaKeyStore(dir, passphrase, opts.fastKdf);
  const key = store.list().includes('replica') ? store.open('replica') : store.generate('replica');
  if (!existsSync(configFile)) writeReplicaConfig(configFile, id, port);
  const replicas = [...layout.replicas.filter((r) => r.id !== id), { id, url, configFile }];
  return { layout: { ...layout, replicas }, publicKey: key.publicKey, url };
}

/** A new key in a replica's own keystore (key rotation: generated before the change is approved). */
export function generateReplicaKey(layout: LocalClusterLayout, id: string, label: string, opts: { fastKdf?: boolean } = {}): Uint8Array {
  const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
  return replicaKeyStore(join(layout.dataDir, id), passphrase, opts.fastKdf).generate(label).publicKey;
}

/** A replica's keystore under `<replicaDir>/keys`; `fastKdf` lowers the scrypt cost for throwaway test clusters only. */
function replicaKeyStore(replicaDir: string, passphrase: string, fastKdf: boolean | undefined): EncryptedFileKeyStore {
  return new EncryptedFileKeyStore(join(replicaDir, 'keys'), passphrase, fastKdf ? { scryptCost: { N: 2 ** 12, r: 8, p: 1 } } : {});
}

/** A replica's config: data beside it, the shared genesis one folder up, its key labelled `replica`. */
function writeReplicaConfig(configFile: string, replicaId: string, port: number): void {
  const config = { replicaId, host: '127.0.0.1', port, dataDir: '.', genesisFile: '../genesis.json', keystore: { kind: 'encrypted-file', dir: 'keys', label: 'replica' } };
  writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
}

/**
 * A read-only mirror (docs/mirror.md) beside the replicas: a config with a `mirror` section and no
 * keys, following `upstream` (replica or mirror URLs). spawnReplica starts it like a replica
 * (main.ts sees the mirror section). The config is rewritten each time, so `upstream` can change.
 */
export function prepareMirror(layout: LocalClusterLayout, id: string, port: number, upstream: readonly string[]): { layout: LocalClusterLayout; url: string } {
  const url = `http://127.0.0.1:${port}`;
  const dir = join(layout.dataDir, id);
  const configFile = join(dir, 'config.json');
  mkdirSync(dir, { recursive: true });
  const config = { replicaId: id, host: '127.0.0.1', port, dataDir: '.', genesisFile: '../genesis.json', mirror: { upstream } };
  writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
  const replicas = [...layout.replicas.filter((r) => r.id !== id), { id, url, configFile }];
  return { layout: { ...layout, replicas }, url };
}

export interface RunningReplica {
  id: string;
  url: string;
  process: ChildProcess;
}

/** Starts one replica as its own Node process (tsx runs the TypeScript source directly). */
/** Another entry point than the replica's own (the fault suite's Byzantine replica), with its extra arguments. */
export interface ReplicaEntry {
  script: string;
  args: string[];
}

export function spawnReplica(layout: LocalClusterLayout, id: string, onLine?: (line: string) => void, entry?: ReplicaEntry): RunningReplica {
  const replica = layout.replicas.find((r) => r.id === id);
  if (!replica) throw new Error(`no replica ${id}`);
  // VCR_REPLICA_NODE_ARGS: extra Node flags for profiling (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const extra = (process.env.VCR_REPLICA_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const script = entry?.script ?? join(repoRoot, 'apps/replica/src/main.ts');
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', script, '--config', replica.configFile, ...(entry?.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, VCR_KEY_PASSPHRASE_FILE: layout.passphraseFile },
    // The IPC channel tells the replica when its launcher dies, so no replica outlives `npm start`.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim() && onLine) onLine(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  return { id, url: replica.url, process: child };
}

export async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { committed?: number };
      if (res.ok && (body.committed ?? 0) > 0) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function readGenesisJson(layout: LocalClusterLayout): unknown {
  return JSON.parse(readFileSync(layout.genesisFile, 'utf8'));
}

/** An organization's admin key from the local cluster's keystore (org1 is r1's, and so on), for bootstrap and demos. */
export function openOrgAdminKey(layout: LocalClusterLayout, org: number) {
  const store = new EncryptedFileKeyStore(join(layout.dataDir, `r${org}`, 'keys'), readFileSync(layout.passphraseFile, 'utf8').trim());
  return store.open('admin');
}
