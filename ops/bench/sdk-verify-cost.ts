// What the client SDK spends verifying one read, without the network: a
// real answer of `GET /v1/keys/{key}` is fetched once, then verified over and
// over in this process. Three measures per crypto backend:
// - cold: the map proof and the certificate's 2f+1 signatures (a new trust
//   state each time, so nothing is cached; the certificate parsed from JSON);
// - cached: the map proof, and the certificate recognized by the trust state
//   from its JSON text (what every read after the first under one block costs);
// - get(): RegistryClient.get end to end from the answer's bytes (JSON
//   scan and parse, shape checks, proof, cached certificate, freshness) over
//   an in-memory fetch that hands the bytes over as nodeFetch does (a
//   BufferedAnswer).

import { BufferedAnswer, type FetchLike, RegistryClient } from '@vcr/client-sdk';
import { nodeBackend } from '@vcr/crypto-node';
import { type CryptoBackend, type Membership, nobleBackend } from '@vcr/proofs';
import { sdkLimits } from '../../packages/client-sdk/src/limits';
import { TrustState } from '../../packages/client-sdk/src/trust-state';
import { verifyEntry } from '../../packages/client-sdk/src/verify';
import { parseAnswer, readAnswerSchema } from '../../packages/client-sdk/src/wire';

export interface VerifyCost {
  backend: string;
  coldMs: number;
  cachedMs: number;
  getMs: number;
  /** Sibling hashes in the map proof (its depth decides the hashing work). */
  proofSiblings: number;
}

const trustSizes = { certificateCacheSize: sdkLimits.certificateCacheSize, forkWindowSize: sdkLimits.forkWindowSize, consistencyCacheSize: sdkLimits.consistencyCacheSize };

/**
 * Mean milliseconds of this process's CPU time per call, over about `budgetMs`
 * of calls (at least 20) after a quarter of that of warm-up calls (so V8 has
 * optimized the path). CPU time, not wall time: on a quiet machine the two
 * are the same for this synchronous work, and on a shared one the time the
 * process waited for a CPU is not counted as verification.
 */
async function timePerCall(budgetMs: number, call: () => unknown): Promise<number> {
  const warmUntil = performance.now() + budgetMs / 4;
  while (performance.now() < warmUntil) await call();
  let calls = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (calls < 20 || performance.now() - start < budgetMs) {
    await call();
    calls++;
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / calls;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`sdk-verify-cost: ${what} did not verify`);
}

const bothBackends: [string, CryptoBackend][] = [
  ['node:crypto (native)', nodeBackend],
  ['noble (pure JS)', nobleBackend],
];

export function measureSdkVerifyCost(membership: Membership, replicaUrl: string, key: string, budgetMs: number): Promise<VerifyCost[]> {
  return measureAnswerCost(membership, (input, init) => fetch(input, init), replicaUrl, key, budgetMs, bothBackends);
}

/** The rows above for one answer fetched with `fetchFn` (a real replica, or an in-process one: sdk-read-profile.ts). */
export async function measureAnswerCost(membership: Membership, fetchFn: FetchLike, replicaUrl: string, key: string, budgetMs: number, backends: [string, CryptoBackend][], only?: 'get' | 'cached'): Promise<VerifyCost[]> {
  const path = `/v1/keys/${encodeURIComponent(key)}`;
  const res = await fetchFn(replicaUrl + path);
  const text = await res.text();
  const bytes = new TextEncoder().encode(text);
  if (!res.ok) throw new Error(`sdk-verify-cost: ${path} answered ${res.status}`);
  const json = JSON.parse(text) as { certificate: unknown };
  const parsed = parseAnswer(readAnswerSchema, json);
  if (!parsed.ok) throw new Error(`sdk-verify-cost: answer malformed: ${parsed.detail}`);
  const answer = parsed.value;
  const proofSiblings = countSiblings(answer.proof);
  const out: VerifyCost[] = [];
  for (const [name, backend] of backends) {
    // As a read does it (reads.ts): the certificate from the answer's JSON through the trust state, which
    // recognizes one it verified before by its text; then the map proof under its header.
    const verifyWith = (trust: TrustState) => {
      const cert = trust.certificateOfJson(json.certificate);
      check(cert.ok, 'the certificate JSON');
      if (!cert.ok) return;
      check(trust.verifyCertificate(cert.certificate).ok, 'the certificate');
      check(verifyEntry(backend, cert.certificate.header, key, answer.entry, answer.proof).ok, 'the map proof');
    };
    const coldMs = only !== undefined ? NaN : await timePerCall(budgetMs, () => verifyWith(new TrustState(membership, backend, trustSizes)));
    const warm = new TrustState(membership, backend, trustSizes);
    verifyWith(warm);
    const cachedMs = only === 'get' ? NaN : await timePerCall(budgetMs, () => verifyWith(warm));
    check(warm.certificateChecks === 1, 'the cached certificate (it was checked again)');
    // The answer is served from memory as if fresh: the in-memory clock is the certificate's own time.
    const client = await RegistryClient.create({
      membership,
      replicas: ['http://in-memory'],
      // The newest epoch is asked once (the clock stands still), of the real replica under two names:
      // this measures verification, not the f+1 rule, which the client tests cover.
      epochReplicas: ['http://in-memory', 'http://in-memory-2'],
      backend,
      fetch: async (input) => {
        const epochs = /\/v1\/epochs\?.*$/.exec(input);
        if (epochs !== null) return fetchFn(replicaUrl + epochs[0]);
        // The answer's bytes as nodeFetch hands them over (a BufferedAnswer: no Response, no stream).
        return new BufferedAnswer(200, bytes, [['content-type', 'application/json']]);
      },
      now: () => Number(answer.certificate.header.timestampMs),
    });
    const getMs = only === 'cached' ? NaN : await timePerCall(budgetMs, async () => check((await client.get(key)).entry !== undefined, 'get()'));
    out.push({ backend: name, coldMs, cachedMs, getMs, proofSiblings });
  }
  return out;
}

function countSiblings(proof: unknown): number {
  const p = proof as { siblings?: unknown[] } | undefined;
  return Array.isArray(p?.siblings) ? p.siblings.length : NaN;
}
