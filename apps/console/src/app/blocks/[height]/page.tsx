'use client';
// One block: its header, and its certificate with every signer's signature
// checked on its own and the quorum checked as a whole; links to the vote
// history of its sequence number.

import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { bytesToHex, type CanonicalValue, type ClientRequest, nobleBackend, batchHash, parseCommittedBlockJson } from '@vcr/proofs';
import { useConsole } from '../../../components/console-context';
import { SignerRows } from '../../../components/signer-rows';
import { BlockRequests } from '../../../components/block-requests';
import { CheckVerdict, NotFound, Verdict, when } from '../../../components/verdict';
import { getJson } from '../../../lib/replica-api';
import { type CertificateCheck, checkCertificate } from '../../../lib/verify';

function field(value: CanonicalValue | null): string {
  if (value === null) return 'none';
  if (value instanceof Uint8Array) return bytesToHex(value);
  return String(value);
}

export default function BlockPage() {
  const { chain, replica } = useConsole();
  const params = useParams<{ height: string }>();
  const height = /^[1-9][0-9]{0,18}$/.test(params.height ?? '') ? BigInt(params.height as string) : undefined;
  const [check, setCheck] = useState<CertificateCheck | undefined>();
  const [requests, setRequests] = useState<ClientRequest[]>([]);
  const [missing, setMissing] = useState<string | undefined>();
  const [batchOk, setBatchOk] = useState<{ ok: boolean; reason?: string }>({ ok: false, reason: 'not loaded' });

  useEffect(() => {
    if (height === undefined) return;
    void getJson(replica, `/v1/blocks/${height}`).then((r) => {
      // A height the replica does not have is not a failed rule: it is shown as not found.
      if (!r.ok && r.status === 404) return setMissing(`replica ${replica} has no block ${height}`);
      if (!r.ok) return setCheck({ ok: false, reason: r.reason });
      setMissing(undefined);
      const body = r.body as { certificate?: unknown; batch?: { clientId: string; requestId: string }[] };
      const c = checkCertificate(chain, body.certificate);
      setCheck(c.ok && c.header.height !== height ? { ok: false, reason: `certificate is for height ${c.header.height}, not ${height}` } : c);
      // The batch shown must be the one the certified header commits to.
      const block = parseCommittedBlockJson(r.body);
      if (!block.ok) setBatchOk({ ok: false, reason: `block malformed: ${block.issues.join('; ')}` });
      else if (!c.ok) setBatchOk({ ok: false, reason: 'the certificate does not verify' });
      else if (bytesToHex(batchHash(nobleBackend, block.value.batch)) !== bytesToHex(c.header.batchHash)) setBatchOk({ ok: false, reason: 'batch does not match the certified batchHash' });
      else setBatchOk({ ok: true });
      setRequests(block.ok ? block.value.batch : []);
    });
  }, [chain, replica, height]);

  if (height === undefined) return <p className="error">Not a block height.</p>;
  if (missing !== undefined)
    return (
      <h1>
        Block {height.toString()} <NotFound what={missing} />
      </h1>
    );
  if (!check) return <p>Loading block {height.toString()}…</p>;
  const header = check.ok ? check.header : check.certificate?.header;
  return (
    <>
      <h1>
        Block {height.toString()} <CheckVerdict check={check} />
      </h1>
      <p>
        <Link href={`/votes/${height}?replica=${encodeURIComponent(replica)}`}>Vote history of sequence number {height.toString()}</Link>
      </p>
      {header && (
        <table data-testid="header">
          <tbody>
            {Object.entries(header).map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td className="mono">{k === 'timestampMs' ? `${field(v as CanonicalValue)} (${when(v as bigint)})` : field(v as CanonicalValue)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Certificate</h2>
      <p className="muted">
        Commit view {check.ok ? check.certificate.commitView.toString() : (check.certificate?.commitView.toString() ?? '?')}; each signer signed {'{'}headerHash, height, view{'}'} with kind
        &quot;commit&quot;.
      </p>
      <table data-testid="signers">
        <thead>
          <tr>
            <th>signer</th>
            <th>organization</th>
            <th>signature</th>
            <th>this signature</th>
          </tr>
        </thead>
        <tbody>
          <SignerRows signers={check.ok ? check.signers : (check.signers ?? [])} />
        </tbody>
      </table>
      <h2>
        Requests ({requests.length}) <Verdict ok={batchOk.ok} reason={batchOk.reason} />
      </h2>
      {batchOk.ok && check.ok && <BlockRequests replica={replica} header={check.header} batch={requests} />}
    </>
  );
}
