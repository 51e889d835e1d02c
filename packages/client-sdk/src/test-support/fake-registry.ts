// Test support (not exported): an honest in-memory registry built from the
// real proof objects (MerkleMap, MerkleLog, certificates signed by a
// @vcr/proofs test cluster), served through a fake fetch, with hooks to make
// one replica lie. No sockets, no wall clock.

import {
  type Certificate,
  certificateToJson,
  type EpochLink,
  epochAcceptMessage,
  epochLinkToJson,
  membershipHash,
  signInDomain,
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
  /** links[i] leads from epoch genesis+i to genesis+i+1. */
  readonly links: EpochLink[] = [];
  executed = 0;
  clockMs = T0;
  /** The membership that certifies new blocks (changes with `rotate`). */
  cluster: TestCluster;

  constructor(readonly genesis: TestCluster = testCluster()) {
    this.cluster = genesis;
  }

  get height(): bigint {
    return BigInt(this.certificates.length);
  }

  get latest(): Certificate {
    const c = this.certificates.at(-1);
    if (c === undefined) throw new Error('no block yet');
    return c;
  }

  /** Certifies the current state as the next block (the last of its epoch when it names the next membership's hash). */
  commit(signers?: string[], nextMembershipHash: Uint8Array | null = null): Certificate {
    const prev = this.certificates.at(-1);
    const header = testHeader({
      nextMembershipHash,
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

  /**
   * A membership change as the replicas make it: the last block of the
   * current epoch commits to `next`'s hash and is certified by the current
   * membership; `next`'s replicas sign epoch-accept over it; later blocks
   * are certified by `next`.
   */
  rotate(next: TestCluster): EpochLink {
    const nextHash = membershipHash(nobleBackend, next.membership);
    const last = this.commit(undefined, nextHash);
    const message = epochAcceptMessage(headerHash(nobleBackend, last.header), nextHash);
    const newSignatures = [...next.signers.entries()].map(([replicaId, signer]) => ({
      replicaId,
      signature: signInDomain(signer, { kind: 'epoch-accept', chainId: next.membership.chainId, epoch: next.membership.epoch }, message),
    }));
    const link: EpochLink = { lastHeader: last.header, oldCommitView: last.commitView, oldSignatures: last.signatures, nextMembership: next.membership, newSignatures };
    this.links.push(link);
    this.cluster = next;
    return link;
  }

  /** `GET /v1/epochs?after=&limit=`: the links into epochs after+1, after+2, ... */
  epochsAnswer(after: bigint, limit: number): unknown {
    const from = Number(after - this.genesis.membership.epoch);
    return { current: this.cluster.membership.epoch.toString(), links: this.links.slice(Math.max(from, 0), Math.max(from, 0) + limit).map(epochLinkToJson) };
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

  /** `GET /v1/keys?prefix=&after=&limit=`: live keys in UTF-8 byte order (ASCII keys here), `next` when the page is full. */
  listAnswer(prefix: string, after: string | undefined, limit: number, cert = this.latest): unknown {
    const keys = [...this.map.entries()].map(([k]) => k).filter((k) => k.startsWith(prefix) && (after === undefined || k > after)).sort().slice(0, limit);
    return {
      prefix,
      keys: keys.map((key) => {
        const entry = this.map.get(key);
        return { key, value: bytesToHex(entry?.value ?? new Uint8Array()), revision: (entry?.revision ?? 0n).toString(), proof: mapProofToJson(this.map.prove(key)) };
      }),
      certificate: certificateToJson(cert),
      next: keys.length === limit ? (keys.at(-1) ?? null) : null,
    };
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

/** With `?proveFrom=N`, an answer certified at a larger log size carries the consistency proof from N, as the replica's does. */
function carryConsistency(reg: FakeRegistry, body: unknown, proveFrom: string | null): unknown {
  if (proveFrom === null) return body;
  const to = BigInt((body as { certificate: { header: { logSize: string } } }).certificate.header.logSize);
  const from = BigInt(proveFrom);
  if (from < 1n || from >= to) return body;
  return { ...(body as object), consistency: { from: from.toString(), to: to.toString(), proof: logProofToJson(reg.log.consistencyProof(from, to)) } };
}

/** An honest replica over a registry; `tamper` may rewrite any answer body before it is sent. */
export function honest(reg: FakeRegistry, tamper?: (path: string, body: unknown) => unknown): Handler {
  const send = (path: string, body: unknown, status = 200) => json(tamper ? tamper(path, body) : body, status);
  return async (path, init) => {
    const url = new URL(path, 'http://fake');
    if (init?.method === 'POST' && url.pathname === '/v1/requests') {
      const parsed = parseClientRequestJson(JSON.parse(String(init.body)));
      if (!parsed.ok) return json({ error: { code: 'malformed', message: 'bad request' } }, 400);
      return send(path, carryConsistency(reg, reg.execute(parsed.value), url.searchParams.get('proveFrom')));
    }
    if (url.pathname === '/v1/headers/latest') return send(path, certificateToJson(reg.latest));
    if (url.pathname === '/v1/epochs') {
      const after = url.searchParams.get('after') ?? '';
      const limit = Number(url.searchParams.get('limit') ?? '64');
      if (!/^(?:0|[1-9][0-9]{0,18})$/.test(after) || !Number.isInteger(limit) || limit < 1 || limit > 64) return json({ error: { code: 'malformed', message: 'after or limit' } }, 400);
      return send(path, reg.epochsAnswer(BigInt(after), limit));
    }
    if (url.pathname === '/v1/log/consistency') {
      const from = BigInt(url.searchParams.get('from') ?? '0');
      const to = BigInt(url.searchParams.get('to') ?? '0');
      return send(path, { from: from.toString(), to: to.toString(), proof: logProofToJson(reg.log.consistencyProof(from, to)) });
    }
    if (url.pathname === '/v1/keys') return send(path, reg.listAnswer(url.searchParams.get('prefix') ?? '', url.searchParams.get('after') ?? undefined, Number(url.searchParams.get('limit') ?? '50')));
    if (url.pathname.startsWith('/v1/keys/')) return send(path, carryConsistency(reg, reg.readAnswer(decodeURIComponent(url.pathname.slice('/v1/keys/'.length))), url.searchParams.get('proveFrom')));
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

/**
 * Options that serve `replicas` and two more honest replicas of `reg` asked
 * only for the newest epoch: the client learns it from f+1 = 2 replicas
 * before it trusts a certificate (DESIGN section 7), so a test of one replica,
 * or of one liar, also gives the client honest replicas to learn it from.
 */
export function withEpochWitnesses(reg: FakeRegistry, replicas: Record<string, Handler>, calls?: string[]): { replicas: string[]; epochReplicas: string[]; fetch: FetchLike } {
  const witnesses: Record<string, Handler> = { 'http://epochs-1': honest(reg), 'http://epochs-2': honest(reg) };
  return { replicas: Object.keys(replicas), epochReplicas: [...Object.keys(replicas), ...Object.keys(witnesses)], fetch: fakeFetch({ ...witnesses, ...replicas }, calls) };
}
