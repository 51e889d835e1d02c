'use client';
// One sequence number's full vote history as the inspected replica recorded
// it: the pre-prepare, every prepare and commit and checkpoint, who signed,
// when it was received, the signature, and whether it verifies here.

import { useParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { bytesToHex } from '@vcr/proofs';
import { useConsole } from '../../../components/console-context';
import { short, CheckVerdict, Verdict, when } from '../../../components/verdict';
import { getJson } from '../../../lib/replica-api';
import { checkMessage, type MessageCheck, votedHash } from '../../../lib/verify';

interface Row {
  id: string;
  receivedAtMs: string;
  check: MessageCheck;
  raw: { type?: string; from?: string; epoch?: string; view?: string; signature?: string };
}

export default function VoteHistory() {
  const { chain, replica } = useConsole();
  const params = useParams<{ seq: string }>();
  const seq = /^[1-9][0-9]{0,18}$/.test(params.seq ?? '') ? (params.seq as string) : undefined;
  const [rows, setRows] = useState<Row[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    if (!seq) return;
    void getJson(replica, `/v1/audit/messages?seq=${seq}&limit=500`).then((r) => {
      if (!r.ok) return setError(r.reason);
      const messages = (r.body as { messages?: { id: string; receivedAtMs: string; message: Row['raw'] }[] }).messages;
      if (!Array.isArray(messages)) return setError('answer has no messages');
      setRows(messages.map((m) => ({ id: m.id, receivedAtMs: m.receivedAtMs, raw: m.message ?? {}, check: checkMessage(chain, m.message) })));
    });
  }, [chain, replica, seq]);

  if (!seq) return <p className="error">Not a sequence number.</p>;
  const order = ['pre-prepare', 'prepare', 'commit', 'checkpoint'];
  const sorted = [...(rows ?? [])].sort((a, b) => order.indexOf(a.raw.type ?? '') - order.indexOf(b.raw.type ?? '') || Number(BigInt(a.id) - BigInt(b.id)));
  const failed = sorted.filter((r) => !r.check.ok).length;
  return (
    <>
      <h1>Vote history of sequence number {seq}</h1>
      <p className="muted">
        As recorded by {replica}: every signed message it received or sent for this sequence number. {rows && `${rows.length} messages, ${failed} not verified (each against the membership of its epoch).`}
      </p>
      {error && <Verdict ok={false} reason={error} />}
      <table data-testid="votes">
        <thead>
          <tr>
            <th>phase</th>
            <th>signer</th>
            <th>epoch</th>
            <th>view</th>
            <th>for header</th>
            <th>received</th>
            <th>signature</th>
            <th>verification</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr key={r.id} data-phase={r.raw.type}>
              <td>{r.raw.type}</td>
              <td>{r.raw.from}</td>
              <td>{r.raw.epoch ?? ''}</td>
              <td>{r.raw.view ?? ''}</td>
              <td className="mono">{r.check.message ? short(votedHash(r.check.message) ?? '') : ''}</td>
              <td>{when(r.receivedAtMs)}</td>
              <td className="mono">{r.check.message ? short(bytesToHex(r.check.message.signature), 16) : short(String(r.raw.signature ?? ''), 16)}</td>
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
