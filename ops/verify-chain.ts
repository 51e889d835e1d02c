// `cli verify`: checks a replica's whole committed chain from the pinned
// genesis without trusting the replica. For every block: the certificate
// (a quorum of the membership), the hash link to the previous header, the
// batch hash, and the state and log roots re-computed by running the registry
// state machine on the batch. Given the log head verified last time, the
// replica must also prove (RFC 9162 consistency) that today's log extends it,
// so a replica that rewrote history since is caught.
// A full offline audit with archives and votes is ops issue 10's audit command.

import { bytesToHex, headerHash, type Membership, parseLogProofJson, verifyCertificate, verifyConsistency } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { batchHash } from '@vcr/consensus';
import { genesisRegistryState, registryExecutor } from '../apps/replica/src/registry/state';
import { parseCommittedBlockJson } from '../apps/replica/src/wire';
import { defaultRegistryPolicy, type RegistryPolicy } from '@vcr/registry';

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
  const executor = registryExecutor(nodeBackend, policy);
  let state = genesisRegistryState(nodeBackend);
  let prevHash: Uint8Array = new Uint8Array(32);
  let height = 0n;
  let logSize = 0n;
  for (;;) {
    const res = await fetch(`${url}/v1/peer/blocks?from=${height + 1n}&limit=256`, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) return { ok: false, height: height + 1n, reason: `HTTP ${res.status} fetching blocks` };
    const body = (await res.json()) as { blocks?: unknown };
    if (!Array.isArray(body.blocks)) return { ok: false, height: height + 1n, reason: 'blocks answer malformed' };
    if (body.blocks.length === 0) break;
    for (const item of body.blocks) {
      const at = height + 1n;
      const parsed = parseCommittedBlockJson(item);
      if (!parsed.ok) return { ok: false, height: at, reason: `block malformed: ${parsed.issues.join('; ')}` };
      const block = parsed.value;
      const h = block.header;
      if (h.height !== at) return { ok: false, height: at, reason: `block has height ${h.height}` };
      const certified = verifyCertificate(nodeBackend, membership, block.certificate);
      if (!certified.ok) return { ok: false, height: at, reason: `certificate: ${certified.reason}` };
      if (bytesToHex(headerHash(nodeBackend, block.certificate.header)) !== bytesToHex(headerHash(nodeBackend, h))) return { ok: false, height: at, reason: 'certificate is for another header' };
      if (bytesToHex(h.prevHash) !== bytesToHex(prevHash)) return { ok: false, height: at, reason: 'prevHash does not link to the previous header' };
      if (bytesToHex(h.batchHash) !== bytesToHex(batchHash(nodeBackend, block.batch))) return { ok: false, height: at, reason: 'batchHash does not match the batch' };
      const exec = executor.apply(state, { seq: at, batch: block.batch, timestampMs: h.timestampMs });
      if (bytesToHex(exec.stateRoot) !== bytesToHex(h.stateRoot)) return { ok: false, height: at, reason: 're-executed state root differs from the certified one' };
      if (bytesToHex(exec.logRoot) !== bytesToHex(h.logRoot) || exec.logSize !== h.logSize) return { ok: false, height: at, reason: 're-executed log root differs from the certified one' };
      state = exec.state;
      prevHash = headerHash(nodeBackend, h);
      height = at;
      logSize = h.logSize;
    }
    onProgress(height);
  }
  if (height === 0n) return { ok: false, height: 0n, reason: 'no committed block' };
  const head = { size: logSize, root: state.log.root() };
  if (previous !== undefined && previous.size > 0n) {
    if (previous.size > head.size) return { ok: false, height, reason: `log shrank: ${previous.size} leaves were verified before, ${head.size} now` };
    const res = await fetch(`${url}/v1/log/consistency?from=${previous.size}&to=${head.size}`, { signal: AbortSignal.timeout(10_000) });
    const proof = parseLogProofJson(((await res.json()) as { proof?: unknown }).proof);
    if (!res.ok || !proof.ok) return { ok: false, height, reason: 'consistency proof missing or malformed' };
    const consistent = verifyConsistency(nodeBackend, { size1: previous.size, size2: head.size, root1: previous.root, root2: head.root, proof: proof.value });
    if (!consistent.ok) return { ok: false, height, reason: `the log does not extend the head verified before (${consistent.reason})` };
  }
  return { ok: true, height, head, stateRoot: bytesToHex(state.map.root) };
}
