// The client's trusted state (DESIGN sections 6-7): the memberships it trusts
// by epoch (the proofs' TrustedEpochs: the pinned one, then each one proven by
// a verified epoch link; `addEpochLink` is the only way in), the highest certified header it verified
// (the rollback floor and the log head that later heads must extend), the
// last request id it used, and bounded memories: certificates verified by
// header hash, headers seen by height (to catch a fork), consistency proofs
// checked. Synchronous and I/O-free; the client fetches and persists.

import {
  bytesToHex,
  type Certificate,
  certificateToJson,
  type CryptoBackend,
  equalBytes,
  type EpochLink,
  epochLinkToJson,
  headerHash,
  type Membership,
  parseCertificateJson,
  parseEpochLinkJson,
  TrustedEpochs,
  type TrustedLinkRejection,
  verifyCertificate,
  weakQuorumSize,
} from '@vcr/proofs';
import * as z from 'zod';
import { ForkError, RegistryError, unknownEpochDetail } from './errors';
import { sdkLimits } from './limits';
import { sameJson } from './json-equal';
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
  | { ok: true; headerHash: Uint8Array; headerHashHex: string }
  | { ok: false; code: 'unknown-epoch' | 'verification-failed'; detail: string };

export interface TrustSizes {
  certificateCacheSize: number;
  forkWindowSize: number;
  consistencyCacheSize: number;
  /** Certificates recognized by their JSON text (certificateOfJson); default sdkLimits.certificateTextCacheSize. */
  certificateTextCacheSize?: number;
}

/** A certificate read from an answer's JSON: parsed, or recognized as one this trust state already verified. */
export type CertificateOfJson = { ok: true; certificate: Certificate } | { ok: false; detail: string };

/** Why an epoch link was not trusted: a rule of the proofs' TrustedEpochs (verifyEpochChain, its cap), or the trusted head's. */
export type EpochLinkRejection = TrustedLinkRejection | 'ends-below-trusted-head';

export type EpochLinkVerdict = { ok: true; membership: Membership } | { ok: false; reason: EpochLinkRejection; detail?: string };

/** Version 2 adds the verified epoch links; version 1 files (no links) still load. */
export const TRUST_FORMAT = 'vcr-client-trust/2';
const TRUST_FORMAT_V1 = 'vcr-client-trust/1';

const persistedSchema = z.strictObject({
  format: z.enum([TRUST_FORMAT, TRUST_FORMAT_V1]),
  chainId: z.string(),
  epochLinks: z.array(z.unknown()).max(sdkLimits.epochLinksTrustedMax).optional(),
  head: z.unknown(),
  lastRequestId: z.string().regex(/^(?:0|[1-9][0-9]{0,18})$/),
});

/** Where a certificate's JSON is looked up for recognition: its header's height and state root, as spelled in the JSON. */
function fingerprintOf(untrusted: unknown): string | undefined {
  const header = (untrusted as { header?: { height?: unknown; stateRoot?: unknown } } | null)?.header;
  if (typeof header !== 'object' || header === null) return undefined;
  const { height, stateRoot } = header;
  if (typeof height !== 'string' || typeof stateRoot !== 'string' || height.length > 19 || stateRoot.length !== 64) return undefined;
  return `${height}:${stateRoot}`;
}

export class TrustState {
  /** The verified epoch chain from the pinned membership (at most sdkLimits.epochLinksTrustedMax links). */
  private epochChain: TrustedEpochs;
  private headValue: TrustedHead | undefined;
  lastRequestId = 0n;
  /** Header hashes (hex) whose certificate verified; a header verified once is certified however it is presented again. */
  private readonly verified: LruMap<string, true>;
  /** Verified headers by height, with the certificate that proved each: the evidence a fork error carries. */
  private readonly byHeight: LruMap<bigint, { hashHex: string; certificate: Certificate }>;
  private readonly consistent: LruMap<string, true>;
  /**
   * Certificates this state verified, with their JSON form, by a fingerprint
   * of the header (height and state root as the answer spells them): an
   * answer whose certificate is the same JSON value (json-equal.ts) gets the
   * verified object back without schema parsing, header hashing or signature
   * work, and without serializing the answer. Bounded.
   */
  private readonly byText: LruMap<string, { json: unknown; certificate: Certificate }>;
  /** Certificates parsed from an answer and not yet verified: only these are remembered for recognition once they verify. */
  private readonly parsedFromAnswer = new WeakSet<Certificate>();
  /** Header hashes of the frozen certificate objects that verified here (byText's): the same object is never hashed twice. */
  private readonly verifiedObjects = new WeakMap<Certificate, { hash: Uint8Array; hex: string }>();
  /** Counts certificate checks that did signature work (the cache's effect is observable). */
  certificateChecks = 0;
  /** Counts certificates that were recognized by their JSON text (no parsing, hashing or signature work). */
  certificatesRecognized = 0;
  /** The last time f+1 replicas confirmed the newest epoch (local clock), and the newest trusted epoch then. Not persisted: every process learns again. */
  private newestEpochConfirmed: { epoch: bigint; atMs: number } | undefined;

  constructor(
    readonly genesis: Membership,
    readonly backend: CryptoBackend,
    sizes: TrustSizes,
  ) {
    this.epochChain = TrustedEpochs.pin(genesis, sdkLimits.epochLinksTrustedMax);
    this.verified = new LruMap(sizes.certificateCacheSize);
    this.byHeight = new LruMap(sizes.forkWindowSize);
    this.consistent = new LruMap(sizes.consistencyCacheSize);
    this.byText = new LruMap(sizes.certificateTextCacheSize ?? sdkLimits.certificateTextCacheSize);
  }

  /**
   * The certificate of an answer from its untrusted JSON value. A value equal
   * to the JSON form of a certificate verified before under this trust state
   * gives that verified object (frozen; callers never change it); any other
   * is parsed (the zod-free fast path, else the schema), and remembered once
   * verifyCertificate accepts it. Recognition skips only work whose result
   * is already known: verifyCertificate still runs its cheap checks (chain,
   * trusted epoch, the epoch's height range) on every certificate.
   */
  certificateOfJson(untrusted: unknown): CertificateOfJson {
    const fingerprint = fingerprintOf(untrusted);
    if (fingerprint !== undefined) {
      const known = this.byText.get(fingerprint);
      if (known !== undefined && sameJson(untrusted, known.json)) {
        this.certificatesRecognized++;
        return { ok: true, certificate: known.certificate };
      }
    }
    const parsed = parseCertificateJson(untrusted);
    if (!parsed.ok) return { ok: false, detail: parsed.issues.slice(0, 3).map((i) => `certificate.${i}`).join('; ') };
    this.parsedFromAnswer.add(parsed.value);
    return { ok: true, certificate: parsed.value };
  }

  get chainId(): string {
    return this.genesis.chainId;
  }

  get head(): TrustedHead | undefined {
    return this.headValue;
  }

  /** The verified epoch chain: where an epoch walk (the proofs' EpochWalk) starts. */
  get epochs(): TrustedEpochs {
    return this.epochChain;
  }

  /** The membership trusted for an epoch, if any: the pinned one or one proven by the verified links. */
  membershipFor(epoch: bigint): Membership | undefined {
    return this.epochChain.membershipFor(epoch);
  }

  /** The newest trusted membership: what writes sign for, and where the next walk starts. */
  get newestMembership(): Membership {
    return this.epochChain.newest;
  }

  /**
   * True when the newest epoch must be learned from f+1 replicas before a
   * certificate is trusted (DESIGN section 7, "Newest epoch"; docs/client-sdk.md):
   * on first use, when the last confirmation is older than `maxAgeMs` (or the
   * clock went back), and when a newer link was trusted since (a newer epoch
   * showed up, so a still newer one may exist). Otherwise retired keys could
   * certify a height past the end of their epoch to a client that never heard
   * that the epoch ended.
   */
  newestEpochCheckDue(nowMs: number, maxAgeMs: number): boolean {
    const confirmed = this.newestEpochConfirmed;
    if (confirmed === undefined || this.newestMembership.epoch !== confirmed.epoch) return true;
    return nowMs < confirmed.atMs || nowMs - confirmed.atMs > maxAgeMs;
  }

  /** Replicas that must answer the newest-epoch question: f+1 of the newest trusted membership, so at least one is honest. */
  get newestEpochAnswersNeeded(): number {
    return weakQuorumSize(this.newestMembership.f);
  }

  /**
   * Records that `answered` distinct replicas told their newest epoch (each
   * link they proved already walked). True when that is f+1 of the newest
   * membership; nothing is recorded otherwise.
   */
  confirmNewestEpoch(answered: number, nowMs: number): boolean {
    if (answered < this.newestEpochAnswersNeeded) return false;
    this.newestEpochConfirmed = { epoch: this.newestMembership.epoch, atMs: nowMs };
    return true;
  }

  /** Every trusted membership, the pinned one first, in epoch order. */
  get trustedMemberships(): Membership[] {
    return [...this.epochChain.memberships];
  }


  /**
   * Verifies one untrusted link from the newest trusted membership (the
   * proofs' TrustedEpochs.extend: old quorum over the old epoch's last
   * header, whose nextMembershipHash names the next membership, and the next
   * membership's epoch-accept quorum) and only then trusts the membership it
   * proves. The old epoch's last header is remembered as verified, so a
   * different header certified at its height is a fork (thrown).
   */
  addEpochLink(untrusted: EpochLink, replica: string): EpochLinkVerdict {
    const from = this.newestMembership;
    const head = this.headValue;
    // Cheap before crypto: an epoch cannot end below a header of it already trusted.
    if (head !== undefined && head.epoch === from.epoch && untrusted.lastHeader.height < head.height) {
      return { ok: false, reason: 'ends-below-trusted-head', detail: `epoch ${from.epoch} ends at height ${untrusted.lastHeader.height}, below the trusted head at ${head.height}` };
    }
    const verdict = this.epochChain.extend(this.backend, untrusted);
    if (!verdict.ok) return verdict;
    const boundary: Certificate = { header: untrusted.lastHeader, commitView: untrusted.oldCommitView, signatures: untrusted.oldSignatures };
    const hash = this.headerHashOf(boundary);
    this.checkFork(boundary, hash, replica);
    this.epochChain = verdict.chain;
    this.verified.set(bytesToHex(hash), true);
    this.remember(boundary, hash);
    return { ok: true, membership: untrusted.nextMembership };
  }

  /**
   * The proofs' epoch-height rule (TrustedEpochs.checkHeight), in the SDK's
   * words. No header hash is given: a different header at an epoch's last
   * height is a fork, which checkFork reports with its evidence.
   */
  private outsideEpoch(epoch: bigint, height: bigint): string | undefined {
    const verdict = this.epochChain.checkHeight(this.backend, epoch, height);
    if (verdict.ok) return undefined;
    return verdict.reason === 'before-epoch-start' ? `epoch ${epoch} began after height ${verdict.boundaryHeight}` : `epoch ${epoch} ended at height ${verdict.boundaryHeight}`;
  }

  headerHashOf(cert: Certificate): Uint8Array {
    return headerHash(this.backend, cert.header);
  }

  /** The header hash in hex: known without hashing for a certificate recognized by its text. */
  headerHashHexOf(cert: Certificate): string {
    return this.verifiedObjects.get(cert)?.hex ?? bytesToHex(this.headerHashOf(cert));
  }

  /** A verified header at this height, if remembered. */
  knownAt(height: bigint): { hashHex: string; certificate: Certificate } | undefined {
    if (this.headValue?.height === height) return { hashHex: this.headHashHex(), certificate: this.headValue.certificate };
    return this.byHeight.get(height);
  }

  /** The head's header hash in hex, made once per head (every current read compares against it). */
  private headHashHex(): string {
    const head = this.headValue as TrustedHead;
    return this.verifiedObjects.get(head.certificate)?.hex ?? bytesToHex(head.headerHash);
  }

  /** Checks a certificate against the membership of its epoch; signature work only for a header not verified before. */
  verifyCertificate(cert: Certificate): CertificateVerdict {
    const membership = this.membershipFor(cert.header.epoch);
    if (cert.header.chainId !== this.chainId) return { ok: false, code: 'verification-failed', detail: `certificate: wrong-chain (${JSON.stringify(cert.header.chainId.slice(0, 64))})` };
    if (membership === undefined) return { ok: false, code: 'unknown-epoch', detail: unknownEpochDetail(cert.header.epoch, this.newestMembership.epoch, this.genesis.epoch) };
    // A rotated-out membership's keys cannot certify past the end of their epoch (DESIGN section 6).
    const outside = this.outsideEpoch(cert.header.epoch, cert.header.height);
    if (outside !== undefined) return { ok: false, code: 'verification-failed', detail: `certificate: height ${cert.header.height} outside its epoch (${outside})` };
    // The same object verified before (recognized by its text, or the head): its hash is known.
    const seen = this.verifiedObjects.get(cert);
    if (seen !== undefined) return { ok: true, headerHash: seen.hash, headerHashHex: seen.hex };
    const hash = this.headerHashOf(cert);
    const hex = bytesToHex(hash);
    if (!this.verified.get(hex)) {
      this.certificateChecks++;
      const verdict = verifyCertificate(this.backend, membership, cert);
      if (!verdict.ok) return { ok: false, code: 'verification-failed', detail: `certificate: ${verdict.reason}${verdict.detail ? ` (${verdict.detail.slice(0, 80)})` : ''}` };
      this.verified.set(hex, true);
    }
    this.rememberVerified(cert, hash, hex);
    return { ok: true, headerHash: hash, headerHashHex: hex };
  }

  /**
   * A certificate that verified: when it was parsed from an answer's text, the
   * object is frozen, keeps its hash, and the text now names it. (Objects
   * from elsewhere are not remembered: a caller could still change them.)
   */
  private rememberVerified(cert: Certificate, hash: Uint8Array, hex: string): void {
    if (!this.parsedFromAnswer.has(cert)) return;
    this.parsedFromAnswer.delete(cert);
    // Frozen: the object is handed to every later answer with this JSON value, so no caller may change it.
    Object.freeze(cert.header);
    cert.signatures.forEach((s) => Object.freeze(s));
    Object.freeze(cert.signatures);
    Object.freeze(cert);
    this.verifiedObjects.set(cert, { hash, hex });
    // The wire form made from the verified object (one JSON form per certificate: lowercase hex, decimal
    // strings without leading zeros), so what is recognized later is exactly what parses to this object.
    const json = certificateToJson(cert);
    this.byText.set(fingerprintOf(json) as string, { json, certificate: cert });
  }

  /** Throws ForkError when another verified header is known at this height. Call with a verified certificate only. */
  checkFork(cert: Certificate, hash: Uint8Array, replica: string): void {
    const height = cert.header.height;
    // The common case, a read under the trusted head: compare the bytes, no hex.
    const head = this.headValue;
    if (head !== undefined && head.height === height) {
      if (!equalBytes(head.headerHash, hash)) throw new ForkError(height, head.certificate, cert, replica);
      return;
    }
    const known = this.byHeight.get(height);
    if (known !== undefined && known.hashHex !== bytesToHex(hash)) throw new ForkError(height, known.certificate, cert, replica);
  }

  /** Remembers a verified header for fork detection. */
  remember(cert: Certificate, hash: Uint8Array, hashHex?: string): void {
    if (!this.byHeight.has(cert.header.height)) this.byHeight.set(cert.header.height, { hashHex: hashHex ?? bytesToHex(hash), certificate: cert });
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

  /** The persisted form: the epoch links and the head's certificate (both re-verified on load) and the last request id. */
  toText(): string {
    return JSON.stringify({
      format: TRUST_FORMAT,
      chainId: this.chainId,
      epochLinks: this.epochChain.links.map(epochLinkToJson),
      head: this.headValue === undefined ? null : certificateToJson(this.headValue.certificate),
      lastRequestId: this.lastRequestId.toString(),
    });
  }

  /**
   * Restores a persisted state. Nothing is trusted for being on disk: the
   * epoch links are verified again from the pinned membership (links ending
   * at or before the pinned epoch are skipped, so pinning a later membership
   * keeps the rest), then the head's certificate. Throws
   * RegistryError('storage') on anything else.
   */
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
    for (const [i, raw] of (parsed.data.epochLinks ?? []).entries()) {
      const link = parseEpochLinkJson(raw);
      if (!link.ok) throw new RegistryError('storage', `saved epoch link ${i} is malformed`);
      if (link.value.nextMembership.epoch <= this.genesis.epoch) continue;
      const verdict = this.addEpochLink(link.value, 'storage');
      if (!verdict.ok) throw new RegistryError('storage', `saved epoch link ${i} does not verify from the pinned membership: ${verdict.reason}${verdict.detail ? ` (${verdict.detail.slice(0, 80)})` : ''}`);
    }
    if (parsed.data.head === null) return;
    const cert = parseCertificateJson(parsed.data.head);
    if (!cert.ok) throw new RegistryError('storage', 'saved trusted head is malformed');
    const verdict = this.verifyCertificate(cert.value);
    if (!verdict.ok) throw new RegistryError('storage', `saved trusted head does not verify: ${verdict.detail}`);
    this.checkFork(cert.value, verdict.headerHash, 'storage');
    if (this.headValue === undefined || cert.value.header.height > this.headValue.height) this.advance(cert.value, verdict.headerHash);
  }
}
