'use client';
// Changes waiting for approvals (GET /v1/pending through the client SDK,
// which proves each record against the certified state and each submission
// like a history entry): what the change does, what it still needs (the
// certified result of its latest submission), who submitted it and when, and
// when it expires. Refreshed every few seconds, so an approval shows without
// a reload; a change whose record is gone is shown as applied when the key's
// verified history has the change after its last submission.

import Link from 'next/link';
import { useEffect, useState } from 'react';
import type { VerifiedPendingChange, VerifiedPendingList } from '@vcr/client-sdk';
import { equalBytes } from '@vcr/proofs';
import { singleOps } from '@vcr/registry';
import { useConsole } from '../../components/console-context';
import { useOrgNames, useRegistryClient } from '../../components/registry-client';
import { short, Verdict, when } from '../../components/verdict';
import { valueText } from '../../lib/line-diff';
import { consoleLivePollMs } from '../../lib/live';

type Applied = Map<string, { height: bigint; logIndex: bigint } | undefined>;

function progressOf(c: VerifiedPendingChange): string {
  const last = c.submissions.at(-1);
  return last && !last.result.ok ? (last.result.detail ?? '') : '';
}

export default function Pending() {
  const { replica } = useConsole();
  const { client, error: clientError } = useRegistryClient();
  const names = useOrgNames(client);
  const [list, setList] = useState<VerifiedPendingList | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [applied, setApplied] = useState<Applied>(new Map());

  useEffect(() => {
    if (!client) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const step = async () => {
      try {
        const next = await client.pending();
        if (stop) return;
        // For changes no longer pending: did the key's verified history take exactly this change after its last submission?
        const done: Applied = new Map();
        for (const c of next.changes.filter((x) => x.record === undefined)) {
          const last = c.submissions.at(-1);
          const first = last ? singleOps(last.op)[0] : undefined;
          if (!last || first === undefined || first.op === 'delete') continue;
          const history = await client.history(first.key, last.logIndex + 1n);
          const hit = history.find((h) => h.op === 'put' && h.value !== undefined && equalBytes(h.value, first.value));
          done.set(c.change, hit ? { height: hit.height, logIndex: hit.logIndex } : undefined);
        }
        if (stop) return;
        setList(next);
        setApplied(done);
        setError(undefined);
      } catch (e) {
        if (!stop) setError(e instanceof Error ? e.message : String(e));
      }
      if (!stop) timer = setTimeout(() => void step(), consoleLivePollMs);
    };
    void step();
    return () => {
      stop = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [client]);

  const who = (id: string) => {
    const orgs = names?.ok ? names.nameOf(id) : [];
    return orgs.length > 0 ? orgs.join(', ') : `client ${short(id, 8)}`;
  };
  return (
    <>
      <h1>Pending approvals</h1>
      <p className="muted">
        Changes to namespaces that need k of m organizations, submitted in recent blocks. Each record is proven against the certified state and each submission by its
        signature, its log leaf and its block&apos;s certificate. A replica can leave a change out of this list, never forge one in.{' '}
        <span className="live">live: refreshed every {consoleLivePollMs / 1000} s</span>
      </p>
      {(clientError ?? error) && <Verdict ok={false} reason={clientError ?? error} />}
      {list && (
        <p className="muted">
          Certified state at height {list.height.toString()} ({when(list.timestampMs)}) <Verdict ok />
        </p>
      )}
      {list && list.changes.length === 0 && <p>No change submitted for approval in recent blocks.</p>}
      {list?.changes.map((c) => {
        const first = c.submissions[0];
        const ops = first ? singleOps(first.op) : [];
        const done = applied.get(c.change);
        const status = c.record !== undefined ? 'pending' : done !== undefined ? 'applied' : 'gone';
        return (
          <div className="card" key={c.change} data-testid="pending-change" data-change={c.change} data-status={status}>
            <h2>
              {ops.map((o) => `${o.op} ${o.key}`).join('; ')}{' '}
              {status === 'pending' ? (
                <span className="result pending">waiting for approvals</span>
              ) : done !== undefined ? (
                <span className="result applied">applied at height {done.height.toString()}</span>
              ) : (
                <span className="muted">no longer pending (applied by a change not found in the key&apos;s history, or expired)</span>
              )}
            </h2>
            <p className="muted mono">change {c.change}</p>
            {ops.map((o, i) => (
              <pre key={i} className="diff mono">
                {o.op === 'delete' ? 'delete' : valueText(o.value)}
              </pre>
            ))}
            <p data-testid="progress">{progressOf(c)}</p>
            {c.record && (
              <p>
                Approved so far by <strong data-testid="approvals">{c.record.approvals.join(', ')}</strong>; proposed by {who(c.record.proposer)}; expires {when(c.record.expiresAtMs)}.
              </p>
            )}
            <table data-testid="submissions">
              <thead>
                <tr>
                  <th>submission</th>
                  <th>signed by</th>
                  <th>block</th>
                  <th>certified at</th>
                  <th>result</th>
                </tr>
              </thead>
              <tbody>
                {c.submissions.map((s, i) => (
                  <tr key={s.logIndex.toString()}>
                    <td>{i === 0 ? 'proposal' : 'approval'}</td>
                    <td>{who(s.clientId)}</td>
                    <td>
                      <Link href={`/blocks/${s.height}?replica=${encodeURIComponent(replica)}`}>{s.height.toString()}</Link>
                    </td>
                    <td>{when(s.timestampMs)}</td>
                    <td>
                      <Verdict ok /> {!s.result.ok && s.result.detail}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      })}
    </>
  );
}
