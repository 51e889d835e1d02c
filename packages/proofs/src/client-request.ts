// The signed client request (docs/replica.md section 1, "Client requests"):
// the unit clients send and consensus orders. Its format lives here, beside
// the other signed formats, so that replicas, the SDK and the console agree on
// it byte for byte without depending on the consensus core.
//
// clientId is the lowercase hex of the client's Ed25519 public key, so a
// request authenticates itself; requestId grows per client (exactly once);
// payload is opaque here (the registry's operation, @vcr/registry).

import { clientRequestLimits } from './limits';
import { bytesToHex, tryHexToBytes } from './bytes';
import type { CanonicalValue } from './canonical';
import { encodeCanonical } from './canonical';
import type { CryptoBackend, Signer } from './crypto-backend';
import { signInDomain, verifyInDomain } from './domain';

export interface ClientRequest {
  clientId: string;
  requestId: bigint;
  /** Canonical bytes of the operation; opaque to consensus. */
  payload: Uint8Array;
  /** The client's signature (kind "client-request") over `requestSigningMessage`. */
  signature: Uint8Array;
}


/** The whole request, signature included: what a block's batch hash and a log leaf's requestHash cover. */
export function requestToCanonical(r: ClientRequest): CanonicalValue {
  return { clientId: r.clientId, requestId: r.requestId, payload: r.payload, signature: r.signature };
}

/** SHA-256 of the canonical request with its signature (the log leaf's `requestHash`). */
export function requestHash(backend: CryptoBackend, r: ClientRequest): Uint8Array {
  return backend.sha256(encodeCanonical(requestToCanonical(r)));
}

/** What the client signs (kind "client-request"): everything but the signature. */
export function requestSigningMessage(r: Pick<ClientRequest, 'clientId' | 'requestId' | 'payload'>): CanonicalValue {
  return { clientId: r.clientId, requestId: r.requestId, payload: r.payload };
}

/** The client id of a signer: the hex of its public key. */
export function clientIdOf(signer: Pick<Signer, 'publicKey'>): string {
  return bytesToHex(signer.publicKey);
}

/** The public key a client id names, or undefined if it is not 64 lowercase hex characters. */
export function clientPublicKey(clientId: string): Uint8Array | undefined {
  return /^[0-9a-f]{64}$/.test(clientId) ? tryHexToBytes(clientId) : undefined;
}

export interface RequestDomain {
  chainId: string;
  epoch: bigint;
}

export function signClientRequest(signer: Signer, domain: RequestDomain, unsigned: { requestId: bigint; payload: Uint8Array }): ClientRequest {
  const request = { clientId: clientIdOf(signer), requestId: unsigned.requestId, payload: unsigned.payload };
  return { ...request, signature: signInDomain(signer, { kind: 'client-request', ...domain }, requestSigningMessage(request)) };
}

/** True when the request is signed by the key its clientId names, in this chain and epoch. */
export function verifyClientRequest(backend: CryptoBackend, domain: RequestDomain, r: ClientRequest): boolean {
  const key = clientPublicKey(r.clientId);
  return key !== undefined && verifyInDomain(backend, key, { kind: 'client-request', ...domain }, requestSigningMessage(r), r.signature);
}

/**
 * The epochs a client request may be signed for when a block of `blockEpoch`
 * orders it: that epoch and the one before (docs/protocol.md, "Epochs"). A
 * client that signed just before the epoch ended, or has not yet walked to
 * the new epoch, is not refused; a signature older than that is. This is the
 * one rule: the replica admits by it and every verifier of an ordered request
 * (the SDK's history, watch and receipts) accepts by it, so a request a quorum
 * ordered always verifies afterwards. Newest first (the usual case).
 */
export function requestSigningEpochs(blockEpoch: bigint): bigint[] {
  const epochs: bigint[] = [];
  for (let back = 0n; back <= clientRequestLimits.signedEpochsBehindMax && blockEpoch - back >= 0n; back++) epochs.push(blockEpoch - back);
  return epochs;
}

export type OrderedRequestVerdict = { ok: true; signedEpoch: bigint } | { ok: false; reason: 'bad-client-id' | 'bad-signature' };

/** Verifies a request ordered in a block of `blockEpoch` under requestSigningEpochs; names the epoch its signature is for. */
export function verifyOrderedClientRequest(backend: CryptoBackend, domain: { chainId: string; blockEpoch: bigint }, r: ClientRequest): OrderedRequestVerdict {
  if (clientPublicKey(r.clientId) === undefined) return { ok: false, reason: 'bad-client-id' };
  for (const epoch of requestSigningEpochs(domain.blockEpoch)) {
    if (verifyClientRequest(backend, { chainId: domain.chainId, epoch }, r)) return { ok: true, signedEpoch: epoch };
  }
  return { ok: false, reason: 'bad-signature' };
}
