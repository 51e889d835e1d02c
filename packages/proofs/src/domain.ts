// Domain-separated signatures (DESIGN section 3). Every signature is over
//   u8(len(tag)) || tag || u8(len(chainId)) || chainId || u64be(epoch) || canonical(message)
// with tag "vcr/v1/<kind>". A signature made for one kind, chain or epoch
// never verifies for another: the prefix differs, and the length prefixes make
// the split between fields unambiguous.

import { type CanonicalValue, encodeCanonical, isWellFormedText } from './canonical';
import { type CryptoBackend, type Signer } from './crypto-backend';
import { concatBytes, u64be, utf8 } from './bytes';
import { checkEd25519, type Ed25519Rejection } from './ed25519-rule';
import { limits } from './limits';

export const SIGNATURE_KINDS = [
  'pre-prepare',
  'prepare',
  'commit',
  'checkpoint',
  'view-change',
  'new-view',
  'client-request',
  'membership-approval',
  'epoch-accept',
  'peer-envelope',
] as const;

export type SignatureKind = (typeof SIGNATURE_KINDS)[number];

export interface SigningDomain {
  kind: SignatureKind;
  chainId: string;
  epoch: bigint;
}

export function domainTag(kind: SignatureKind): string {
  return `vcr/v1/${kind}`;
}

/** The prefix of every signed byte string; exposed for docs and vectors. */
export function domainPrefix(domain: SigningDomain): Uint8Array {
  return cachedPrefix(domain).slice();
}

/**
 * Prefixes already built, by kind, chain and epoch: a replica checks thousands of signatures a
 * second in a handful of domains. Bounded; the oldest entry goes first. Never handed out (callers
 * get copies or concatenations), so no caller can change a cached prefix.
 */
const prefixCache = new Map<string, Uint8Array>();
const PREFIX_CACHE_ENTRIES_MAX = 256;

function cachedPrefix(domain: SigningDomain): Uint8Array {
  const key = `${domain.kind}\u0000${domain.chainId}\u0000${typeof domain.epoch}:${String(domain.epoch)}`;
  const known = prefixCache.get(key);
  if (known !== undefined) return known;
  const prefix = buildPrefix(domain);
  prefixCache.set(key, prefix);
  if (prefixCache.size > PREFIX_CACHE_ENTRIES_MAX) {
    const oldest = prefixCache.keys().next();
    if (oldest.done !== true) prefixCache.delete(oldest.value);
  }
  return prefix;
}

function buildPrefix(domain: SigningDomain): Uint8Array {
  if (!SIGNATURE_KINDS.includes(domain.kind)) throw new TypeError(`unknown signature kind ${String(domain.kind)}`);
  const tag = utf8(domainTag(domain.kind));
  if (!isWellFormedText(domain.chainId)) throw new TypeError('chainId has a lone surrogate');
  const chain = utf8(domain.chainId);
  if (chain.length === 0 || chain.length > limits.chainIdBytesMax) throw new RangeError('chainId length out of range');
  return concatBytes(Uint8Array.of(tag.length), tag, Uint8Array.of(chain.length), chain, u64be(domain.epoch));
}

export function signingBytes(domain: SigningDomain, message: CanonicalValue): Uint8Array {
  return concatBytes(cachedPrefix(domain), encodeCanonical(message));
}

export function signInDomain(signer: Signer, domain: SigningDomain, message: CanonicalValue): Uint8Array {
  return signer.sign(signingBytes(domain, message));
}

export function checkInDomain(
  backend: CryptoBackend,
  publicKey: Uint8Array,
  domain: SigningDomain,
  message: CanonicalValue,
  signature: Uint8Array,
): Ed25519Rejection | undefined {
  return checkEd25519(backend, signature, signingBytes(domain, message), publicKey);
}

export function verifyInDomain(
  backend: CryptoBackend,
  publicKey: Uint8Array,
  domain: SigningDomain,
  message: CanonicalValue,
  signature: Uint8Array,
): boolean {
  return checkInDomain(backend, publicKey, domain, message, signature) === undefined;
}
