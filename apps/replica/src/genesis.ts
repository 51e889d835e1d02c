// The genesis file: epoch 0's membership (replicas, organizations, keys,
// addresses, f, governance), and optionally the registry policy (who may
// create organizations and namespaces; docs/registry.md). Every replica and
// every client pins the same one.

import { readFileSync } from 'node:fs';
import { checkMembership, type Membership, membershipToJson, parseMembershipJson } from '@vcr/proofs';
import { parseRegistryPolicy, type RegistryPolicy } from '@vcr/registry';

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

function readGenesisJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new GenesisError(`cannot read genesis ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export function loadGenesis(path: string): Membership {
  return parseGenesis(readGenesisJson(path));
}

/** The registry policy of the genesis file (the default, open root and no admins, when it has none). */
export function parseGenesisRegistry(untrusted: unknown): RegistryPolicy {
  const section = typeof untrusted === 'object' && untrusted !== null ? (untrusted as { registry?: unknown }).registry : undefined;
  const parsed = parseRegistryPolicy(section);
  if (!parsed.ok) throw new GenesisError(`invalid genesis registry policy: ${parsed.reason}`);
  return parsed.policy;
}

export function loadGenesisRegistry(path: string): RegistryPolicy {
  return parseGenesisRegistry(readGenesisJson(path));
}

export function genesisToJson(membership: Membership): { membership: ReturnType<typeof membershipToJson> } {
  return { membership: membershipToJson(membership) };
}
