// Shared by the membership CLI's parts (ops/membership.ts): the bounds on what
// it reads, its error type and how it prints keys.

import { bytesToHex, limits } from '@vcr/proofs';

/** Every bound on what this tool reads. */
export const membershipCliLimits = {
  /** A change or approval file; a real one is a few kilobytes. */
  fileBytesMax: 1024 * 1024,
  /** One HTTP answer (a page of 64 links, or one block of at most 1 MiB of payloads in hex). */
  responseBytesMax: 16 * 1024 * 1024,
  requestTimeoutMs: 15_000,
  /** Links in one listing: the proofs' bound on one walk (pages are the proofs' epochsPageLinksMax). */
  linksMax: limits.epochChainLinksMax,
  /** Hex characters of a key shown in listings (approvals show whole keys). */
  keyPrefixChars: 16,
} as const;

/** An operational failure: `usage` exits 2, the others 1. */
export class MembershipCliError extends Error {
  override name = 'MembershipCliError';
  constructor(
    readonly code: 'usage' | 'input' | 'network' | 'keystore',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A key in human terms: whole (approvals, to compare with what was handed over) or its first hex characters (listings). */
export const keyText = (key: Uint8Array, full: boolean) => (full ? bytesToHex(key) : `${bytesToHex(key).slice(0, membershipCliLimits.keyPrefixChars)}...`);
