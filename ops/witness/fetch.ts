// Bounded JSON reads from replicas for the witness tool, and the epoch chain
// walked from the pinned genesis (each link verified with verifyEpochChain),
// so every membership the tool uses is one it verified itself.

import { type Membership, parseEpochLinkJson, verifyEpochChain } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { errorSummary, requestJson } from '@vcr/client-sdk';
import * as z from 'zod';

export const witnessCliLimits = {
  /** One answer: a checkpoint with its certificate, a page of 64 epoch links, or one change entry. */
  responseBytesMax: 16 * 1024 * 1024,
  requestTimeoutMs: 15_000,
  linksPerPage: 64,
  linksMax: 1024,
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

const epochsPage = z.object({ current: z.string().regex(/^(?:0|[1-9][0-9]{0,18})$/), links: z.array(z.unknown()).max(witnessCliLimits.linksPerPage) });

/** Every membership from the pinned genesis on, by epoch; the last is the newest this replica's links reach. */
export async function walkEpochs(replica: string, genesis: Membership): Promise<{ ok: true; memberships: Map<bigint, Membership>; latest: Membership } | { ok: false; detail: string }> {
  const memberships = new Map<bigint, Membership>([[genesis.epoch, genesis]]);
  let trusted = genesis;
  for (let walked = 0; ; ) {
    const page = await getJson(`${replica}/v1/epochs?after=${trusted.epoch}&limit=${witnessCliLimits.linksPerPage}`);
    if (!page.ok || page.status !== 200) return { ok: false, detail: `GET /v1/epochs: ${errorText(page)}` };
    const parsed = epochsPage.safeParse(page.body);
    if (!parsed.success) return { ok: false, detail: 'GET /v1/epochs: malformed answer' };
    if (parsed.data.links.length === 0) break;
    for (const untrusted of parsed.data.links) {
      if (++walked > witnessCliLimits.linksMax) return { ok: false, detail: 'epoch chain longer than 1024 links' };
      const link = parseEpochLinkJson(untrusted);
      if (!link.ok) return { ok: false, detail: `epoch link into epoch ${trusted.epoch + 1n} is malformed: ${link.issues.join('; ')}` };
      const verdict = verifyEpochChain(nodeBackend, trusted, [link.value]);
      if (!verdict.ok) return { ok: false, detail: `epoch link into epoch ${trusted.epoch + 1n} does not verify: ${verdict.reason}${verdict.detail ? ` (${verdict.detail})` : ''}` };
      trusted = verdict.latest;
      memberships.set(trusted.epoch, trusted);
    }
  }
  return { ok: true, memberships, latest: trusted };
}
