'use client';
// The requests of one verified block, decoded (lib/request-view.ts): the
// signer's organization (certified registry state), the operation, each key
// and value with a diff against the key's previous revision (from its
// verified history), and the certified result of each request, read from the
// block's log leaves (GET /v1/blocks/{h}/results) and checked by the SDK's
// verifyBlockResults against the certified header.

import { useEffect, useState } from 'react';
import { blockResultsSchema, verifyBlockResults } from '@vcr/client-sdk';
import { type BlockHeader, type ClientRequest, nobleBackend } from '@vcr/proofs';
import { lineDiff, valueText } from '../lib/line-diff';
import { getJson } from '../lib/replica-api';
import { type RequestView, requestView } from '../lib/request-view';
import { useOrgNames, useRegistryClient } from './registry-client';
import { short, Verdict } from './verdict';

/** Requests decoded on one page, and previous revisions looked up for diffs. */
const SHOWN_MAX = 200;
const DIFFS_MAX = 20;

export function ResultCell({ view }: { view: RequestView['result'] }) {
  switch (view.kind) {
    case 'applied':
      return (
        <span className="result applied" data-result="applied">
          applied{view.revisions.length > 0 ? ` (revision ${view.revisions.join(', ')})` : ''}
        </span>
      );
    case 'refused':
      return (
        <span className="result refused" data-result="refused" data-rule={view.rule}>
          refused: {view.rule}
          {view.detail ? ` — ${view.detail}` : ''}
        </span>
      );
    case 'pending':
      return (
        <span className="result pending" data-result="pending">
          pending approval{view.progress ? `: ${view.progress}` : ''}
        </span>
      );
    case 'not-executed':
      return (
        <span className="muted" data-result="not-executed">
          not executed (a repeated request id, or one outside the id window)
        </span>
      );
  }
}

function Diff({ before, after }: { before: string | undefined; after: string | undefined }) {
  if (after === undefined) return <span className="muted">deleted</span>;
  if (before === undefined) return <pre className="diff mono">{after}</pre>;
  return (
    <pre className="diff mono" data-testid="diff">
      {lineDiff(before, after).map((l, i) => (
        <div key={i} className={l.kind}>
          {l.kind === 'added' ? '+ ' : l.kind === 'removed' ? '- ' : '  '}
          {l.text}
        </div>
      ))}
    </pre>
  );
}

export function BlockRequests({ replica, header, batch }: { replica: string; header: BlockHeader; batch: readonly ClientRequest[] }) {
  const { client } = useRegistryClient();
  const names = useOrgNames(client);
  const [views, setViews] = useState<{ ok: true; views: RequestView[] } | { ok: false; reason: string } | undefined>();
  const [previous, setPrevious] = useState<Map<string, string | undefined>>(new Map());

  useEffect(() => {
    void getJson(replica, `/v1/blocks/${header.height}/results`).then((r) => {
      if (!r.ok) return setViews({ ok: false, reason: `results: ${r.reason}` });
      const parsed = blockResultsSchema.safeParse(r.body);
      if (!parsed.success) return setViews({ ok: false, reason: `results malformed: ${parsed.error.issues[0]?.message ?? ''}` });
      const checked = verifyBlockResults(nobleBackend, header, batch, parsed.data);
      if (!checked.ok) return setViews({ ok: false, reason: `results: ${checked.detail}` });
      const orgsOf = names?.ok ? names.nameOf : () => [];
      setViews({ ok: true, views: batch.slice(0, SHOWN_MAX).map((q, i) => requestView(q, checked.value[i] ?? { executed: false }, orgsOf(q.clientId))) });
    });
  }, [replica, header, batch, names]);

  // The previous revision of each written key, from its verified history: the last change before this request.
  useEffect(() => {
    if (!client || !views?.ok) return;
    const wanted = views.views.flatMap((v) => (v.result.kind === 'applied' && v.logIndex !== undefined ? v.changes.filter((c) => c.key !== '').map((c) => ({ key: c.key, before: v.logIndex as bigint })) : [])).slice(0, DIFFS_MAX);
    void Promise.all(
      wanted.map(async ({ key, before }) => {
        try {
          const history = await client.history(key);
          const last = history.filter((c) => c.logIndex < before).at(-1);
          return [`${key}@${before}`, last?.value === undefined ? undefined : valueText(last.value)] as const;
        } catch {
          return [`${key}@${before}`, undefined] as const;
        }
      }),
    ).then((pairs) => setPrevious(new Map(pairs)));
  }, [client, views]);

  if (!views) return <p>Reading the certified results…</p>;
  if (!views.ok) return <Verdict ok={false} reason={views.reason} />;
  return (
    <>
      <p className="muted">
        Each result is the certified one: the block&apos;s log leaves, each included in its certified log root. Organizations are read from the certified registry state
        {names?.ok ? ` at height ${names.height}` : names && !names.ok ? ` (not available: ${names.reason})` : ''}.
      </p>
      <table data-testid="requests">
        <thead>
          <tr>
            <th>signed by</th>
            <th>request id</th>
            <th>operation</th>
            <th>key</th>
            <th>value (diff against the previous revision)</th>
            <th>result</th>
          </tr>
        </thead>
        <tbody>
          {views.views.map((v) => (
            <tr key={`${v.clientId}/${v.requestId}`} data-operation={v.operation} data-result={v.result.kind}>
              <td>
                {v.orgs.length > 0 ? <strong data-testid="org">{v.orgs.join(', ')}</strong> : <span className="muted">no known organization</span>}
                <br />
                <span className="mono muted" title={v.clientId}>
                  client {short(v.clientId, 8)}
                </span>
              </td>
              <td>{v.requestId.toString()}</td>
              <td>{v.operation}</td>
              <td className="mono">
                {v.changes.map((c, i) => (
                  <div key={i}>{c.key || c.op}</div>
                ))}
              </td>
              <td>
                {v.changes.map((c, i) => (
                  <div key={i}>{c.key === '' ? <span className="mono">{c.value}</span> : <Diff before={v.logIndex === undefined ? undefined : previous.get(`${c.key}@${v.logIndex}`)} after={c.value} />}</div>
                ))}
              </td>
              <td>
                <ResultCell view={v.result} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
