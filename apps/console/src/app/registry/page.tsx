'use client';
// Registry browser: keys under a prefix and the history of a key, read from
// the inspected replica through the client SDK, which verifies each listed
// entry (map proof against a verified certificate) and each change (the
// signed request, its log leaf and inclusion, the block's certificate). A
// failure is shown as such; the SDK never returns an unverified entry.
// Live: the page follows the verified change stream (watch) and lists again
// when a change arrives. A key's history also shows the proposal and each
// approval of a change that needed approvals (GET /v1/pending, each
// submission verified like a history entry), and names signers by their
// organizations from the certified registry state.

import { useEffect, useState } from 'react';
import type { ListedKey, VerifiedChange, VerifiedSubmission } from '@vcr/client-sdk';
import { singleOps } from '@vcr/registry';
import { useOrgNames, useRegistryClient } from '../../components/registry-client';
import { short, Verdict, when } from '../../components/verdict';

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? '(deleted)' : new TextDecoder().decode(bytes));

/** A row of a key's history: an applied change, or a submission of a change that waited for approvals. */
type HistoryRow = { kind: 'change'; change: VerifiedChange } | { kind: 'submission'; submission: VerifiedSubmission; first: boolean; still: boolean };

const rowIndex = (r: HistoryRow) => (r.kind === 'change' ? r.change.logIndex : r.submission.logIndex);

export default function RegistryBrowser() {
  const { client, error: clientError } = useRegistryClient();
  const names = useOrgNames(client);
  const [tick, setTick] = useState(0);
  const [prefix, setPrefix] = useState('');
  const [keys, setKeys] = useState<ListedKey[] | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [history, setHistory] = useState<HistoryRow[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [listed, setListed] = useState('');

  // Live: each verified change under the root bumps `tick`, which lists again and reloads the open history.
  useEffect(() => {
    if (!client) return;
    const stop = new AbortController();
    void (async () => {
      try {
        const head = await client.latest();
        for await (const _change of client.watch('', { fromLogIndex: head.certificate.header.logSize, signal: stop.signal, waitMs: 10_000 })) setTick((t) => t + 1);
      } catch (e) {
        if (!stop.signal.aborted) setError(`live updates stopped: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
    return () => stop.abort();
  }, [client]);

  const list = (p: string) => {
    if (!client) return;
    setListed(p);
    setError(undefined);
    client
      .list(p, { allowStale: true })
      .then((l) => setKeys(l.keys))
      .catch((e: unknown) => {
        setKeys(undefined);
        setError(e instanceof Error ? e.message : String(e));
      });
  };

  useEffect(() => list(listed), [client, tick]);

  useEffect(() => {
    if (!client || selected === undefined) return;
    const load = async (): Promise<HistoryRow[]> => {
      const changes = await client.history(selected);
      const pending = await client.pending();
      const rows: HistoryRow[] = changes.map((change) => ({ kind: 'change', change }));
      for (const c of pending.changes) {
        c.submissions.forEach((submission, i) => {
          if (singleOps(submission.op).some((o) => o.key === selected)) rows.push({ kind: 'submission', submission, first: i === 0, still: c.record !== undefined });
        });
      }
      return rows.sort((a, b) => (rowIndex(a) < rowIndex(b) ? -1 : rowIndex(a) > rowIndex(b) ? 1 : 0));
    };
    load()
      .then(setHistory)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [client, selected, tick]);

  const who = (id: string) => {
    const orgs = names?.ok ? names.nameOf(id) : [];
    return orgs.length > 0 ? `${orgs.join(', ')} (client ${short(id, 6)})` : `client ${short(id)}`;
  };

  return (
    <>
      <h1>Registry</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          list(prefix);
        }}
      >
        <label>
          Prefix <input value={prefix} onChange={(e) => setPrefix(e.target.value)} placeholder="demo/flags/" />
        </label>{' '}
        <button type="submit">List</button>
      </form>
      <p className="muted">
        <span className="live">live: follows the verified change stream</span>
      </p>
      {(clientError ?? error) && <Verdict ok={false} reason={clientError ?? error} />}
      {keys && (
        <>
          <p className="muted">
            {keys.length} keys, each <Verdict ok /> by its map proof against a verified certificate. A listing&apos;s completeness cannot be proven: compare replicas.
          </p>
          <table data-testid="keys">
            <thead>
              <tr>
                <th>key</th>
                <th>value</th>
                <th>revision</th>
                <th>certified height</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.key}>
                  <td>
                    <button className="link" onClick={() => setSelected(k.key)}>
                      {k.key}
                    </button>
                  </td>
                  <td className="mono">{text(k.value).slice(0, 200)}</td>
                  <td>{k.revision.toString()}</td>
                  <td>{k.height.toString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {selected !== undefined && (
        <>
          <h2>History of {selected}</h2>
          {history === undefined ? (
            <p>Verifying…</p>
          ) : (
            <table data-testid="history">
              <thead>
                <tr>
                  <th>log index</th>
                  <th>height</th>
                  <th>certified at</th>
                  <th>change</th>
                  <th>revision</th>
                  <th>signed by</th>
                  <th>receipt</th>
                </tr>
              </thead>
              <tbody>
                {history.map((r) =>
                  r.kind === 'change' ? (
                    <tr key={`c${r.change.logIndex}`} data-kind="change">
                      <td>{r.change.logIndex.toString()}</td>
                      <td>{r.change.height.toString()}</td>
                      <td>{when(r.change.timestampMs)}</td>
                      <td className="mono">{r.change.op === 'delete' ? 'delete' : `put ${text(r.change.value).slice(0, 120)}`}</td>
                      <td>{r.change.revision.toString()}</td>
                      <td className="mono">{who(r.change.clientId)}</td>
                      <td>
                        <Verdict ok />
                      </td>
                    </tr>
                  ) : (
                    <tr key={`s${r.submission.logIndex}`} data-kind={r.first ? 'proposal' : 'approval'}>
                      <td>{r.submission.logIndex.toString()}</td>
                      <td>{r.submission.height.toString()}</td>
                      <td>{when(r.submission.timestampMs)}</td>
                      <td className="mono">
                        <span className="result pending">{r.first ? 'proposed' : 'approved'}</span>{' '}
                        {singleOps(r.submission.op)
                          .map((o) => `${o.op} ${o.key}`)
                          .join('; ')}
                        {!r.submission.result.ok && r.submission.result.detail ? ` (${r.submission.result.detail})` : ''}
                      </td>
                      <td>{r.still ? 'pending' : ''}</td>
                      <td className="mono">{who(r.submission.clientId)}</td>
                      <td>
                        <Verdict ok />
                      </td>
                    </tr>
                  ),
                )}
              </tbody>
            </table>
          )}
        </>
      )}
    </>
  );
}
