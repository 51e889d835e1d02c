// The lying-replica suite (issue 5): four real replica processes, and real
// node:http proxies in front of one or two of them that lie in every way a
// Byzantine replica can. For each lie, two clients: one that knows only the
// liar (it must refuse, saying why, and never return the false value) and one
// with the liar first among the four (it must reach an honest replica and
// return the true value). Forgeries that need valid signatures (another
// chain, another epoch, a fork, two colluding replicas) are signed with the
// replicas' own keys, opened from the cluster's encrypted key files.
//
// What is guaranteed: a proxy without keys can withhold, delay or garble, but
// cannot forge what a quorum (2f+1 = 3) signs, so however many replicas lie,
// the SDK returns a true value or an error; it returns the true value as soon
// as one honest replica is reachable. Only 2f+1 stolen keys can make a false
// state verify, and then two certificates for one height are a ForkError.
// The table of lies and outcomes goes to test-artifacts/lying-replicas.md.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bytesToBase64,
  bytesToHex,
  type Certificate,
  certificateToJson,
  commitVoteMessage,
  headerHash,
  type Membership,
  MerkleMap,
  mapProofToJson,
  parseCertificateJson,
  type Signer,
  signInDomain,
  utf8,
} from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { ForkError, RegistryClient, RegistryError, type VerifiedRead } from '@vcr/client-sdk';
import { RegistryFlagProvider } from '@vcr/client-sdk/openfeature';
import { ErrorCode, OpenFeature, StandardResolutionReasons } from '@openfeature/server-sdk';
import { encodeTypedValue, type FlagValue } from '@vcr/registry';
import { loadGenesis } from '../apps/replica/src/genesis';
import { EncryptedFileKeyStore } from '../apps/replica/src/keystore';
import { type LocalClusterLayout, prepareLocalCluster, type RunningReplica, spawnReplica, waitHealthy } from '../ops/local-cluster';

type Body = Record<string, unknown>;

const KEY = 'lie/k';
const OTHER = 'lie/other';
const TRUE_VALUE = 'true-value';
const OLD_VALUE = 'old-value';
const FALSE_VALUE = 'false-value';
const READ_TIMEOUT_MS = 1_000;
const keyPath = `/v1/keys/${encodeURIComponent(KEY)}`;
const otherPath = `/v1/keys/${encodeURIComponent(OTHER)}`;

const basePort = 19_000 + Math.floor(Math.random() * 1_500) * 4;
let dir: string;
let layout: LocalClusterLayout;
let running: RunningReplica[] = [];
let membership: Membership;
let urls: string[];
/** The replicas' own signing keys, for forgeries a proxy without keys could not make. */
const replicaKeys = new Map<string, Signer>();
/** r1's answer for KEY before the last write: old, and validly certified. */
let oldAnswer: Body;
let oldAnswerAtMs: number;
let trueRevision: bigint;
const servers: Server[] = [];

interface Row {
  lie: string;
  liars: string;
  alone: string;
  withHonest: string;
}
const rows: Row[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcr-lies-'));
  // Its keys are under no namespace: the root is opened explicitly (new genesis files close it).
  layout = prepareLocalCluster({ dataDir: dir, basePort, fastKdf: true, rootWrite: 'open', chainId: 'vcr-lies' });
  running = layout.replicas.map((r) => spawnReplica(layout, r.id));
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));
  membership = loadGenesis(layout.genesisFile);
  urls = layout.replicas.map((r) => r.url);
  const passphrase = readFileSync(layout.passphraseFile, 'utf8').trim();
  for (const r of layout.replicas) replicaKeys.set(r.id, new EncryptedFileKeyStore(join(layout.dataDir, r.id, 'keys'), passphrase).open('replica'));

  const writer = await sdk(urls);
  expect((await writer.put(KEY, OLD_VALUE)).result.ok).toBe(true);
  expect((await writer.put(OTHER, 'other-value')).result.ok).toBe(true);
  await untilEvery(KEY, OLD_VALUE);
  oldAnswer = (await (await fetch(urls[0] + keyPath)).json()) as Body;
  oldAnswerAtMs = Date.now();
  const receipt = await writer.put(KEY, TRUE_VALUE);
  expect(receipt.result.ok).toBe(true);
  trueRevision = receipt.result.ok ? (receipt.result.revisions[0] as bigint) : 0n;
  await untilEvery(KEY, TRUE_VALUE);
  const typed = await writer.transaction([
    { op: 'put', key: 'lie/flags/checkout', value: encodeTypedValue(checkoutFlag) },
    { op: 'put', key: 'lie/pins/api', value: encodeTypedValue({ type: 'pins', pins: [bytesToBase64(pinDigest)], backupPins: [bytesToBase64(new Uint8Array(32).fill(2))], expiresAtMs: Date.now() + 86_400_000 }) },
    { op: 'put', key: 'lie/endpoints/eu', value: encodeTypedValue({ type: 'endpoint', url: 'https://eu.example.internal', region: 'eu', weight: 3 }) },
    { op: 'put', key: 'lie/endpoints/us', value: encodeTypedValue({ type: 'endpoint', url: 'https://us.example.internal', region: 'us', weight: 1 }) },
  ]);
  expect(typed.result.ok).toBe(true);
  await untilEvery('lie/endpoints/us', new TextDecoder().decode(encodeTypedValue({ type: 'endpoint', url: 'https://us.example.internal', region: 'us', weight: 1 })));
}, 90_000);

const checkoutFlag: FlagValue = {
  type: 'flag',
  variants: { on: true, off: false },
  defaultVariant: 'off',
  rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }],
};
const pinDigest = new Uint8Array(32).fill(1);

afterAll(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const r of running) r.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  const table = renderTable();
  mkdirSync('test-artifacts', { recursive: true });
  writeFileSync('test-artifacts/lying-replicas.md', table);
  console.log(table);
});

/** The newest epoch is learned from f+1 replicas: the ones the client reads from first, then the real four (the proxies pass /v1/epochs through). */
function sdk(replicas: string[], extra: Partial<Parameters<typeof RegistryClient.create>[0]> = {}): Promise<RegistryClient> {
  const epochReplicas = [...new Set([...replicas, ...urls])];
  return RegistryClient.create({ membership, replicas, epochReplicas, signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, readTimeoutMs: READ_TIMEOUT_MS, ...extra });
}

/** Waits until every replica, read on its own, serves `value` for `key`. */
async function untilEvery(key: string, value: string): Promise<void> {
  for (const url of urls) {
    const reader = await sdk([url]);
    for (let i = 0; ; i++) {
      const read = await reader.get(key).catch(() => undefined);
      if (read !== undefined && text(read.entry?.value) === value) break;
      if (i > 200) throw new Error(`${url} never served ${value} for ${key}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));

// ---- The tampering proxy ----

/** What a liar does with one answer for KEY: a new JSON body, raw text, or its own handling of the response. */
type Lie =
  | { kind: 'json'; rewrite: (honest: Body, ctx: ProxyContext) => unknown | Promise<unknown> }
  | { kind: 'text'; rewrite: (honestText: string) => string }
  | { kind: 'respond'; respond: (res: ServerResponse) => void };

interface ProxyContext {
  /** The last certificate this proxy passed through honestly (the client's trusted head after a warm-up read). */
  lastHonestCertificate: Certificate | undefined;
  /** The honest replica's JSON answer for another path. */
  honest: (path: string) => Promise<Body>;
}

interface Proxy {
  url: string;
  lies: () => number;
}

/** A real HTTP proxy in front of `target`: honest on every path except reads of KEY, where it applies `lie`. */
async function liar(target: string, lie: Lie, lieOn: (path: string) => boolean = (path) => path === keyPath): Promise<Proxy> {
  let lies = 0;
  const ctx: ProxyContext = { lastHonestCertificate: undefined, honest: async (path) => (await (await fetch(target + path)).json()) as Body };
  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const init: RequestInit = { method: req.method ?? 'GET', headers: { 'content-type': 'application/json' } };
    if (chunks.length > 0) init.body = Buffer.concat(chunks);
    const path = req.url ?? '/';
    // The SDK asks for a consistency proof with its reads (?proveFrom=N): a lie is chosen by the rest of the URL.
    const route = path.replace(/\?proveFrom=\d+$/, '').replace(/&proveFrom=\d+/, '');
    if (lieOn(route)) {
      lies++;
      if (lie.kind === 'respond') return lie.respond(res);
      const honest = await (await fetch(target + path, init)).text();
      const body = lie.kind === 'text' ? lie.rewrite(honest) : JSON.stringify(await lie.rewrite(JSON.parse(honest) as Body, ctx));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    const upstream = await fetch(target + path, init);
    const body = await upstream.text();
    if (upstream.ok && route === otherPath) {
      const cert = parseCertificateJson((JSON.parse(body) as Body).certificate);
      if (cert.ok) ctx.lastHonestCertificate = cert.value;
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(body);
  }
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lies: () => lies };
}

// ---- Forgery helpers ----

const certOf = (b: Body): Certificate => {
  const parsed = parseCertificateJson(b.certificate);
  if (!parsed.ok) throw new Error('the honest answer has no certificate');
  return parsed.value;
};

/** Signs `header` as a COMMIT certificate with the keys of `signers` (real replica keys), in the header's own chain and epoch. */
function signCertificate(header: Certificate['header'], commitView: bigint, signers: string[]): Certificate {
  const hash = headerHash(nodeBackend, header);
  const signatures = signers.map((id) => {
    const key = replicaKeys.get(id);
    if (key === undefined) throw new Error(`no key for ${id}`);
    return { replicaId: id, signature: signInDomain(key, { kind: 'commit', chainId: header.chainId, epoch: header.epoch }, commitVoteMessage(hash, header.height, commitView)) };
  });
  return { header, commitView, signatures };
}

/** A state holding KEY = FALSE_VALUE only: its root and a valid map proof, for a forged header. */
function falseState(): { root: Uint8Array; answer: (cert: Certificate) => Body } {
  const map = new MerkleMap(nodeBackend);
  map.set(KEY, { value: utf8(FALSE_VALUE), revision: trueRevision });
  const proof = map.prove(KEY);
  return {
    root: map.root,
    answer: (cert) => ({ key: KEY, entry: { value: bytesToHex(utf8(FALSE_VALUE)), revision: trueRevision.toString() }, proof: mapProofToJson(proof), certificate: certificateToJson(cert) }),
  };
}

const withCert = (b: Body, change: (c: Body) => Body): Body => ({ ...b, certificate: change(b.certificate as Body) });
const withSignatures = (b: Body, change: (s: Body[]) => Body[]): Body => withCert(b, (c) => ({ ...c, signatures: change(c.signatures as Body[]) }));
const flipFirstByte = (hex: string) => ((parseInt(hex.slice(0, 2), 16) ^ 0x01).toString(16).padStart(2, '0') + hex.slice(2));

function hugeResponder(bytes: number, declareLength: boolean): (res: ServerResponse) => void {
  return (res) => {
    res.writeHead(200, declareLength ? { 'content-type': 'application/json', 'content-length': String(bytes) } : { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < bytes && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };
}

// ---- Running one lie ----

interface Expectation {
  /** The attempt code the liar's answer gets. */
  code: string;
  /** Read another key through the proxy first, so the client has a trusted head (rollback, fork). */
  warm?: boolean;
  /** Extra client options (freshness bound). */
  options?: Partial<Parameters<typeof RegistryClient.create>[0]>;
}

const describeError = (e: unknown): string => {
  if (e instanceof ForkError) return `ForkError at height ${e.height}: both certificates kept as evidence`;
  if (e instanceof RegistryError) {
    const first = e.attempts[0];
    return first === undefined ? `${e.code}` : `${e.code}: ${first.code}: ${first.detail.replace(/\|/g, '/').slice(0, 90)}`;
  }
  return `unexpected ${String(e)}`;
};

async function warmUp(client: RegistryClient): Promise<void> {
  await client.get(OTHER);
  // The warm-up may have come from the newest block: let every replica commit it, so failover is not refused as a rollback.
  await new Promise((r) => setTimeout(r, 150));
}

async function expectTrueValue(read: VerifiedRead, proxies: Proxy[]): Promise<void> {
  expect(text(read.entry?.value)).toBe(TRUE_VALUE);
  expect(read.entry?.revision).toBe(trueRevision);
  expect(proxies.map((p) => p.url)).not.toContain(read.replica);
}

async function runLie(name: string, lie: Lie, expected: Expectation): Promise<void> {
  const proxy = await liar(urls[0] as string, lie);
  // Alone: only the liar is known. The read must fail, saying why.
  const alone = await sdk([proxy.url], expected.options);
  if (expected.warm) await warmUp(alone);
  const aloneError = await alone.get(KEY).then((read) => read, (e: unknown) => e);
  expect(aloneError, `${name}: the liar alone must not produce a value`).toBeInstanceOf(RegistryError);
  if (expected.code === 'fork') expect(aloneError).toBeInstanceOf(ForkError);
  else expect((aloneError as RegistryError).attempts.map((a) => a.code)).toEqual([expected.code]);

  // First of four: the true value from an honest replica (a fork stops the client instead: 2f+1 keys signed two states).
  const first = await sdk([proxy.url, ...urls.slice(1)], expected.options);
  if (expected.warm) await warmUp(first);
  const outcome = await first.get(KEY).then((read) => read, (e: unknown) => e);
  let withHonest: string;
  if (expected.code === 'fork') {
    expect(outcome).toBeInstanceOf(ForkError);
    const fork = outcome as ForkError;
    expect(fork.first.header.height).toBe(fork.second.header.height);
    expect(bytesToHex(headerHash(nodeBackend, fork.first.header))).not.toBe(bytesToHex(headerHash(nodeBackend, fork.second.header)));
    withHonest = `${describeError(fork)}; no value returned`;
  } else {
    if (!(outcome instanceof Object) || outcome instanceof Error) throw outcome;
    const read = outcome as VerifiedRead;
    await expectTrueValue(read, [proxy]);
    withHonest = `"${TRUE_VALUE}" rev ${read.entry?.revision} from ${replicaName(read.replica)}`;
  }
  expect(proxy.lies(), `${name}: the proxy lied`).toBeGreaterThan(0);
  rows.push({ lie: name, liars: 'r1', alone: describeError(aloneError), withHonest });
}

const replicaName = (url: string) => layout.replicas.find((r) => r.url === url)?.id ?? url;

function renderTable(): string {
  const lines = [
    '# Lying replicas: lies and outcomes',
    '',
    `Real 4-replica cluster (n = 4, f = 1, quorum 3), tampering node:http proxies in front of the named replicas. "Liar alone": a client that knows only the liar(s). "Liar first": the liar(s) first in the client's list, then the honest replicas. Read timeout ${READ_TIMEOUT_MS} ms, answer bounds 256 KiB for a read, 8 MiB at most (sdkLimits, answerBounds). The key holds "${TRUE_VALUE}"; no read ever returned another value.`,
    '',
    '| # | lie | liars | liar alone: SDK refuses with | liar first: SDK returns |',
    '|---|---|---|---|---|',
    ...rows.map((r, i) => `| ${i + 1} | ${r.lie} | ${r.liars} | ${r.alone} | ${r.withHonest} |`),
    '',
  ];
  return lines.join('\n');
}

// ---- The lies ----

describe('lying replicas against a real 4-replica cluster', () => {
  it('a changed value', () =>
    runLie('changed value', { kind: 'json', rewrite: (b) => ({ ...b, entry: { ...(b.entry as Body), value: bytesToHex(utf8(FALSE_VALUE)) } }) }, { code: 'verification-failed' }));

  it('a changed revision', () =>
    runLie('changed revision', { kind: 'json', rewrite: (b) => ({ ...b, entry: { ...(b.entry as Body), revision: (trueRevision + 5n).toString() } }) }, { code: 'verification-failed' }));

  it('an absent claim for a present key', () => runLie('absent claim (entry null)', { kind: 'json', rewrite: (b) => ({ ...b, entry: null }) }, { code: 'verification-failed' }));

  it('the entry and proof of another key', () =>
    runLie('proof for another key (entry + proof of lie/other)', { kind: 'json', rewrite: async (b, ctx) => { const o = await ctx.honest(otherPath); return { ...b, entry: o.entry, proof: o.proof }; } }, { code: 'verification-failed' }));

  it('an answer for another key', () => runLie("answer for another key (lie/other's whole answer)", { kind: 'json', rewrite: (_b, ctx) => ctx.honest(otherPath) }, { code: 'verification-failed' }));

  it('an older state\'s entry and proof under the current certificate', () =>
    runLie('proof against another root (old entry + proof, current certificate)', { kind: 'json', rewrite: (b) => ({ ...b, entry: oldAnswer.entry, proof: oldAnswer.proof }) }, { code: 'verification-failed' }));

  it('an older state\'s answer with its root swapped into the current certificate', () =>
    runLie(
      'proof against another root (old entry + proof, current certificate with the old state root)',
      { kind: 'json', rewrite: (b) => withCert({ ...b, entry: oldAnswer.entry, proof: oldAnswer.proof }, (c) => ({ ...c, header: { ...(c.header as Body), stateRoot: ((oldAnswer.certificate as Body).header as Body).stateRoot } })) },
      { code: 'verification-failed' },
    ));

  it('a certificate with too few signatures', () =>
    runLie('certificate with too few signatures (2 of quorum 3)', { kind: 'json', rewrite: (b) => withSignatures(b, (s) => s.slice(0, 2)) }, { code: 'verification-failed' }));

  it('a certificate with a duplicated signature', () =>
    runLie('duplicated signature (one signer twice, 3 entries)', { kind: 'json', rewrite: (b) => withSignatures(b, (s) => [s[0] as Body, s[0] as Body, s[1] as Body]) }, { code: 'verification-failed' }));

  it('a certificate with an unknown signer', () =>
    runLie('unknown signer (a signer renamed r9)', { kind: 'json', rewrite: (b) => withSignatures(b, (s) => s.map((x, i) => (i === 0 ? { ...x, replicaId: 'r9' } : x))) }, { code: 'verification-failed' }));

  it('a certificate with an invalid signature', () =>
    runLie('invalid signature (one byte flipped)', { kind: 'json', rewrite: (b) => withSignatures(b, (s) => s.map((x, i) => (i === 0 ? { ...x, signature: flipFirstByte(x.signature as string) } : x))) }, { code: 'verification-failed' }));

  it('a certificate of another chain, validly signed by the replicas\' keys', () =>
    runLie(
      'certificate from another chain (signed by 3 real replica keys)',
      { kind: 'json', rewrite: (b) => { const c = certOf(b); return { ...b, certificate: certificateToJson(signCertificate({ ...c.header, chainId: 'vcr-elsewhere' }, c.commitView, ['r1', 'r2', 'r3'])) }; } },
      { code: 'verification-failed' },
    ));

  it('a certificate of another epoch, validly signed by the replicas\' keys', () =>
    runLie(
      'certificate from another epoch (epoch 1, signed by 3 real replica keys)',
      { kind: 'json', rewrite: (b) => { const c = certOf(b); return { ...b, certificate: certificateToJson(signCertificate({ ...c.header, epoch: 1n }, c.commitView, ['r1', 'r2', 'r3'])) }; } },
      { code: 'unknown-epoch' },
    ));

  it('an old but valid answer below the trusted height', () =>
    runLie(`old valid certificate: rollback ("${OLD_VALUE}" below the trusted height)`, { kind: 'json', rewrite: () => oldAnswer }, { code: 'rollback', warm: true }));

  it('an old but valid answer to a client with no trusted height yet', async () => {
    const boundMs = 4_000;
    const wait = oldAnswerAtMs + boundMs + 1_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await runLie(`old valid certificate to a new client: stale ("${OLD_VALUE}", bound ${boundMs} ms)`, { kind: 'json', rewrite: () => oldAnswer }, { code: 'stale', options: { maxStalenessMs: boundMs } });
  }, 20_000);

  it('a fork: a second valid certificate at the trusted height, signed with 2f+1 replica keys', () =>
    runLie(
      `fork: "${FALSE_VALUE}" in a forged state at the trusted height, signed by 3 real keys`,
      {
        kind: 'json',
        rewrite: (_b, ctx) => {
          const head = ctx.lastHonestCertificate;
          if (head === undefined) throw new Error('no warm-up certificate');
          const state = falseState();
          return state.answer(signCertificate({ ...head.header, stateRoot: state.root }, head.commitView, ['r1', 'r2', 'r3']));
        },
      },
      { code: 'fork', warm: true },
    ));

  it('truncated JSON', () => runLie('truncated JSON (first half of the answer)', { kind: 'text', rewrite: (t) => t.slice(0, Math.floor(t.length / 2)) }, { code: 'malformed' }));

  it('malformed JSON', () => runLie('malformed JSON (not JSON at all)', { kind: 'text', rewrite: (t) => `<html>${t}` }, { code: 'malformed' }));

  it('JSON of the wrong shape', () => runLie('JSON of the wrong shape (hex value as a number)', { kind: 'json', rewrite: (b) => ({ ...b, entry: { ...(b.entry as Body), value: 12 } }) }, { code: 'malformed' }));

  it('a huge answer with its length declared', () =>
    runLie('huge response, 9 MiB declared in content-length (read answers: 256 KiB)', { kind: 'respond', respond: hugeResponder(9 * 1024 * 1024, true) }, { code: 'too-large' }));

  it('a huge answer streamed without a length', () =>
    runLie('huge response, 9 MiB streamed chunked (read answers: 256 KiB)', { kind: 'respond', respond: hugeResponder(9 * 1024 * 1024, false) }, { code: 'too-large' }));

  it('a slow answer', () =>
    runLie(
      `slow answer (honest, but after 3 s; read timeout ${READ_TIMEOUT_MS} ms)`,
      {
        kind: 'respond',
        respond: (res) => {
          const timer = setTimeout(() => void fetch(urls[0] + keyPath).then((r) => r.text()).then((t) => res.end(t), () => res.destroy()), 3_000);
          res.on('close', () => clearTimeout(timer));
        },
      },
      { code: 'timeout' },
    ));
});

describe('more than one liar', () => {
  it('two colluding replicas (f+1 real keys) cannot certify a false state', async () => {
    const forge: Lie = {
      kind: 'json',
      rewrite: (b) => {
        const c = certOf(b);
        const state = falseState();
        const forged = signCertificate({ ...c.header, stateRoot: state.root }, c.commitView, ['r1', 'r2']);
        // A third signature copied from the honest certificate: valid for the real header, not for the forged one.
        const third = c.signatures.find((s) => s.replicaId === 'r3' || s.replicaId === 'r4');
        if (third === undefined) throw new Error('no third signature to copy');
        return state.answer({ ...forged, signatures: [...forged.signatures, third] });
      },
    };
    const p1 = await liar(urls[0] as string, forge);
    const p2 = await liar(urls[1] as string, forge);
    const alone = await sdk([p1.url, p2.url]);
    const error = await alone.get(KEY).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).attempts.map((a) => [replicaOf(a.replica, [p1, p2]), a.code])).toEqual([['r1', 'verification-failed'], ['r2', 'verification-failed']]);
    const first = await sdk([p1.url, p2.url, ...urls.slice(2)]);
    const read = await first.get(KEY);
    await expectTrueValue(read, [p1, p2]);
    rows.push({ lie: `two colluding replicas sign "${FALSE_VALUE}" (2 real signatures + 1 copied)`, liars: 'r1, r2', alone: describeError(error), withHonest: `"${TRUE_VALUE}" rev ${read.entry?.revision} from ${replicaName(read.replica)}` });
  });

  it('f+1 replicas lying in different ways: the true value while one honest replica is reachable, an error listing each replica when none is', async () => {
    const p1 = await liar(urls[0] as string, { kind: 'json', rewrite: (b) => ({ ...b, entry: { ...(b.entry as Body), value: bytesToHex(utf8(FALSE_VALUE)) } }) });
    const p2 = await liar(urls[1] as string, { kind: 'json', rewrite: () => oldAnswer });
    // (Not a signature lie here: a header this client already verified is certified however its signatures are presented again.)
    const p3 = await liar(urls[2] as string, { kind: 'json', rewrite: (b) => ({ ...b, entry: null }) });
    const p4 = await liar(urls[3] as string, { kind: 'text', rewrite: (t) => t.slice(0, 10) });

    // Each client first reads another key (through r1's proxy, honest there), so r2's old answer is a rollback, not merely old.
    const twoLiars = await sdk([p1.url, p2.url, ...urls.slice(2)]);
    await warmUp(twoLiars);
    const read = await twoLiars.get(KEY);
    await expectTrueValue(read, [p1, p2]);
    rows.push({ lie: 'changed value (r1) and an old valid answer (r2)', liars: 'r1, r2', alone: '(not asked)', withHonest: `"${TRUE_VALUE}" rev ${read.entry?.revision} from ${replicaName(read.replica)}` });

    const threeLiars = await sdk([p1.url, p2.url, p3.url, urls[3] as string]);
    await warmUp(threeLiars);
    const read3 = await threeLiars.get(KEY);
    await expectTrueValue(read3, [p1, p2, p3]);
    rows.push({ lie: 'changed value, old answer, absent claim (3 of 4 lie)', liars: 'r1, r2, r3', alone: '(not asked)', withHonest: `"${TRUE_VALUE}" rev ${read3.entry?.revision} from ${replicaName(read3.replica)}` });

    // No honest answer reachable: the two liars plus two honest replicas that do not answer (closed ports).
    const dead = [`http://127.0.0.1:${basePort + 400}`, `http://127.0.0.1:${basePort + 401}`];
    const cornered = await sdk([p1.url, p2.url, ...dead]);
    await warmUp(cornered);
    const error = await cornered.get(KEY).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    const attempts = (error as RegistryError).attempts;
    expect(attempts.map((a) => a.code)).toEqual(['verification-failed', 'rollback', 'transport', 'transport']);
    expect((error as RegistryError).code).toBe('all-replicas-failed');
    rows.push({ lie: 'changed value (r1), old answer (r2), honest replicas unreachable', liars: 'r1, r2', alone: attempts.map((a) => `${a.code}`).join(', '), withHonest: `no value: all-replicas-failed, 4 attempts listed` });

    const allLie = await sdk([p1.url, p2.url, p3.url, p4.url]);
    await warmUp(allLie);
    const all = await allLie.get(KEY).then(() => undefined, (e: unknown) => e);
    expect(all).toBeInstanceOf(RegistryError);
    expect((all as RegistryError).attempts.map((a) => a.code)).toEqual(['verification-failed', 'rollback', 'verification-failed', 'malformed']);
    rows.push({ lie: 'all four lie (value, old answer, absent claim, truncated)', liars: 'r1..r4', alone: (all as RegistryError).attempts.map((a) => a.code).join(', '), withHonest: 'no value: all-replicas-failed, 4 attempts listed' });
  });
});

const replicaOf = (url: string, proxies: Proxy[]) => `r${proxies.findIndex((p) => p.url === url) + 1}`;

describe('typed reads and the OpenFeature provider through a liar', () => {
  it('flags, pins and endpoints: refused from the liar, true from the honest replicas', async () => {
    // A liar that turns every value it serves (single keys and listings) into a valid-looking other value.
    const forged = (v: unknown) => (typeof v === 'string' ? bytesToHex(encodeTypedValue({ ...checkoutFlag, defaultVariant: 'on', rules: [] })) : v);
    const proxy = await liar(
      urls[0] as string,
      { kind: 'json', rewrite: (b) => (Array.isArray(b.keys) ? { ...b, keys: (b.keys as Body[]).map((k) => ({ ...k, value: forged(k.value) })) } : { ...b, entry: b.entry === null ? null : { ...(b.entry as Body), value: forged((b.entry as Body).value) } }) },
      (path) => path.startsWith('/v1/keys/lie%2F') || path.startsWith('/v1/keys?'),
    );
    const first = await sdk([proxy.url, ...urls.slice(1)]);
    const flag = await first.evaluateFlag('lie/flags/checkout', { plan: 'free' });
    expect([flag.variant, flag.value, flag.stale, flag.source]).toEqual(['off', false, false, 'replica']);
    expect(flag.replica).not.toBe(proxy.url);
    expect(await first.checkPin('lie/pins/api', pinDigest)).toMatchObject({ ok: true, matched: 'primary' });
    const endpoints = await first.getEndpoints('lie/endpoints/');
    expect(endpoints.endpoints.map((e) => [e.key, e.endpoint.region, e.endpoint.weight])).toEqual([['lie/endpoints/eu', 'eu', 3], ['lie/endpoints/us', 'us', 1]]);
    expect(endpoints.invalid).toEqual([]);

    await OpenFeature.setProviderAndWait(new RegistryFlagProvider(first, { keyPrefix: 'lie/flags/' }));
    const details = await OpenFeature.getClient().getBooleanDetails('checkout', true, { plan: 'free' });
    expect([details.value, details.variant, details.reason, details.errorCode]).toEqual([false, 'off', StandardResolutionReasons.DEFAULT, undefined]);
    expect(Number(details.flagMetadata.height)).toBeGreaterThan(0);

    const alone = await sdk([proxy.url]);
    expect(await alone.evaluateFlag('lie/flags/checkout', { plan: 'free' }).then(() => undefined, (e: unknown) => e)).toBeInstanceOf(RegistryError);
    expect(await alone.checkPin('lie/pins/api', pinDigest).then(() => undefined, (e: unknown) => e)).toBeInstanceOf(RegistryError);
    expect(await alone.getEndpoints('lie/endpoints/').then(() => undefined, (e: unknown) => e)).toBeInstanceOf(RegistryError);
    await OpenFeature.setProviderAndWait(new RegistryFlagProvider(alone, { keyPrefix: 'lie/flags/' }));
    const refused = await OpenFeature.getClient().getBooleanDetails('checkout', true, { plan: 'free' });
    expect([refused.value, refused.reason, refused.errorCode]).toEqual([true, StandardResolutionReasons.ERROR, ErrorCode.GENERAL]);
    await OpenFeature.close();
    rows.push({
      lie: 'typed reads: every value (keys and listings) replaced by a valid flag serving "on"',
      liars: 'r1',
      alone: 'evaluateFlag, checkPin, getEndpoints throw verification-failed; OpenFeature: default with reason ERROR, GENERAL',
      withHonest: `flag variant "off" (true), pin primary match, 2 endpoints; OpenFeature value false, reason DEFAULT, height ${details.flagMetadata.height}`,
    });
  });
});
