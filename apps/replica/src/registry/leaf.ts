// Reading back the log leaves the registry writes (leafForRequest): the
// replica indexes receipts by request from its own stored leaves.
import { decodeCanonical } from '@vcr/proofs';

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
