'use client';
// The vote history index: the newest sequence numbers of the inspected
// replica, each with its certificate's verdict (checked here against its
// epoch's membership) and its request count, linking to its vote history;
// and a box for any other sequence number.

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { useConsole } from '../../components/console-context';
import { CheckVerdict } from '../../components/verdict';
import { getJson } from '../../lib/replica-api';
import { checkCertificate, type CertificateCheck } from '../../lib/verify';

const SHOWN = 20;

export default function VotesIndex() {
  const { chain, replica } = useConsole();
  const router = useRouter();
  const [seq, setSeq] = useState('1');
  const [rows, setRows] = useState<{ seq: bigint; requests: number | undefined; check: CertificateCheck }[]>([]);

  useEffect(() => {
    void (async () => {
      const latest = await getJson(replica, '/v1/headers/latest');
      const top = latest.ok ? checkCertificate(chain, latest.body) : undefined;
      if (!top?.ok) return;
      const seqs: bigint[] = [];
      for (let h = top.header.height; h >= 1n && seqs.length < SHOWN; h--) seqs.push(h);
      setRows(
        await Promise.all(
          seqs.map(async (s) => {
            const r = await getJson(replica, `/v1/blocks/${s}`);
            const body = r.ok ? (r.body as { certificate?: unknown; batch?: unknown[] }) : undefined;
            const check: CertificateCheck = r.ok ? checkCertificate(chain, body?.certificate) : { ok: false, reason: r.reason };
            return { seq: s, requests: Array.isArray(body?.batch) ? body.batch.length : undefined, check };
          }),
        ),
      );
    })();
  }, [chain, replica]);

  return (
    <>
      <h1>Vote history</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (/^[1-9][0-9]{0,18}$/.test(seq)) router.push(`/votes/${seq}?replica=${encodeURIComponent(replica)}`);
        }}
      >
        <label>
          Sequence number <input value={seq} onChange={(e) => setSeq(e.target.value)} inputMode="numeric" />
        </label>{' '}
        <button type="submit">Show</button>
      </form>
      <h2>Newest sequence numbers</h2>
      <table data-testid="sequence-index">
        <thead>
          <tr>
            <th>sequence number</th>
            <th>requests</th>
            <th>certificate</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.seq.toString()}>
              <td>
                <Link href={`/votes/${r.seq}?replica=${encodeURIComponent(replica)}`}>{r.seq.toString()}</Link>
              </td>
              <td>{r.requests ?? ''}</td>
              <td>
                <CheckVerdict check={r.check} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
