// Remembers client requests whose signature verified, so a request is
// verified once per replica even though it arrives several times (from the
// client, relayed by peers, inside the primary's PRE-PREPARE). A hit must
// match the whole request: clientId, requestId and signature select the
// entry, and the payload is compared byte for byte, so a forged payload
// carrying a copied signature is never taken for the verified one.

import { bytesToHex } from '@vcr/proofs';
import type { ClientRequest } from '@vcr/consensus';

/** Entries kept; the oldest is evicted first. About 2 in-flight batches' worth of requests per client slot. */
const CAPACITY = 16_384;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class VerifiedRequests {
  private readonly entries = new Map<string, Uint8Array>();

  constructor(private readonly verify: (request: ClientRequest, epoch: bigint) => boolean) {}

  /** Valid in `epoch`: the verdict depends on the epoch (the signing domain), so the epoch is part of the key. */
  check(request: ClientRequest, epoch: bigint): boolean {
    const key = `${epoch}/${request.clientId}/${request.requestId}/${bytesToHex(request.signature)}`;
    const payload = this.entries.get(key);
    if (payload !== undefined && equalBytes(payload, request.payload)) return true;
    if (!this.verify(request, epoch)) return false;
    if (this.entries.size >= CAPACITY) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, request.payload.slice());
    return true;
  }
}
