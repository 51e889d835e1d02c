// Four real replica processes that serve HTTPS and talk to each other over
// wss:// (their genesis addresses are https://), with certificates from a
// throwaway CA made here with openssl: the peer links come up verified
// against the CA, the SDK commits and reads verified writes over HTTPS, a
// replica killed with SIGKILL catches up by state transfer over HTTPS, and a
// client that does not trust the CA (or speaks plain HTTP) is refused.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Membership } from '@vcr/proofs';
import { nodeFetch } from '@vcr/client-sdk/node';
import { type FetchLike, RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { BlockFetcher } from '../apps/replica/src/block-fetcher';
import { loadGenesis } from '../apps/replica/src/genesis';
import { Metrics } from '../apps/replica/src/metrics';
import { type LocalClusterLayout, prepareLocalCluster, prepareMirror, type RunningReplica, spawnReplica } from '../ops/local-cluster';


const basePort = 30_000 + Math.floor(Math.random() * 1_000) * 4;
const urlOf = (i: number) => `https://127.0.0.1:${basePort + i}`;
let dir: string;
let layout: LocalClusterLayout;
let membership: Membership;
let ca: Buffer;
let running: RunningReplica[] = [];
const logs = new Map<string, string[]>();

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, and for each replica a certificate for 127.0.0.1 signed by it (the key owner-only, as the replica demands). */
function makeCertificates(names: string[]): void {
  const pki = join(dir, 'pki');
  execFileSync('mkdir', ['-p', pki]);
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=vcr test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.crt'));
  const ext = join(pki, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  for (const name of names) {
    const key = join(pki, `${name}.key`);
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', join(pki, `${name}.csr`));
    openssl('x509', '-req', '-in', join(pki, `${name}.csr`), '-CA', join(pki, 'ca.crt'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', join(pki, `${name}.crt`));
    chmodSync(key, 0o600);
  }
  ca = readFileSync(join(pki, 'ca.crt'));
}

/** The SDK's Node transport trusting only `trusted` (Node's global fetch takes a custom CA only through an undici dispatcher). */
const httpsFetch = (trusted: Buffer): FetchLike => nodeFetch({ ca: trusted });

async function getJson(fetchFn: FetchLike, url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetchFn(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function start(id: string): RunningReplica {
  const r = spawnReplica(layout, id, (line) => {
    const list = logs.get(id) ?? [];
    if (list.length < 2_000) list.push(line);
    logs.set(id, list);
  });
  running = [...running.filter((x) => x.id !== id), r];
  return r;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms; logs: ${JSON.stringify(Object.fromEntries([...logs].map(([id, l]) => [id, l.slice(-5)])))}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const stateRoot = async (i: number) => ((await getJson(httpsFetch(ca), `${urlOf(i)}/v1/headers/latest`)).body as { header: { stateRoot: string } }).header.stateRoot;
/** The newest epoch is learned from f+1 replicas, so a client of one replica (or mirror) asks all four for it. */
const sdk = (fetchFn: FetchLike, urls: string[]) => RegistryClient.create({ membership, replicas: urls, epochReplicas: [...urls, ...layout.replicas.map((_, i) => urlOf(i))], signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, fetch: fetchFn, readTimeoutMs: 2_000 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-tls-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-tls', peerAddressOf: urlOf });
  makeCertificates(layout.replicas.map((r) => r.id));
  for (const r of layout.replicas) {
    const config = JSON.parse(readFileSync(r.configFile, 'utf8')) as Record<string, unknown>;
    // Relative to the config file, like its other paths.
    config.tls = { cert: `../pki/${r.id}.crt`, key: `../pki/${r.id}.key`, ca: '../pki/ca.crt' };
    writeFileSync(r.configFile, JSON.stringify(config, null, 2));
  }
  membership = loadGenesis(layout.genesisFile);
  for (const r of layout.replicas) start(r.id);
  // Healthy and every peer link up: each replica dialed the three others over wss:// and verified them against the CA.
  await Promise.all(
    layout.replicas.map((_, i) =>
      waitFor(`replica ${i + 1} healthy with 3 peers over TLS`, 60_000, async () => {
        const { status, body } = await getJson(httpsFetch(ca), `${urlOf(i)}/healthz`);
        return status === 200 && (body.connectedPeers as string[]).length === 3 ? true : undefined;
      }),
    ),
  );
}, 90_000);

afterAll(() => {
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS for the client API and the peer links', () => {
  it('peer links run over wss:// with verified certificates, and the SDK commits and reads verified writes over HTTPS', async () => {
    const client = await sdk(httpsFetch(ca), layout.replicas.map((_, i) => urlOf(i)));
    for (let i = 0; i < 10; i++) expect((await client.put(`tls/${i}`, `v${i}`)).result.ok).toBe(true);
    for (let r = 0; r < 4; r++) {
      const reader = await sdk(httpsFetch(ca), [urlOf(r)]);
      expect(new TextDecoder().decode((await reader.get('tls/9')).entry?.value)).toBe('v9');
    }
    const metrics = await (await httpsFetch(ca)(`${urlOf(0)}/metrics`)).text();
    expect(metrics).toMatch(/^vcr_connected_peers\{replica="r1"\} 3$/m);
    for (const id of ['r1', 'r2', 'r3', 'r4']) {
      expect((logs.get(id) ?? []).some((l) => l.includes('"event":"listening"') && l.includes('https://'))).toBe(true);
      expect((logs.get(id) ?? []).some((l) => l.includes('tls-address-mismatch'))).toBe(false);
    }
  }, 30_000);

  it('a client that does not trust the CA, or speaks plain HTTP, is refused', async () => {
    // Node's fetch trusts the system roots only: the throwaway CA is not among them.
    await expect(fetch(`${urlOf(0)}/healthz`)).rejects.toThrow();
    const cause = await fetch(`${urlOf(0)}/healthz`).then(
      () => undefined,
      (error: unknown) => (error as { cause?: { code?: string } }).cause?.code,
    );
    expect(cause).toMatch(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/);
    // A client trusting another CA (a self-signed certificate of its own) is refused the same way.
    const other = join(dir, 'pki', 'other');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=other CA', '-keyout', `${other}.key`, '-out', `${other}.crt`);
    await expect(getJson(httpsFetch(readFileSync(`${other}.crt`)), `${urlOf(0)}/healthz`)).rejects.toThrow();
    // The SDK without the CA gets no answer it can use: the write is not acknowledged.
    const untrusting = await sdk((input, init) => globalThis.fetch(input, init), [urlOf(0)]);
    await expect(untrusting.put('tls/refused', 'x')).rejects.toThrow();
    // Plain HTTP to the HTTPS port is not served.
    const plain = await fetch(`http://127.0.0.1:${basePort}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).toBe('refused');
  }, 30_000);

  it('a replica killed with SIGKILL restarts and catches up over HTTPS to the same state root', async () => {
    const victim = running.find((r) => r.id === 'r3') as RunningReplica;
    victim.process.kill('SIGKILL');
    await new Promise((r) => victim.process.once('exit', r));
    const client = await sdk(httpsFetch(ca), [urlOf(0), urlOf(1), urlOf(3)]);
    for (let i = 0; i < 20; i++) expect((await client.put(`tls/after-kill/${i}`, String(i))).result.ok).toBe(true);
    start('r3');
    const target = await stateRoot(0);
    await waitFor('r3 at the same state root', 30_000, async () => ((await stateRoot(2)) === target ? true : undefined));
    const reader = await sdk(httpsFetch(ca), [urlOf(2)]);
    expect(new TextDecoder().decode((await reader.get('tls/after-kill/19')).entry?.value)).toBe('19');
  }, 60_000);
});

describe('state transfer over HTTPS', () => {
  it('the block fetcher verifies an https:// peer against the configured CA, and counts a peer it cannot verify as an error', async () => {
    const pki = join(dir, 'pki');
    const server = createHttpsServer({ cert: readFileSync(join(pki, 'r1.crt')), key: readFileSync(join(pki, 'r1.key')) }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(req.url?.startsWith('/v1/peer/blocks?from=7&') ? '{"blocks":[{"n":7}]}' : '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const peer = { ...(membership.replicas[0] as Membership['replicas'][number]), address: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
      const trusting = new Metrics();
      expect(await new BlockFetcher([peer], trusting, { ca }).fetchBlocks(7n)).toEqual([{ n: 7 }]);
      expect(await trusting.render({ replica: 'x', view: 0, height: 0 })).not.toMatch(/^vcr_peer_errors_total\{/m);
      const untrusting = new Metrics();
      expect(await new BlockFetcher([peer], untrusting).fetchBlocks(7n)).toBeUndefined();
      expect(await untrusting.render({ replica: 'x', view: 0, height: 0 })).toMatch(/^vcr_peer_errors_total\{peer="r1",replica="x"\} 1$/m);
    } finally {
      server.close();
    }
  });
});

describe('a plain-HTTP mirror of HTTPS replicas', () => {
  it('verifies its https:// upstreams against mirror.ca and serves reads the SDK verifies; without the CA it cannot follow and counts the errors', async () => {
    const writer = await sdk(httpsFetch(ca), [urlOf(0)]);
    expect((await writer.put('tls/mirror', 'through-a-mirror')).result.ok).toBe(true);
    const mirrorOf = (id: string, port: number, withCa: boolean) => {
      const { layout: withMirror, url } = prepareMirror(layout, id, port, [urlOf(0), urlOf(1)]);
      const configFile = join(dir, id, 'config.json');
      const config = JSON.parse(readFileSync(configFile, 'utf8')) as { mirror: Record<string, unknown> };
      if (withCa) config.mirror.ca = '../pki/ca.crt';
      writeFileSync(configFile, JSON.stringify(config));
      running.push(spawnReplica(withMirror, id, (line) => logs.set(id, [...(logs.get(id) ?? []), line])));
      return url;
    };
    // Ports 36,000 to 38,000 are no other test's.
    const mirrorPort = 36_000 + ((basePort - 30_000) / 4) * 2;
    const trusting = mirrorOf('mirror-ca', mirrorPort, true);
    const untrusting = mirrorOf('mirror-no-ca', mirrorPort + 1, false);
    const read = await waitFor('the mirror serves the value', 30_000, async () => {
      const r = await (await sdk(nodeFetch({ ca }), [trusting])).get('tls/mirror');
      return r.entry === undefined ? undefined : r;
    });
    expect(new TextDecoder().decode(read.entry?.value)).toBe('through-a-mirror');
    expect(read.replica).toBe(trusting);
    // The other mirror's fetches fail certificate verification: it stays empty and counts each upstream error.
    const metrics = await waitFor('the untrusting mirror counts upstream errors', 15_000, async () => {
      const text = await (await fetch(`${untrusting}/metrics`)).text();
      return /vcr_peer_errors_total\{[^}]*peer="upstream-1"[^}]*\} [1-9]/.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/^vcr_committed_height\{replica="mirror-no-ca"\} 0$/m);
  }, 60_000);
});

