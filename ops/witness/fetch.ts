// Bounded JSON reads from replicas for the witness tool, and the epoch chain
// walked from the pinned genesis (the proofs' EpochWalk),
// so every membership the tool uses is one it verified itself.

import { EpochWalk, epochsPagePath, limits, type Membership, runEpochWalk, TrustedEpochs } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { errorSummary, requestJson } from '@vcr/client-sdk';

export const witnessCliLimits = {
  /** One answer: a checkpoint with its certificate, a page of 64 epoch links, or one change entry. */
  responseBytesMax: 16 * 1024 * 1024,
  requestTimeoutMs: 15_000,
  /** Links verified from the pinned genesis at most (the proofs' bound on one walk). */
  linksMax: limits.epochChainLinksMax,
  replicasMax: 64,
  /** A note, vkeys or proof file given to `verify`. */
  fileBytesMax: 4 * 1024 * 1024,
} as const;

export type Fetched = { ok: true; status: number; body: unknown } | { ok: false; detail: string };

/** A bounded JSON GET (the SDK's requestJson): any status with its parsed body, or why there is none. */
export async function getJson(url: string): Promise<Fetched> {
  const answer = await requestJson(fetch, { url, timeoutMs: witnessCliLimits.requestTimeoutMs, maxBytes: witnessCliLimits.responseBytesMax });
  if (answer.ok) return { ok: true, status: answer.status, body: answer.body };
  if (answer.code === 'too-large') return { ok: false, detail: `answer larger than ${witnessCliLimits.responseBytesMax} bytes` };
  return { ok: false, detail: answer.code === 'malformed' ? answer.detail : `unreachable (${answer.detail})` };
}

/** `{ error: { code, message } }` of a refusal, for messages. */
export function errorText(f: Fetched): string {
  return f.ok ? errorSummary(f.status, f.body) : f.detail;
}

/** Every membership from the pinned genesis on, by epoch (the proofs' EpochWalk); the last is the newest this replica's links reach. */
export async function walkEpochs(replica: string, genesis: Membership): Promise<{ ok: true; memberships: Map<bigint, Membership>; latest: Membership } | { ok: false; detail: string }> {
  const walk = new EpochWalk(nodeBackend, TrustedEpochs.pin(genesis), { target: 'latest', linksMax: witnessCliLimits.linksMax });
  const outcome = await runEpochWalk(walk, async (after, limit) => {
    const page = await getJson(`${replica}${epochsPagePath(after, limit)}`);
    return page.ok && page.status === 200 ? { ok: true, body: page.body } : { ok: false, detail: errorText(page) };
  });
  if (!outcome.ok) return { ok: false, detail: `GET /v1/epochs after epoch ${outcome.after}: ${outcome.reason}: ${outcome.detail}` };
  if (outcome.capped) return { ok: false, detail: `epoch chain longer than ${witnessCliLimits.linksMax} links` };
  const chain = walk.chain;
  return { ok: true, memberships: new Map(chain.memberships.map((m) => [m.epoch, m])), latest: chain.newest };
}
