// Test support (not exported): an honest in-memory registry built from the
// real proof objects (MerkleMap, MerkleLog, certificates signed by a
// @vcr/proofs test cluster), served through a fake fetch, with hooks to make
// one replica lie. No sockets, no wall clock.

import {
  type Certificate,
  certificateToJson,
  type ClientRequest,
  clientRequestToJson,
  headerHash,
  logProofToJson,
  mapProofToJson,
  MerkleLog,
  MerkleMap,
  nobleBackend,
  parseClientRequestJson,
  bytesToHex,
} from '@vcr/proofs';
import { testCertificate, testCluster, testHeader, type TestCluster } from '@vcr/proofs/testing';
import { decodeOp, encodeResult, leafForRequest, type RegistryResult, singleOps } from '@vcr/registry';
import type { FetchLike } from '../http';

export const T0 = 1_700_000_000_000;

export class FakeRegistry {
  readonly map = new MerkleMap(nobleBackend);
  readonly log = new MerkleLog(nobleBackend);
  readonly certificates: Certificate[] = [];
  readonly receipts = new Map<string, unknown>();
  readonly requestsSeen: ClientRequest[] = [];
  executed = 0;
  clockMs = T0;

  constructor(readonly cluster: TestCluster = testCluster()) {}

  get height(): bigint {
    return BigInt(this.certificates.length);
  }

  get latest(): Certificate {
    const c = this.certificates.at(-1);
    if (c === undefined) throw new Error('no block yet');
    return c;
  }

  /** Certifies the current state as the next block. */
  commit(signers?: string[]): Certificate {
    const prev = this.certificates.at(-1);
    const header = testHeader({
      chainId: this.cluster.membership.chainId,
      epoch: this.cluster.membership.epoch,
      height: this.height + 1n,
      prevHash: prev ? headerHash(nobleBackend, prev.header) : new Uint8Array(32),
      stateRoot: this.map.root,
      logRoot: this.log.root(),
      logSize: this.log.size,
      timestampMs: BigInt(this.clockMs),
    });
    const cert = testCertificate(this.cluster, header, signers);
    this.certificates.push(cert);
    return cert;
  }

  /** A write outside any request (state set up by a test), then a block. */
  set(key: string, value: string, revision = (this.map.get(key)?.revision ?? 0n) + 1n): Certificate {
    this.map.set(key, { value: new TextEncoder().encode(value), revision });
    return this.commit();
  }

  /** Executes a signed request once (reply cache by client and id) and returns its receipt JSON. */
  execute(request: ClientRequest): unknown {
    this.requestsSeen.push(request);
    const id = `${request.clientId}/${request.requestId}`;
    const known = this.receipts.get(id);
    if (known !== undefined) return known;
    this.executed++;
    const op = decodeOp(request.payload);
    let result: RegistryResult = { ok: false, error: 'malformed-op' };
    if (op.ok) {
      const revisions: bigint[] = [];
      let failed: RegistryResult | undefined;
      for (const single of singleOps(op.op)) {
        const current = this.map.get(single.key);
        if (single.op === 'cas' && (current?.revision ?? 0n) !== single.expectedRevision) failed = { ok: false, error: 'revision-mismatch' };
        if (single.op === 'delete' && current === undefined) failed = { ok: false, error: 'absent' };
        if (failed) break;
        if (single.op === 'delete') {
          this.map.delete(single.key);
          revisions.push(0n);
        } else {
          const revision = (current?.revision ?? 0n) + 1n;
          this.map.set(single.key, { value: single.value, revision });
          revisions.push(revision);
        }
      }
      result = failed ?? { ok: true, revisions };
    }
    const resultBytes = encodeResult(result);
    const leaf = leafForRequest(nobleBackend, { seq: this.height + 1n, request, result: resultBytes });
    const logIndex = this.log.append(leaf);
    const cert = this.commit();
    const receipt = {
      certificate: certificateToJson(cert),
      reply: { clientId: request.clientId, requestId: request.requestId.toString(), result: bytesToHex(resultBytes) },
      logIndex: logIndex.toString(),
      leafData: bytesToHex(leaf),
      inclusionProof: logProofToJson(this.log.inclusionProof(logIndex, this.log.size)),
    };
    this.receipts.set(id, receipt);
    return receipt;
  }

  readAnswer(key: string, cert = this.latest): unknown {
    const entry = this.map.get(key);
    return {
      key,
      entry: entry ? { value: bytesToHex(entry.value), revision: entry.revision.toString() } : null,
      proof: mapProofToJson(this.map.prove(key)),
      certificate: certificateToJson(cert),
    };
  }
}

export type Handler = (path: string, init: RequestInit | undefined) => Response | Promise<Response>;

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** An honest replica over a registry; `tamper` may rewrite any answer body before it is sent. */
export function honest(reg: FakeRegistry, tamper?: (path: string, body: unknown) => unknown): Handler {
  const send = (path: string, body: unknown, status = 200) => json(tamper ? tamper(path, body) : body, status);
  return async (path, init) => {
    const url = new URL(path, 'http://fake');
    if (init?.method === 'POST' && url.pathname === '/v1/requests') {
      const parsed = parseClientRequestJson(JSON.parse(String(init.body)));
      if (!parsed.ok) return json({ error: { code: 'malformed', message: 'bad request' } }, 400);
      return send(path, reg.execute(parsed.value));
    }
    if (url.pathname === '/v1/headers/latest') return send(path, certificateToJson(reg.latest));
    if (url.pathname === '/v1/log/consistency') {
      const from = BigInt(url.searchParams.get('from') ?? '0');
      const to = BigInt(url.searchParams.get('to') ?? '0');
      return send(path, { from: from.toString(), to: to.toString(), proof: logProofToJson(reg.log.consistencyProof(from, to)) });
    }
    if (url.pathname.startsWith('/v1/keys/')) return send(path, reg.readAnswer(decodeURIComponent(url.pathname.slice('/v1/keys/'.length))));
    return json({ error: { code: 'not-found', message: 'no such endpoint' } }, 404);
  };
}

/** A fetch serving `http://rN` from the handler of each replica; an unknown host is a transport error. */
export function fakeFetch(replicas: Record<string, Handler>, calls: string[] = []): FetchLike {
  return async (input, init) => {
    calls.push(input);
    const url = new URL(input);
    const handler = replicas[url.origin];
    if (handler === undefined) throw new TypeError(`fetch failed: connect ECONNREFUSED ${url.origin}`);
    if (init?.signal?.aborted) throw init.signal.reason;
    return handler(url.pathname + url.search, init);
  };
}

export { clientRequestToJson };
