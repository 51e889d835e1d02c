// Audit endpoints: every verified consensus message this replica sent or
// received (filter by type or sequence number), the equivocation evidence it
// found, and its own signer journal. All paginated by an id cursor; rows
// appear within about a second (they are written with the next block, or by
// the flush timer when no block commits). Each stored message is its full
// signed wire form (batches omitted), so an auditor verifies it on its own.

import type { Express } from 'express';
import { z } from 'zod';
import { journalEntryToJson } from '../keystore';
import type { ReplicaNode } from '../replica-node';
import { fail, limitParam, sizeParam } from './query-params';

const PAGE_MAX = 500;
const PAGE_DEFAULT = 100;
const MESSAGE_TYPES = ['pre-prepare', 'prepare', 'commit', 'checkpoint', 'view-change', 'new-view', 'epoch-accept'] as const;

const messagesQuery = z.strictObject({
  type: z.enum(MESSAGE_TYPES).optional(),
  seq: sizeParam.optional(),
  after: sizeParam.optional(),
  before: sizeParam.optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: limitParam(PAGE_MAX).optional(),
});
const pageQuery = z.strictObject({ after: sizeParam.optional(), limit: limitParam(PAGE_MAX).optional() });
const journalQuery = z.strictObject({ from: sizeParam.optional(), limit: limitParam(PAGE_MAX).optional() });

export function auditRoutes(app: Express, node: ReplicaNode): void {
  app.get('/v1/audit/messages', (req, res) => {
    const q = messagesQuery.safeParse(req.query);
    const desc = q.success && q.data.order === 'desc';
    if (!q.success || (desc && q.data.after !== undefined) || (!desc && q.data.before !== undefined)) {
      return fail(res, 400, 'malformed', `type one of ${MESSAGE_TYPES.join(', ')}; seq, after and before decimal below 2^63 (after with order=asc, before with order=desc); limit 1..${PAGE_MAX}`);
    }
    const limit = q.data.limit ?? PAGE_DEFAULT;
    const rows = node.store.audit.listMessages({ after: q.data.after ?? 0n, newestFirst: desc ? { before: q.data.before } : undefined, limit, type: q.data.type, seq: q.data.seq });
    // `message` is JSON this replica wrote from a parsed, verified message: embedded as is.
    const items = rows.map((r) => `{"id":"${r.id}","receivedAtMs":"${r.receivedMs}","message":${r.message}}`);
    const next = rows.length === limit ? `"${rows.at(-1)?.id}"` : 'null';
    res.type('application/json').send(`{"messages":[${items.join(',')}],"next":${next}}`);
  });

  app.get('/v1/audit/evidence', (req, res) => {
    const q = pageQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `after decimal below 2^63; limit 1..${PAGE_MAX}`);
    const limit = q.data.limit ?? PAGE_DEFAULT;
    const rows = node.store.audit.listEvidence(q.data.after ?? 0n, limit);
    const items = rows.map(
      (r) =>
        `{"id":"${r.id}","detectedAtMs":"${r.detectedMs}","replica":${JSON.stringify(r.replica)},"epoch":"${r.epoch}","view":"${r.view}","seq":"${r.seq}","phase":${JSON.stringify(r.phase)},"first":${r.first},"second":${r.second}}`,
    );
    const next = rows.length === limit ? `"${rows.at(-1)?.id}"` : 'null';
    res.type('application/json').send(`{"evidence":[${items.join(',')}],"next":${next}}`);
  });

  app.get('/v1/audit/signatures', (req, res) => {
    const q = journalQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', `from must be a journal index (decimal, below 2^63), limit 1..${PAGE_MAX}`);
    const entries = node.signatureJournal(q.data.from ?? 0n, q.data.limit ?? PAGE_DEFAULT);
    res.json({ entries: entries.map(journalEntryToJson) });
  });
}
