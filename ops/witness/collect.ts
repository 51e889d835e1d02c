// Collects the replicas' cosignatures of one checkpoint (docs/witness.md,
// "Exporting"). An answer counts only if: its certificate verifies against
// the membership of its header's epoch (walked from the pinned genesis), the
// checkpoint is exactly origin/logSize/logRoot of that certified header, and
// its cosignature line verifies under the key of the answering replica in the
// target epoch (the newest verified one). A quorum (2f+1) of that epoch is
// required before a note is written; the note is then re-verified whole.

import {
  bytesToBase64,
  bytesToHex,
  checkNoteSignature,
  checkpointOfHeader,
  type CheckpointPolicy,
  equalBytes,
  formatCheckpoint,
  formatNote,
  headerHash,
  keyIdHex,
  type Membership,
  parseCertificateJson,
  parseNote,
  registryCheckpointPolicy,
  verifyCertificate,
  verifyCheckpointNote,
} from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import * as z from 'zod';
import { errorText, getJson, walkEpochs } from './fetch';

const answerSchema = z.object({
  size: z.string().regex(/^(?:0|[1-9][0-9]{0,18})$/),
  replicaId: z.string().max(64),
  headerHash: z.string().regex(/^[0-9a-f]{64}$/),
  checkpoint: z.string().max(4096),
  cosignature: z.string().max(4096),
  certificate: z.unknown(),
});

export interface Cosigned {
  replica: string;
  replicaId: string;
  line: string;
  timestamp: bigint;
  height: bigint;
}

export interface CollectedCheckpoint {
  note: string;
  policy: CheckpointPolicy;
  size: bigint;
  root: Uint8Array;
  cosigned: Cosigned[];
  /** Why each answer that did not count was refused. */
  refused: string[];
}

export type CollectResult = { ok: true; value: CollectedCheckpoint; refused: string[] } | { ok: false; reason: string; refused: string[] };

type Checked = { ok: true; value: Cosigned & { body: string; root: Uint8Array; size: bigint } } | { ok: false; why: string };

async function fetchCosigned(replica: string, size: bigint | undefined, memberships: Map<bigint, Membership>, policy: CheckpointPolicy): Promise<Checked> {
  const got = await getJson(`${replica}/v1/witness/checkpoint${size === undefined ? '' : `?size=${size}`}`);
  if (!got.ok || got.status !== 200) return { ok: false, why: `${replica}: ${errorText(got)}` };
  const a = answerSchema.safeParse(got.body);
  if (!a.success) return { ok: false, why: `${replica}: malformed answer` };
  const cert = parseCertificateJson(a.data.certificate);
  if (!cert.ok) return { ok: false, why: `${replica}: malformed certificate` };
  const header = cert.value.header;
  const membership = memberships.get(header.epoch);
  if (membership === undefined) return { ok: false, why: `${replica}: header of epoch ${header.epoch}, beyond the verified epoch chain` };
  const certified = verifyCertificate(nodeBackend, membership, cert.value);
  if (!certified.ok) return { ok: false, why: `${replica}: certificate of block ${header.height} does not verify (${certified.reason}${certified.detail ? `: ${certified.detail}` : ''})` };
  if (a.data.headerHash !== bytesToHex(headerHash(nodeBackend, header))) return { ok: false, why: `${replica}: headerHash is not the certified header's` };
  const body = formatCheckpoint(checkpointOfHeader(header));
  if (a.data.checkpoint !== body || BigInt(a.data.size) !== header.logSize) return { ok: false, why: `${replica}: checkpoint is not origin, logSize and logRoot of certified block ${header.height}` };
  const note = parseNote(formatNote(body, [a.data.cosignature]));
  const sig = note.ok ? note.value.signatures[0] : undefined;
  if (sig === undefined) return { ok: false, why: `${replica}: cosignature line is malformed` };
  const cosigner = policy.cosigners.find((c) => c.key.name === sig.name && c.key.keyId === sig.keyId);
  if (cosigner === undefined) return { ok: false, why: `${replica}: cosignature by key ${sig.name}+${keyIdHex(sig.keyId)}, which is not in epoch ${policy.epoch}'s membership` };
  if (cosigner.replicaId !== a.data.replicaId) return { ok: false, why: `${replica}: says it is ${a.data.replicaId} but cosigned with ${cosigner.replicaId}'s key` };
  const check = checkNoteSignature(nodeBackend, cosigner.key, body, sig);
  if (!check.ok) return { ok: false, why: `${replica}: cosignature of ${cosigner.replicaId} does not verify (${check.reason})` };
  return { ok: true, value: { replica, replicaId: cosigner.replicaId, line: sig.line, timestamp: check.timestampSeconds ?? 0n, height: header.height, body, root: header.logRoot, size: header.logSize } };
}

/** The latest size a quorum has reached, or `size`; then every replica's cosignature of it. */
export async function collectCheckpoint(replicas: readonly string[], genesis: Membership, size?: bigint): Promise<CollectResult> {
  const refused: string[] = [];
  let chain: Awaited<ReturnType<typeof walkEpochs>> | undefined;
  for (const r of replicas) {
    chain = await walkEpochs(r, genesis);
    if (chain.ok) break;
    refused.push(`${r}: epoch chain: ${chain.detail}`);
  }
  if (chain === undefined || !chain.ok) return { ok: false, reason: 'no replica served an epoch chain that verifies from the pinned genesis', refused };
  const policy = registryCheckpointPolicy(nodeBackend, chain.latest);
  let answers = await Promise.all(replicas.map((r) => fetchCosigned(r, size, chain.memberships, policy)));
  if (size === undefined) {
    // Replicas may be a block apart: take the largest size a quorum reached, and ask the others for it.
    const sizes = answers.flatMap((a) => (a.ok ? [a.value.size] : [])).sort((x, y) => (x < y ? 1 : x > y ? -1 : 0));
    const target = sizes[Math.min(policy.quorum, sizes.length) - 1];
    if (target === undefined) return { ok: false, reason: 'no replica answered with a checkpoint that verifies', refused: answers.flatMap((a) => (a.ok ? [] : [a.why])) };
    answers = await Promise.all(replicas.map((r, i) => (answers[i]?.ok && answers[i].value.size === target ? answers[i] : fetchCosigned(r, target, chain.memberships, policy))));
  }
  const counted = new Map<string, Checked & { ok: true }>();
  for (const a of answers) {
    if (!a.ok) refused.push(a.why);
    else if (counted.has(a.value.replicaId)) refused.push(`${a.value.replica}: a second answer for ${a.value.replicaId}`);
    else counted.set(a.value.replicaId, a);
  }
  const good = [...counted.values()].map((a) => a.value).sort((x, y) => (x.replicaId < y.replicaId ? -1 : 1));
  const first = good[0];
  if (first === undefined) return { ok: false, reason: 'no replica answered with a checkpoint that verifies', refused };
  // Two certified headers with one log size and different roots would be a fork: refuse loudly.
  const fork = good.find((g) => g.size !== first.size || !equalBytes(g.root, first.root));
  if (fork !== undefined) return { ok: false, reason: `FORK: ${first.replicaId} certifies root ${bytesToBase64(first.root)} at size ${first.size}, ${fork.replicaId} certifies ${bytesToBase64(fork.root)} at size ${fork.size}`, refused };
  if (good.length < policy.quorum) return { ok: false, reason: `only ${good.length} of the ${policy.quorum} cosignatures epoch ${policy.epoch} requires (2f+1) for size ${first.size}`, refused };
  const note = formatNote(first.body, good.map((g) => g.line));
  const verdict = verifyCheckpointNote(nodeBackend, note, policy);
  if (!verdict.ok) throw new Error(`assembled note does not verify: ${verdict.reason}`);
  return { ok: true, value: { note, policy, size: first.size, root: first.root, cosigned: good.map(({ replica, replicaId, line, timestamp, height }) => ({ replica, replicaId, line, timestamp, height })), refused }, refused };
}
