'use client';
// Recent blocks of the inspected replica, newest first, 20 per page; each
// certificate verified here. Nothing loads the whole chain.

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useConsole } from '../../components/console-context';
import { short, CheckVerdict, Verdict, when } from '../../components/verdict';
import { consoleLivePollMs } from '../../lib/live';
import { getJson } from '../../lib/replica-api';
import { checkCertificate, type CertificateCheck } from '../../lib/verify';

const PAGE = 20;

export default function Blocks() {
  const { chain, replica } = useConsole();
  const [latest, setLatest] = useState<bigint | undefined>();
  const [page, setPage] = useState(0);
  const top = latest === undefined ? undefined : latest - BigInt(page * PAGE);
  const [rows, setRows] = useState<{ height: bigint; batch: number | undefined; check: CertificateCheck }[]>([]);
  const [error, setError] = useState<string | undefined>();

  // Live: follow the newest certified head; a new block is listed once its certificate verifies.
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const step = async () => {
      const r = await getJson(replica, '/v1/headers/latest');
      if (stop) return;
      const check = r.ok ? checkCertificate(chain, r.body) : undefined;
      if (check?.ok) {
        setError(undefined);
        setLatest((old) => (old === check.header.height ? old : check.header.height));
      } else setError(r.ok ? (check && !check.ok ? check.reason : 'unknown') : r.reason);
      timer = setTimeout(() => void step(), consoleLivePollMs);
    };
    void step();
    return () => {
      stop = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [chain, replica]);

  useEffect(() => {
    if (top === undefined || top < 1n) return;
    const heights: bigint[] = [];
    for (let h = top; h >= 1n && heights.length < PAGE; h--) heights.push(h);
    void Promise.all(
      heights.map(async (height) => {
        const r = await getJson(replica, `/v1/blocks/${height}`);
        const body = r.ok ? (r.body as { certificate?: unknown; batch?: unknown[] }) : undefined;
        const check: CertificateCheck = r.ok ? checkCertificate(chain, body?.certificate) : { ok: false, reason: r.reason };
        // The block must be the one its certificate certifies, at the height asked for.
        const fixed: CertificateCheck = check.ok && check.header.height !== height ? { ok: false, reason: `certificate is for height ${check.header.height}` } : check;
        return { height, batch: Array.isArray(body?.batch) ? body.batch.length : undefined, check: fixed };
      }),
    ).then(setRows);
  }, [chain, replica, top]);

  return (
    <>
      <h1>Blocks</h1>
      <p className="muted">
        Newest first. <span className="live">live: follows the newest certified head every {consoleLivePollMs / 1000} s</span>
      </p>
      {error && <Verdict ok={false} reason={`latest header: ${error}`} />}
      <p>
        {top !== undefined && top > BigInt(PAGE) && <button onClick={() => setPage((p) => p + 1)}>older</button>}{' '}
        {page > 0 && <button onClick={() => setPage((p) => p - 1)}>newer</button>}
      </p>
      <table data-testid="blocks">
        <thead>
          <tr>
            <th>height</th>
            <th>time</th>
            <th>view</th>
            <th>requests</th>
            <th>signers</th>
            <th>certificate</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.height.toString()} data-height={r.height.toString()}>
              <td>
                <Link href={`/blocks/${r.height}?replica=${encodeURIComponent(replica)}`}>{r.height.toString()}</Link>
              </td>
              <td>{r.check.ok ? when(r.check.header.timestampMs) : ''}</td>
              <td>{r.check.ok ? r.check.header.view.toString() : ''}</td>
              <td>{r.batch ?? ''}</td>
              <td className="mono">{r.check.ok ? r.check.signers.map((s) => s.replicaId).join(', ') : ''}</td>
              <td>
                <CheckVerdict check={r.check} /> {r.check.ok && <span className="mono muted">{short(r.check.hash)}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
