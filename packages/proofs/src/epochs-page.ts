// One page of the epoch chain as a replica serves it (`GET /v1/epochs?after=e&limit=n`,
// docs/protocol.md section 10): `{ current, links }`, the replica's current epoch
// (a claim) and at most `limit` links from epoch e + 1 on. This is the one
// statement of the page's shape and size: the replica serves at most
// limits.epochsPageLinksMax links and every verifier (SDK, console, tools,
// replicas syncing links) asks for at most that many and parses the answer
// here. The page is parsed whole before any signature work; verifying the
// links is the walk's job (epoch-walk.ts).

import * as z from 'zod';
import type { EpochLink } from './epoch-chain';
import { limits } from './limits';
import { parseEpochLinkJson, u63String } from './wire';

/** The page's JSON shape; the links are parsed one by one by parseEpochsPage. */
export const epochsPageSchema = z.object({ current: u63String, links: z.array(z.unknown()).max(limits.epochsPageLinksMax) });

export type EpochsPageJson = z.input<typeof epochsPageSchema>;

/** Why a page is refused, before any signature is checked. */
export type EpochsPageRejection = 'malformed-page' | 'too-many-links' | 'malformed-link';

/** `index`: the malformed link's (its `detail` is then the schema's issues alone). */
export type EpochsPageResult =
  | { ok: true; current: bigint; links: EpochLink[] }
  | { ok: false; reason: EpochsPageRejection; detail: string; index?: number };

/** The request path of the page after `after`, at most `limit` links. */
export function epochsPagePath(after: bigint, limit: number): string {
  return `/v1/epochs?after=${after}&limit=${limit}`;
}

/**
 * Parses an untrusted page asked with `limit`: more links than asked is
 * refused (counted before anything is parsed), then the shape, then every
 * link; the first malformed link refuses the page.
 */
export function parseEpochsPage(untrusted: unknown, limit: number): EpochsPageResult {
  const raw = typeof untrusted === 'object' && untrusted !== null ? (untrusted as { links?: unknown }).links : undefined;
  if (Array.isArray(raw) && raw.length > limit) return { ok: false, reason: 'too-many-links', detail: `too-many-links: ${raw.length} links where at most ${limit} were asked` };
  const page = epochsPageSchema.safeParse(untrusted);
  if (!page.success) {
    return { ok: false, reason: 'malformed-page', detail: page.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ') };
  }
  const links: EpochLink[] = [];
  for (const [index, item] of page.data.links.entries()) {
    const link = parseEpochLinkJson(item);
    if (!link.ok) return { ok: false, reason: 'malformed-link', index, detail: link.issues.slice(0, 3).join('; ') };
    links.push(link.value);
  }
  return { ok: true, current: page.data.current, links };
}
