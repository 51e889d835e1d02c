// The client's trusted state (DESIGN section 7): the memberships it trusts
// by epoch (the pinned one now; the epoch chain walk of issue 6 adds later
// ones through `trustMembership`), the highest certified header it verified
// (the rollback floor and the log head that later heads must extend), the
// last request id it used, and bounded memories: certificates verified by
// header hash, headers seen by height (to catch a fork), consistency proofs
// checked. Synchronous and I/O-free; the client fetches and persists.

import {
  bytesToHex,
  type Certificate,
  certificateToJson,
  type CryptoBackend,
  headerHash,
  type Membership,
  parseCertificateJson,
  verifyCertificate,
} from '@vcr/proofs';
import { z } from 'zod';
import { ForkError, RegistryError, unknownEpochDetail } from './errors';
import { LruMap } from './lru';

export interface TrustedHead {
  height: bigint;
  epoch: bigint;
  headerHash: Uint8Array;
  timestampMs: bigint;
  logSize: bigint;
  logRoot: Uint8Array;
  certificate: Certificate;
}

export type CertificateVerdict =
  | { ok: true; headerHash: Uint8Array }
  | { ok: false; code: 'unknown-epoch' | 'verification-failed'; detail: string };

export interface TrustSizes {
  certificateCacheSize: number;
  forkWindowSize: number;
  consistencyCacheSize: number;
}

export const TRUST_FORMAT = 'vcr-client-trust/1';

const persistedSchema = z.strictObject({
  format: z.literal(TRUST_FORMAT),
  chainId: z.string(),
  head: z.unknown(),
  lastRequestId: z.string().regex(/^(?:0|[1-9][0-9]{0,18})$/),
});

export class TrustState {
  private readonly memberships = new Map<bigint, Membership>();
  private headValue: TrustedHead | undefined;
  lastRequestId = 0n;
  /** Header hashes (hex) whose certificate verified; a header verified once is certified however it is presented again. */
  private readonly verified: LruMap<string, true>;
  /** Verified headers by height, with the certificate that proved each: the evidence a fork error carries. */
  private readonly byHeight: LruMap<bigint, { hashHex: string; certificate: Certificate }>;
  private readonly consistent: LruMap<string, true>;
  /** Counts certificate checks that did signature work (the cache's effect is observable). */
  certificateChecks = 0;

  constructor(
    readonly genesis: Membership,
    private readonly backend: CryptoBackend,
    sizes: TrustSizes,
  ) {
    this.memberships.set(genesis.epoch, genesis);
    this.verified = new LruMap(sizes.certificateCacheSize);
    this.byHeight = new LruMap(sizes.forkWindowSize);
    this.consistent = new LruMap(sizes.consistencyCacheSize);
  }

  get chainId(): string {
    return this.genesis.chainId;
  }

  get head(): TrustedHead | undefined {
    return this.headValue;
  }

  /** The membership trusted for an epoch, if any. */
  membershipFor(epoch: bigint): Membership | undefined {
    return this.memberships.get(epoch);
  }

  /** The newest trusted epoch: what writes sign for. */
  get currentMembership(): Membership {
    let best = this.genesis;
    for (const m of this.memberships.values()) if (m.epoch > best.epoch) best = m;
    return best;
  }

  /** For the epoch chain walk (issue 6): a membership proven by a verified epoch link. */
  trustMembership(m: Membership): void {
    this.memberships.set(m.epoch, m);
  }

  headerHashOf(cert: Certificate): Uint8Array {
    return headerHash(this.backend, cert.header);
  }

  /** A verified header at this height, if remembered. */
  knownAt(height: bigint): { hashHex: string; certificate: Certificate } | undefined {
    if (this.headValue?.height === height) return { hashHex: bytesToHex(this.headValue.headerHash), certificate: this.headValue.certificate };
    return this.byHeight.get(height);
  }

  /** Checks a certificate against the membership of its epoch; signature work only for a header not verified before. */
  verifyCertificate(cert: Certificate): CertificateVerdict {
    const membership = this.membershipFor(cert.header.epoch);
    if (cert.header.chainId !== this.chainId) return { ok: false, code: 'verification-failed', detail: `certificate: wrong-chain (${JSON.stringify(cert.header.chainId.slice(0, 64))})` };
    if (membership === undefined) return { ok: false, code: 'unknown-epoch', detail: unknownEpochDetail(cert.header.epoch, this.currentMembership.epoch) };
    const hash = this.headerHashOf(cert);
    const hex = bytesToHex(hash);
    if (this.verified.get(hex)) return { ok: true, headerHash: hash };
    this.certificateChecks++;
    const verdict = verifyCertificate(this.backend, membership, cert);
    if (!verdict.ok) return { ok: false, code: 'verification-failed', detail: `certificate: ${verdict.reason}${verdict.detail ? ` (${verdict.detail.slice(0, 80)})` : ''}` };
    this.verified.set(hex, true);
    return { ok: true, headerHash: hash };
  }

  /** Throws ForkError when another verified header is known at this height. Call with a verified certificate only. */
  checkFork(cert: Certificate, hash: Uint8Array, replica: string): void {
    const known = this.knownAt(cert.header.height);
    if (known !== undefined && known.hashHex !== bytesToHex(hash)) throw new ForkError(cert.header.height, known.certificate, cert, replica);
  }

  /** Remembers a verified header for fork detection. */
  remember(cert: Certificate, hash: Uint8Array): void {
    if (!this.byHeight.has(cert.header.height)) this.byHeight.set(cert.header.height, { hashHex: bytesToHex(hash), certificate: cert });
  }

  consistencyKey(fromSize: bigint, fromRoot: Uint8Array, toSize: bigint, toRoot: Uint8Array): string {
    return `${fromSize}:${bytesToHex(fromRoot)}>${toSize}:${bytesToHex(toRoot)}`;
  }

  isConsistent(key: string): boolean {
    return this.consistent.get(key) === true;
  }

  markConsistent(key: string): void {
    this.consistent.set(key, true);
  }

  /** Makes a verified header the trusted head; the caller has checked it is higher and that its log extends the head's. */
  advance(cert: Certificate, hash: Uint8Array): void {
    const h = cert.header;
    if (this.headValue !== undefined && h.height <= this.headValue.height) throw new Error('trust state: advance must move the head up');
    this.remember(cert, hash);
    this.headValue = { height: h.height, epoch: h.epoch, headerHash: hash, timestampMs: h.timestampMs, logSize: h.logSize, logRoot: h.logRoot, certificate: cert };
  }

  /** The persisted form: the head's certificate (re-verified on load) and the last request id. */
  toText(): string {
    return JSON.stringify({
      format: TRUST_FORMAT,
      chainId: this.chainId,
      head: this.headValue === undefined ? null : certificateToJson(this.headValue.certificate),
      lastRequestId: this.lastRequestId.toString(),
    });
  }

  /** Restores a persisted state; the head's certificate must verify again. Throws RegistryError('storage') on anything else. */
  loadText(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new RegistryError('storage', 'saved trust state is not JSON');
    }
    const parsed = persistedSchema.safeParse(raw);
    if (!parsed.success) throw new RegistryError('storage', `saved trust state is not in format ${TRUST_FORMAT}`);
    if (parsed.data.chainId !== this.chainId) throw new RegistryError('storage', `saved trust state is for chain ${parsed.data.chainId}, not ${this.chainId}`);
    const lastRequestId = BigInt(parsed.data.lastRequestId);
    if (lastRequestId > this.lastRequestId) this.lastRequestId = lastRequestId;
    if (parsed.data.head === null) return;
    const cert = parseCertificateJson(parsed.data.head);
    if (!cert.ok) throw new RegistryError('storage', 'saved trusted head is malformed');
    const verdict = this.verifyCertificate(cert.value);
    if (!verdict.ok) throw new RegistryError('storage', `saved trusted head does not verify: ${verdict.detail}`);
    if (this.headValue === undefined || cert.value.header.height > this.headValue.height) this.advance(cert.value, verdict.headerHash);
  }
}
