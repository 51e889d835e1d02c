// The genesis file: epoch 0's membership (replicas, organizations, keys,
// addresses, f, governance). Every replica and every client pins the same one.

import { readFileSync } from 'node:fs';
import { checkMembership, type Membership, membershipToJson, parseMembershipJson } from '@vcr/proofs';

export class GenesisError extends Error {
  override name = 'GenesisError';
}

export function parseGenesis(untrusted: unknown): Membership {
  const root = typeof untrusted === 'object' && untrusted !== null ? (untrusted as { membership?: unknown }).membership : undefined;
  const parsed = parseMembershipJson(root);
  if (!parsed.ok) throw new GenesisError(`invalid genesis membership: ${parsed.issues.join('; ')}`);
  const rejection = checkMembership(parsed.value);
  if (rejection !== undefined) throw new GenesisError(`invalid genesis membership: ${rejection}`);
  if (parsed.value.epoch !== 0n) throw new GenesisError('genesis membership must be epoch 0');
  return parsed.value;
}

export function loadGenesis(path: string): Membership {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new GenesisError(`cannot read genesis ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  return parseGenesis(raw);
}

export function genesisToJson(membership: Membership): { membership: ReturnType<typeof membershipToJson> } {
  return { membership: membershipToJson(membership) };
}
