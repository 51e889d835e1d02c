// The registry's log leaves: one per executed request, hashed into the
// certified request log (RFC 9162). Written by the replica's executor, rebuilt
// by clients to check receipts and history, read back by the replica to index
// receipts from its own stored leaves.

import { type ClientRequest, type CryptoBackend, decodeCanonical, encodeCanonical, requestHash } from '@vcr/proofs';

/**
 * The data of the log leaf for one executed request (hashed with `hashLeaf`).
 * A client holding its request and the reply can rebuild this and check an
 * inclusion proof against the certified log root. The request hash covers the
 * signature, so the leaf names the exact request that was ordered.
 */
export function leafForRequest(backend: CryptoBackend, input: { seq: bigint; request: ClientRequest; result: Uint8Array }): Uint8Array {
  const { seq, request, result } = input;
  return encodeCanonical({ height: seq, clientId: request.clientId, requestId: request.requestId, requestHash: requestHash(backend, request), result });
}

/** The fields a leaf names, or undefined for bytes of another shape. Never throws. */
export function decodeLeaf(data: Uint8Array): { clientId: string; requestId: bigint; result: Uint8Array } | undefined {
  const decoded = decodeCanonical(data);
  if (!decoded.ok || typeof decoded.value !== 'object' || decoded.value === null || Array.isArray(decoded.value) || decoded.value instanceof Uint8Array) return undefined;
  const v = decoded.value as Record<string, unknown>;
  const requestId = typeof v.requestId === 'number' ? BigInt(v.requestId) : v.requestId;
  if (typeof v.clientId !== 'string' || typeof requestId !== 'bigint' || !(v.result instanceof Uint8Array)) return undefined;
  return { clientId: v.clientId, requestId, result: v.result };
}

/** "clientId/requestId" of the request a leaf records, or undefined for a leaf of another shape. */
export function leafRequestKey(data: Uint8Array): string | undefined {
  const leaf = decodeLeaf(data);
  return leaf ? `${leaf.clientId}/${leaf.requestId}` : undefined;
}

export function leafResult(data: Uint8Array): Uint8Array {
  return decodeLeaf(data)?.result ?? new Uint8Array();
}
