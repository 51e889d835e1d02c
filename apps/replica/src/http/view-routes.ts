// What a local view needs (docs/merkle-map.md section 8, docs/replica.md
// "Views"): the keys under a prefix with their map proofs, and the changes
// under it up to a head, each page with the prefix's index entry proven
// against the page's certified state root. The index entry is what lets the
// SDK prove the view complete (as many keys as the index counts) and current
// (as many changes as the index counts); nothing here needs to be trusted.

import type { Express } from 'express';
import { z } from 'zod';
import { bytesToHex, mapProofToJson } from '@vcr/proofs';
import { checkUserKey, prefixDepth, prefixIndexKey } from '@vcr/registry';
import type { ReplicaNode } from '../replica-node';
import type { RegistryState } from '../registry';
import { fail, keyTextParam, limitParam, sizeParam, waitParam } from './query-params';
import { certificateJsonOf } from './certificate-json';
import { type ChangeEntryTexts, changeEntries } from './registry-routes';

/** Keys per page of a view's load: each carries a map proof (~1 KiB of JSON). */
const VIEW_KEYS_PAGE_MAX = 500;
const VIEW_CHANGES_PAGE_MAX = 200;
const PAGE_DEFAULT = 100;

const prefixParam = keyTextParam.refine((p) => p.endsWith('/') && checkUserKey(p) === undefined, 'a user key ending in "/"');
const keysQuery = z.strictObject({ prefix: prefixParam, after: keyTextParam.optional(), limit: limitParam(VIEW_KEYS_PAGE_MAX).optional() });
const changesQuery = z.strictObject({ prefix: prefixParam, from: sizeParam, limit: limitParam(VIEW_CHANGES_PAGE_MAX).optional(), waitMs: waitParam.optional() });

/** The prefix's index entry (or its absence) with its proof against `state`'s root. */
function indexJson(state: RegistryState, prefix: string) {
  const key = prefixIndexKey(prefix);
  const entry = state.map.get(key);
  return { entry: entry ? { value: bytesToHex(entry.value), revision: entry.revision.toString() } : null, proof: mapProofToJson(state.map.prove(key)) };
}

export function viewRoutes(app: Express, node: ReplicaNode, texts: ChangeEntryTexts): void {
  /** The prefix must be one the genesis policy indexes, or no view of it can be proven complete. */
  const refuseUnindexed = (prefix: string): string | undefined => {
    const depth = node.prefixIndexDepth;
    return prefixDepth(prefix) > depth ? `prefix ${JSON.stringify(prefix)} has ${prefixDepth(prefix)} segments; this chain indexes ${depth} (genesis registry.prefixIndexDepth)` : undefined;
  };

  app.get('/v1/views/keys', (req, res) => {
    const q = keysQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `prefix must be a user key ending in "/", after key text, limit 1..${VIEW_KEYS_PAGE_MAX}`);
    const unindexed = refuseUnindexed(q.data.prefix);
    if (unindexed !== undefined) return fail(res, 400, 'not-indexed', unindexed);
    const block = node.latestBlock();
    if (!block) return fail(res, 503, 'no-certified-state', 'no block committed yet');
    const limit = q.data.limit ?? PAGE_DEFAULT;
    const state = node.committedState();
    const live = node.store.keys.list(q.data.prefix, q.data.after, limit);
    res.json({
      prefix: q.data.prefix,
      keys: live.map((k) => {
        const entry = state.map.get(k.key);
        return { key: k.key, value: entry ? bytesToHex(entry.value) : null, revision: (entry?.revision ?? 0n).toString(), proof: mapProofToJson(state.map.prove(k.key)) };
      }),
      index: indexJson(state, q.data.prefix),
      certificate: certificateJsonOf(block),
      next: live.length === limit ? (live.at(-1)?.key ?? null) : null,
    });
  });

  app.get('/v1/views/changes', async (req, res) => {
    const q = changesQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `prefix must be a user key ending in "/", from a log index, limit 1..${VIEW_CHANGES_PAGE_MAX}, waitMs 0..30000`);
    const unindexed = refuseUnindexed(q.data.prefix);
    if (unindexed !== undefined) return fail(res, 400, 'not-indexed', unindexed);
    const { prefix, from } = q.data;
    const limit = q.data.limit ?? PAGE_DEFAULT;
    // Changes below the head's log size only: the page and its head are read in one turn.
    const read = () => {
      const block = node.latestBlock();
      const size = block?.header.logSize ?? 0n;
      return { block, changes: node.store.keys.changes(prefix, from, limit).filter((c) => c.logIndex < size) };
    };
    let page = read();
    // Long poll: an empty answer comes at the deadline, with the newest head (a view's freshness).
    const deadlineMs = Date.now() + (q.data.waitMs ?? 0);
    while (page.changes.length === 0 && Date.now() < deadlineMs) {
      const height = page.block?.header.height;
      await node.nextCommit(deadlineMs - Date.now());
      if (res.destroyed) return;
      page = read();
      if (page.block?.header.height === height) break;
    }
    if (!page.block) return fail(res, 503, 'no-certified-state', 'no block committed yet');
    // The entries are the serialized change entries the change stream keeps (registry-routes.ts), spliced in as text.
    const entries = changeEntries(node, texts, page.changes).join(',');
    const rest = JSON.stringify({ more: page.changes.length === limit, index: indexJson(node.committedState(), prefix), certificate: certificateJsonOf(page.block) });
    res.type('application/json').send(`{"prefix":${JSON.stringify(prefix)},"entries":[${entries}],${rest.slice(1)}`);
  });
}
