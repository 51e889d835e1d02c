// Registry reads beyond one key: list keys by prefix, the history of a key,
// and changes under a prefix since a log index (long-polled, for watch).
//
// Every entry carries what a client needs to verify it without trusting this
// replica: a listed key comes with its map proof against the certified state
// root; a history or change entry comes with the signed request that made it,
// its log leaf, the leaf's inclusion proof and the certificate of its block.
// What cannot be proven is said in docs/replica.md: a listing's completeness
// (a replica can leave keys out of a listing, never forge one in).

import type { Express, Response } from 'express';
import { z } from 'zod';
import { bytesToHex, logProofToJson, mapProofToJson } from '@vcr/proofs';
import type { CommittedBlock } from '@vcr/consensus';
import type { ReplicaNode } from '../replica-node';
import { decodeLeaf, type KeyChange } from '../registry';
import { clientRequestToJson } from '../wire';
import { fail, keyTextParam, limitParam, sizeParam, waitParam } from './query-params';
import { ByteBoundedMap } from './byte-bounded-map';
import { certificateJsonOf } from './certificate-json';

const LIST_PAGE_MAX = 200;
const HISTORY_PAGE_MAX = 200;
const PAGE_DEFAULT = 50;

const listQuery = z.strictObject({ prefix: keyTextParam.optional(), after: keyTextParam.optional(), limit: limitParam(LIST_PAGE_MAX).optional() });
const historyQuery = z.strictObject({ from: sizeParam.optional(), limit: limitParam(HISTORY_PAGE_MAX).optional() });
const changesQuery = z.strictObject({
  prefix: keyTextParam.optional(),
  from: sizeParam.optional(),
  limit: limitParam(HISTORY_PAGE_MAX).optional(),
  waitMs: waitParam.optional(),
});

/**
 * Serialized change entries (a change with its proof material), kept across
 * blocks: an entry never changes once committed (its request, leaf, inclusion
 * proof and certificate are those of its own block), so a watch or history
 * page asked again, by the same client or by many, is joined from the texts
 * made the first time instead of loading blocks and leaves again.
 */
export type ChangeEntryTexts = ByteBoundedMap<string>;

export function changeEntryTexts(bytesMax: number): ChangeEntryTexts {
  return new ByteBoundedMap<string>(bytesMax, (text) => text.length);
}

/** Every field of a change: two changes with equal names serialize to equal entries. */
const changeName = (c: KeyChange) => `${c.logIndex} ${c.height} ${c.revision} ${c.op} ${c.key}`;

/** Each change's entry as JSON text; blocks are loaded once per page, and only for entries not kept. */
export function changeEntries(node: ReplicaNode, texts: ChangeEntryTexts, changes: readonly KeyChange[]): string[] {
  const blocks = new Map<bigint, CommittedBlock>();
  return changes.map((c) => {
    const name = changeName(c);
    const kept = texts.get(name);
    if (kept !== undefined) return kept;
    let block = blocks.get(c.height);
    if (block === undefined) {
      block = node.loadCommittedBlock(c.height);
      blocks.set(c.height, block);
    }
    const leaf = node.store.loadLeaf(c.logIndex);
    if (leaf === undefined) throw new Error(`log leaf ${c.logIndex} missing`);
    const names = decodeLeaf(leaf);
    const request = names && block.batch.find((r) => r.clientId === names.clientId && r.requestId === names.requestId);
    const text = JSON.stringify({
      key: c.key,
      op: c.op,
      revision: c.revision.toString(),
      height: c.height.toString(),
      logIndex: c.logIndex.toString(),
      request: request ? clientRequestToJson(request) : null,
      leafData: bytesToHex(leaf),
      inclusionProof: logProofToJson(node.inclusionProof(c.logIndex, block.header.logSize)),
      certificate: certificateJsonOf(block),
    });
    texts.set(name, text);
    return text;
  });
}

/**
 * A page as express's res.json would write it (JSON.stringify of the fields in
 * this order), with the entries joined from their texts.
 */
function sendPage(res: Response, fields: readonly [string, unknown][], entries: readonly string[], after: readonly [string, unknown][]): void {
  const members = [...fields.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`), `"entries":[${entries.join(',')}]`, ...after.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)];
  res.type('application/json').send(`{${members.join(',')}}`);
}

/** The log index to ask `from` next: one past the last entry. */
function after(changes: readonly KeyChange[], from: bigint): bigint {
  return changes.length > 0 ? (changes.at(-1) as KeyChange).logIndex + 1n : from;
}

export function registryRoutes(app: Express, node: ReplicaNode, texts: ChangeEntryTexts): void {
  app.get('/v1/keys', (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `prefix and after must be key text; limit 1..${LIST_PAGE_MAX}`, { issues: q.error.issues.map((i) => i.message) });
    const block = node.latestBlock();
    if (!block) return fail(res, 503, 'no-certified-state', 'no block committed yet');
    const limit = q.data.limit ?? PAGE_DEFAULT;
    const live = node.store.keys.list(q.data.prefix ?? '', q.data.after, limit);
    const state = node.committedState();
    res.json({
      prefix: q.data.prefix ?? '',
      keys: live.map((k) => {
        const { entry, proof } = state.map.read(k.key);
        return {
          key: k.key,
          value: entry ? bytesToHex(entry.value) : null,
          revision: (entry?.revision ?? 0n).toString(),
          proof: mapProofToJson(proof),
        };
      }),
      certificate: certificateJsonOf(block),
      next: live.length === limit ? (live.at(-1)?.key ?? null) : null,
    });
  });

  app.get('/v1/keys/:key/history', (req, res) => {
    const key = keyTextParam.refine((s) => s.length > 0).safeParse(req.params.key);
    if (!key.success) return fail(res, 400, 'malformed', 'key must be well-formed text of 1 to 256 UTF-8 bytes');
    const q = historyQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `from must be a log index; limit 1..${HISTORY_PAGE_MAX}`);
    const limit = q.data.limit ?? PAGE_DEFAULT;
    const from = q.data.from ?? 0n;
    const changes = node.store.keys.history(key.data, from, limit);
    sendPage(res, [['key', key.data]], changeEntries(node, texts, changes), [['next', changes.length === limit ? after(changes, from).toString() : null]]);
  });

  app.get('/v1/changes', async (req, res) => {
    const q = changesQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `prefix must be key text, from a log index, limit 1..${HISTORY_PAGE_MAX}, waitMs 0..30000`);
    const limit = q.data.limit ?? PAGE_DEFAULT;
    const from = q.data.from ?? 0n;
    const read = () => node.store.keys.changes(q.data.prefix ?? '', from, limit);
    let changes = read();
    // Long poll: nothing new yet, so wait for commits until one brings a change under the prefix or
    // the deadline passes. An empty answer before the deadline would look like a replica that does
    // not wait at all, which the SDK backs off from and counts against it (docs/client-sdk.md, "Watch").
    const deadlineMs = Date.now() + (q.data.waitMs ?? 0);
    while (changes.length === 0 && Date.now() < deadlineMs) {
      const height = node.latestBlock()?.header.height;
      await node.nextCommit(deadlineMs - Date.now());
      if (res.destroyed) return;
      changes = read();
      // No new block: the deadline passed or the replica is stopping.
      if (node.latestBlock()?.header.height === height) break;
    }
    // A watch never ends: `next` is always where to continue from.
    sendPage(res, [['prefix', q.data.prefix ?? '']], changeEntries(node, texts, changes), [['next', after(changes, from).toString()], ['more', changes.length === limit]]);
  });
}
