'use client';
// Registry browser: keys under a prefix and the history of a key, read from
// the inspected replica through the client SDK, which verifies each listed
// entry (map proof against a verified certificate) and each change (the
// signed request, its log leaf and inclusion, the block's certificate). A
// failure is shown as such; the SDK never returns an unverified entry.

import { useEffect, useState } from 'react';
import { type ListedKey, RegistryClient, type VerifiedChange } from '@vcr/client-sdk';
import { useConsole } from '../../components/console-context';
import { short, Verdict, when } from '../../components/verdict';

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? '(deleted)' : new TextDecoder().decode(bytes));

export default function RegistryBrowser() {
  const { config, replica } = useConsole();
  const [client, setClient] = useState<RegistryClient | undefined>();
  const [prefix, setPrefix] = useState('');
  const [keys, setKeys] = useState<ListedKey[] | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [history, setHistory] = useState<VerifiedChange[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    // Only the inspected replica: a failure is that replica's, not hidden by failing over to another.
    // The newest epoch is still learned from f+1 of all the configured replicas (docs/client-sdk.md, "Epochs").
    RegistryClient.create({ membership: config.membership, replicas: [replica], epochReplicas: config.replicas.map((r) => r.url) })
      .then(setClient)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [config, replica]);

  const list = (p: string) => {
    if (!client) return;
    setError(undefined);
    client
      .list(p, { allowStale: true })
      .then((l) => setKeys(l.keys))
      .catch((e: unknown) => {
        setKeys(undefined);
        setError(e instanceof Error ? e.message : String(e));
      });
  };

  useEffect(() => list(''), [client]);

  useEffect(() => {
    if (!client || selected === undefined) return;
    setHistory(undefined);
    client
      .history(selected)
      .then(setHistory)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [client, selected]);

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
      {error && <Verdict ok={false} reason={error} />}
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
                  <th>signed by client</th>
                  <th>receipt</th>
                </tr>
              </thead>
              <tbody>
                {history.map((c) => (
                  <tr key={c.logIndex.toString()}>
                    <td>{c.logIndex.toString()}</td>
                    <td>{c.height.toString()}</td>
                    <td>{when(c.timestampMs)}</td>
                    <td className="mono">{c.op === 'delete' ? 'delete' : `put ${text(c.value).slice(0, 120)}`}</td>
                    <td>{c.revision.toString()}</td>
                    <td className="mono">{short(c.clientId)}</td>
                    <td>
                      <Verdict ok />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </>
  );
}
