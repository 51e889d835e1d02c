'use client';
// View changes as the inspected replica recorded them: every VIEW-CHANGE (who
// asked to move to which view, with which checkpoint and prepared
// certificates) and every NEW-VIEW (the new primary's proof: the quorum of
// view changes it carries), each signature verified here, and what each
// carries verified with the replicas' own rule (lib/view-change-check.ts):
// the checkpoint proof and every prepared certificate of a view change, and a
// quorum of such view changes in a new view.

import { useEffect, useState } from 'react';
import { useConsole } from '../../components/console-context';
import { CheckVerdict, Verdict, when } from '../../components/verdict';
import { getJson } from '../../lib/replica-api';
import { checkMessage, type MessageCheck } from '../../lib/verify';
import { checkNewViewContents, checkViewChangeContents } from '../../lib/view-change-check';
import type { EpochChain } from '../../lib/epoch-chain';

const PAGE = 50;

interface Row {
  id: string;
  receivedAtMs: string;
  check: MessageCheck;
}

/** A message whose signature verified is verified only if what it carries does too. */
function withContents(chain: EpochChain, check: MessageCheck): MessageCheck {
  if (!check.ok) return check;
  const m = check.message;
  const contents = m.type === 'view-change' ? checkViewChangeContents(chain, m) : m.type === 'new-view' ? checkNewViewContents(chain, m) : { ok: true as const };
  return contents.ok ? check : { ok: false, reason: contents.reason, message: m, ...(contents.unverifiable ? { unverifiable: true as const } : {}) };
}

export default function ViewChanges() {
  const { chain, replica } = useConsole();
  const [rows, setRows] = useState<Row[]>([]);
  const [error, setError] = useState<string | undefined>();
  // Newest first, PAGE of each kind at a time; `before` pages back through older ones.
  const [before, setBefore] = useState<{ vc?: string; nv?: string }>({});
  const [older, setOlder] = useState<{ vc?: string; nv?: string } | undefined>();

  useEffect(() => {
    const load = async (type: string, cursor: string | undefined) => {
      // 'done': this kind has no older page; only the other kind is paged further.
      if (cursor === 'done') return { rows: [], next: undefined };
      const r = await getJson(replica, `/v1/audit/messages?type=${type}&order=desc&limit=${PAGE}${cursor ? `&before=${cursor}` : ''}`);
      if (!r.ok) throw new Error(r.reason);
      const body = r.body as { messages?: { id: string; receivedAtMs: string; message: unknown }[]; next?: string | null };
      const rows = (body.messages ?? []).map((m) => ({ id: m.id, receivedAtMs: m.receivedAtMs, check: withContents(chain, checkMessage(chain, m.message)) }));
      return { rows, next: body.next ?? undefined };
    };
    Promise.all([load('view-change', before.vc), load('new-view', before.nv)])
      .then(([vc, nv]) => {
        setRows([...vc.rows, ...nv.rows].sort((a, b) => Number(BigInt(b.id) - BigInt(a.id))));
        setOlder(vc.next || nv.next ? { vc: vc.next ?? 'done', nv: nv.next ?? 'done' } : undefined);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [chain, replica, before]);

  return (
    <>
      <h1>View changes</h1>
      {error && <Verdict ok={false} reason={error} />}
      {rows.length === 0 && !error && <p className="muted">No view change recorded by this replica.</p>}
      <p>
        {older && <button onClick={() => setBefore(older)}>older</button>} {(before.vc || before.nv) && <button onClick={() => setBefore({})}>newest</button>}
      </p>
      <table data-testid="view-changes">
        <thead>
          <tr>
            <th>received</th>
            <th>message</th>
            <th>from</th>
            <th>to view</th>
            <th>details</th>
            <th>verification</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const m = r.check.message;
            const details =
              m?.type === 'view-change'
                ? `checkpoint ${m.checkpoint.seq} (${m.checkpoint.proof.length} signatures), ${m.prepared.length} prepared certificates`
                : m?.type === 'new-view'
                  ? `carries view changes from ${m.viewChanges.map((vc) => vc.from).join(', ')}; re-proposes ${m.prePrepares.length} sequence numbers`
                  : '';
            return (
              <tr key={r.id} data-type={m?.type}>
                <td>{when(r.receivedAtMs)}</td>
                <td>{m?.type ?? '?'}</td>
                <td>{m?.from ?? '?'}</td>
                <td>{m?.type === 'view-change' ? m.newView.toString() : m?.type === 'new-view' ? m.view.toString() : ''}</td>
                <td>{details}</td>
                <td>
                  <CheckVerdict check={r.check} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
