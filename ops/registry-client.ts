// A minimal verifying client for the operator CLI and the multi-process
// tests, until the client SDK (packages/client-sdk) lands. It trusts nothing a
// replica says: every answer is checked with @vcr/proofs against the pinned
// genesis membership, and a failed check is reported with the rule that failed.

import {
  bytesToHex,
  type Certificate,
  hashLeaf,
  hexToBytes,
  type Membership,
  parseCertificateJson,
  parseLogProofJson,
  parseMapProofJson,
  signInDomain,
  tryHexToBytes,
  type Signer,
  verifyCertificate,
  verifyInclusion,
  verifyMembership,
  verifyNonMembership,
} from '@vcr/proofs';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { requestSigningMessage } from '@vcr/consensus';
import { decodeResult, encodeOp, leafForRequest, type RegistryOp, type RegistryResult } from '@vcr/registry';
import { clientRequestToJson } from '../apps/replica/src/wire';
import { type VerifiedChange, verifyChange } from './verify-change';

export type Verified<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface VerifiedRead {
  key: string;
  entry: { value: Uint8Array; revision: bigint } | undefined;
  height: bigint;
  timestampMs: bigint;
  replica: string;
}

export interface VerifiedWrite {
  result: RegistryResult;
  height: bigint;
  logIndex: bigint;
  replica: string;
}

export class RegistryClient {
  readonly clientId: string;
  private readonly signer: Signer;
  private lastRequestId = 0n;

  constructor(
    private readonly membership: Membership,
    private readonly urls: readonly string[],
    seed: Uint8Array,
  ) {
    this.signer = createNodeSigner(seed);
    this.clientId = bytesToHex(this.signer.publicKey);
  }

  /** Request ids must grow per client across runs: derive them from the clock, never reuse one. */
  private nextRequestId(): bigint {
    const now = BigInt(Date.now()) * 1000n;
    this.lastRequestId = now > this.lastRequestId ? now : this.lastRequestId + 1n;
    return this.lastRequestId;
  }

  async write(op: RegistryOp, url = this.urls[0] as string, retries = 0): Promise<Verified<VerifiedWrite>> {
    const unsigned = { clientId: this.clientId, requestId: this.nextRequestId(), payload: encodeOp(op) };
    const signature = signInDomain(this.signer, { kind: 'client-request', chainId: this.membership.chainId, epoch: this.membership.epoch }, requestSigningMessage(unsigned));
    const request = { ...unsigned, signature };
    // Retries resend the same signed request (same id): the registry executes it at most once.
    let res: Response | undefined;
    let body: Record<string, unknown> = {};
    const targets = [url, ...this.urls.filter((u) => u !== url)];
    for (let attempt = 0; attempt <= retries; attempt++) {
      const target = targets[attempt % targets.length] as string;
      try {
        res = await fetch(`${target}/v1/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(clientRequestToJson(request)), signal: AbortSignal.timeout(15_000) });
        body = (await res.json()) as Record<string, unknown>;
      } catch (error) {
        res = undefined;
        body = { error: String(error) };
      }
      if (res?.ok || (res && res.status < 500)) break;
    }
    if (!res?.ok) return { ok: false, reason: `HTTP ${res?.status ?? 'unreachable'}: ${JSON.stringify(body.error ?? body)}` };
    const certificate = parseCertificateJson(body.certificate);
    if (!certificate.ok) return { ok: false, reason: `receipt certificate malformed: ${certificate.issues.join('; ')}` };
    const header = certificate.value.header;
    const cert = verifyCertificate(nodeBackend, this.membership, certificate.value);
    if (!cert.ok) return { ok: false, reason: `receipt certificate: ${cert.reason}` };
    const reply = body.reply as { result?: unknown } | undefined;
    const result = typeof reply?.result === 'string' ? hexToBytes(reply.result) : undefined;
    if (!result) return { ok: false, reason: 'receipt has no result' };
    // The leaf is rebuilt from our own request and the reply: the replica cannot substitute another request.
    const leaf = leafForRequest(nodeBackend, { seq: header.height, request, result });
    const proof = parseLogProofJson(body.inclusionProof);
    if (!proof.ok || typeof body.logIndex !== 'string') return { ok: false, reason: 'receipt inclusion proof malformed' };
    const logIndex = BigInt(body.logIndex);
    const included = verifyInclusion(nodeBackend, { leafHash: hashLeaf(nodeBackend, leaf), index: logIndex, size: header.logSize, proof: proof.value, root: header.logRoot });
    if (!included.ok) return { ok: false, reason: `receipt inclusion: ${included.reason}` };
    const decoded = decodeResult(result);
    if (!decoded.ok) return { ok: false, reason: 'result malformed' };
    return { ok: true, value: { result: decoded.result, height: header.height, logIndex, replica: res.url } };
  }

  async read(key: string, url = this.urls[0] as string): Promise<Verified<VerifiedRead>> {
    const res = await fetch(`${url}/v1/keys/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) return { ok: false, reason: `HTTP ${res.status}: ${JSON.stringify(body.error ?? body)}` };
    const cert = parseCertificateJson(body.certificate);
    if (!cert.ok) return { ok: false, reason: 'certificate malformed' };
    const certified = verifyCertificate(nodeBackend, this.membership, cert.value);
    if (!certified.ok) return { ok: false, reason: `certificate: ${certified.reason}` };
    const proof = parseMapProofJson(body.proof);
    if (!proof.ok) return { ok: false, reason: 'map proof malformed' };
    const root = cert.value.header.stateRoot;
    const entryJson = body.entry as { value?: unknown; revision?: unknown } | null;
    let entry: VerifiedRead['entry'];
    if (entryJson === null) {
      const absent = verifyNonMembership(nodeBackend, { root, key, proof: proof.value });
      if (!absent.ok) return { ok: false, reason: `absence proof: ${absent.reason}` };
    } else {
      if (typeof entryJson?.value !== 'string' || typeof entryJson.revision !== 'string' || !/^[1-9][0-9]{0,18}$/.test(entryJson.revision)) return { ok: false, reason: 'entry malformed' };
      entry = { value: hexToBytes(entryJson.value), revision: BigInt(entryJson.revision) };
      const present = verifyMembership(nodeBackend, { root, key, entry, proof: proof.value });
      if (!present.ok) return { ok: false, reason: `membership proof: ${present.reason}` };
    }
    return { ok: true, value: { key, entry, height: cert.value.header.height, timestampMs: cert.value.header.timestampMs, replica: url } };
  }

  /** Live keys under a prefix (first page), each entry verified by its map proof against one certificate. */
  async list(prefix: string, url = this.urls[0] as string): Promise<Verified<{ keys: { key: string; value: Uint8Array; revision: bigint }[]; height: bigint }>> {
    const body = await getJson(`${url}/v1/keys?prefix=${encodeURIComponent(prefix)}&limit=200`);
    if (!body.ok) return body;
    const cert = parseCertificateJson(body.value.certificate);
    if (!cert.ok) return { ok: false, reason: 'certificate malformed' };
    const certified = verifyCertificate(nodeBackend, this.membership, cert.value);
    if (!certified.ok) return { ok: false, reason: `certificate: ${certified.reason}` };
    const keys = body.value.keys;
    if (!Array.isArray(keys)) return { ok: false, reason: 'keys missing' };
    const verified: { key: string; value: Uint8Array; revision: bigint }[] = [];
    for (const item of keys as { key?: unknown; value?: unknown; revision?: unknown; proof?: unknown }[]) {
      const proof = parseMapProofJson(item?.proof);
      if (typeof item?.key !== 'string' || !item.key.startsWith(prefix) || typeof item.value !== 'string' || typeof item.revision !== 'string' || !/^[1-9][0-9]{0,18}$/.test(item.revision) || !proof.ok) {
        return { ok: false, reason: `listed key ${verified.length} malformed or outside the prefix` };
      }
      const value = tryHexToBytes(item.value);
      if (value === undefined) return { ok: false, reason: `${item.key}: value is not hex` };
      const entry = { value, revision: BigInt(item.revision) };
      const present = verifyMembership(nodeBackend, { root: cert.value.header.stateRoot, key: item.key, entry, proof: proof.value });
      if (!present.ok) return { ok: false, reason: `${item.key}: membership proof: ${present.reason}` };
      verified.push({ key: item.key, ...entry });
    }
    return { ok: true, value: { keys: verified, height: cert.value.header.height } };
  }

  /** One page of a key's history; every entry verified, or the first failure. */
  async history(key: string, from = 0n, url = this.urls[0] as string): Promise<Verified<{ changes: VerifiedChange[]; next: bigint | undefined }>> {
    const body = await getJson(`${url}/v1/keys/${encodeURIComponent(key)}/history?from=${from}`);
    if (!body.ok) return body;
    const page = this.verifyPage(body.value.entries, key);
    if (!page.ok) return page;
    const next = body.value.next;
    return { ok: true, value: { changes: page.value, next: typeof next === 'string' && /^[0-9]{1,19}$/.test(next) ? BigInt(next) : undefined } };
  }

  /** Changes under a prefix from a log index (long-polled for up to `waitMs`); every entry verified. */
  async changes(prefix: string, from: bigint, waitMs: number, url = this.urls[0] as string): Promise<Verified<{ changes: VerifiedChange[]; next: bigint }>> {
    const body = await getJson(`${url}/v1/changes?prefix=${encodeURIComponent(prefix)}&from=${from}&waitMs=${waitMs}`, waitMs + 10_000);
    if (!body.ok) return body;
    const page = this.verifyPage(body.value.entries, undefined, prefix);
    if (!page.ok) return page;
    const next = body.value.next;
    if (typeof next !== 'string' || !/^[0-9]{1,19}$/.test(next) || BigInt(next) < from) return { ok: false, reason: 'next cursor malformed or going backwards' };
    // Entries must be in log order at or after `from`: a replica cannot replay old changes as new.
    const indices = page.value.map((c) => c.logIndex);
    if (indices.some((i, n) => i < from || (n > 0 && i < (indices[n - 1] as bigint)))) return { ok: false, reason: 'changes out of order' };
    return { ok: true, value: { changes: page.value, next: BigInt(next) } };
  }

  private verifyPage(entries: unknown, key: string | undefined, prefix?: string): Verified<VerifiedChange[]> {
    if (!Array.isArray(entries)) return { ok: false, reason: 'entries missing' };
    const changes: VerifiedChange[] = [];
    for (const entry of entries) {
      const verdict = verifyChange(this.membership, entry);
      if (!verdict.ok) return { ok: false, reason: `change ${changes.length}: ${verdict.reason}` };
      if (key !== undefined && verdict.change.key !== key) return { ok: false, reason: `change ${changes.length} is for another key` };
      if (prefix !== undefined && !verdict.change.key.startsWith(prefix)) return { ok: false, reason: `change ${changes.length} is outside the prefix` };
      changes.push(verdict.change);
    }
    return { ok: true, value: changes };
  }

  async latestCertificate(url = this.urls[0] as string): Promise<Verified<Certificate>> {
    const res = await fetch(`${url}/v1/headers/latest`, { signal: AbortSignal.timeout(5_000) });
    const cert = parseCertificateJson(await res.json());
    if (!cert.ok) return { ok: false, reason: 'certificate malformed' };
    const certified = verifyCertificate(nodeBackend, this.membership, cert.value);
    return certified.ok ? { ok: true, value: cert.value } : { ok: false, reason: certified.reason };
  }
}

async function getJson(url: string, timeoutMs = 10_000): Promise<Verified<Record<string, unknown>>> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) return { ok: false, reason: `HTTP ${res.status}: ${JSON.stringify(body.error ?? body)}` };
    return { ok: true, value: body };
  } catch (error) {
    return { ok: false, reason: `unreachable: ${error instanceof Error ? error.message : String(error)}` };
  }
}
