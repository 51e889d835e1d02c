// `cli verify`: checks a replica's whole committed chain from the pinned
// genesis without trusting the replica. For every block: the certificate
// (a quorum of the membership), the hash link to the previous header, the
// batch hash, and the state and log roots re-computed by running the registry
// state machine on the batch (ops/audit/chain.ts, shared with the offline
// audit). Given the log head verified last time, the replica must also prove
// (RFC 9162 consistency) that today's log extends it, so a replica that
// rewrote history since is caught. The offline audit with archives, votes and
// the signer journal is ops/audit/ (docs/audit.md).

import { bytesToHex, type Membership, parseLogProofJson, verifyConsistency } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { parseCommittedBlockJson } from '@vcr/proofs';
import { defaultRegistryPolicy, type RegistryPolicy } from '@vcr/registry';
import { ChainVerifier } from './audit/chain';

export interface LogHead {
  size: bigint;
  root: Uint8Array;
}

export type ChainVerdict = { ok: true; height: bigint; head: LogHead; stateRoot: string } | { ok: false; height: bigint; reason: string };

export async function verifyChain(
  membership: Membership,
  url: string,
  previous?: LogHead,
  onProgress: (height: bigint) => void = () => undefined,
  /** The genesis registry policy: re-execution must apply the same rules as the replicas. */
  policy: RegistryPolicy = defaultRegistryPolicy,
): Promise<ChainVerdict> {
  const chain = new ChainVerifier({ membership, policy });
  for (;;) {
    const res = await fetch(`${url}/v1/peer/blocks?from=${chain.height + 1n}&limit=256`, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) return { ok: false, height: chain.height + 1n, reason: `HTTP ${res.status} fetching blocks` };
    const body = (await res.json()) as { blocks?: unknown };
    if (!Array.isArray(body.blocks)) return { ok: false, height: chain.height + 1n, reason: 'blocks answer malformed' };
    if (body.blocks.length === 0) break;
    for (const item of body.blocks) {
      const at = chain.height + 1n;
      const parsed = parseCommittedBlockJson(item);
      if (!parsed.ok) return { ok: false, height: at, reason: `block malformed: ${parsed.issues.join('; ')}` };
      const verdict = chain.push(parsed.value);
      if (!verdict.ok) return { ok: false, height: at, reason: verdict.reason };
    }
    onProgress(chain.height);
  }
  const height = chain.height;
  if (height === 0n) return { ok: false, height: 0n, reason: 'no committed block' };
  const head = { size: chain.logSize, root: chain.logRoot };
  if (previous !== undefined && previous.size > 0n) {
    if (previous.size > head.size) return { ok: false, height, reason: `log shrank: ${previous.size} leaves were verified before, ${head.size} now` };
    const res = await fetch(`${url}/v1/log/consistency?from=${previous.size}&to=${head.size}`, { signal: AbortSignal.timeout(10_000) });
    const proof = parseLogProofJson(((await res.json()) as { proof?: unknown }).proof);
    if (!res.ok || !proof.ok) return { ok: false, height, reason: 'consistency proof missing or malformed' };
    const consistent = verifyConsistency(nodeBackend, { size1: previous.size, size2: head.size, root1: previous.root, root2: head.root, proof: proof.value });
    if (!consistent.ok) return { ok: false, height, reason: `the log does not extend the head verified before (${consistent.reason})` };
  }
  return { ok: true, height, head, stateRoot: bytesToHex(chain.stateRoot) };
}
