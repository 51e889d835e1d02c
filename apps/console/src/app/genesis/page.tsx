'use client';
// The pinned genesis: the membership the console trusts without proof, from
// which it walks the epoch chain (the Membership page) to the membership of
// every later epoch. An auditor can pin their own copy by uploading it; it is
// kept in this browser only.

import { useState } from 'react';
import { bytesToHex } from '@vcr/proofs';
import { useConsole } from '../../components/console-context';
import { forgetUploadedGenesis, parseGenesisText, pinUploadedGenesis } from '../../lib/config';

export default function Genesis() {
  const { config } = useConsole();
  const [message, setMessage] = useState<string | undefined>();
  const m = config.membership;
  return (
    <>
      <h1>Pinned genesis</h1>
      <p>
        Chain <code>{m.chainId}</code>, epoch {m.epoch.toString()}, f = {m.f}; pinned from {config.source === 'server' ? 'the console configuration' : 'a file uploaded in this browser'}.
      </p>
      <table>
        <thead>
          <tr>
            <th>replica</th>
            <th>organization</th>
            <th>address</th>
            <th>public key</th>
          </tr>
        </thead>
        <tbody>
          {m.replicas.map((r) => (
            <tr key={r.id}>
              <td>{r.id}</td>
              <td>{r.organization}</td>
              <td>{r.address}</td>
              <td className="mono">{bytesToHex(r.publicKey)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        Governance: {m.governance.threshold} of {m.governance.admins.map((a) => a.organization).join(', ')}.
      </p>
      <h2>Pin another genesis</h2>
      <input
        type="file"
        accept="application/json"
        onChange={async (e) => {
          const file = e.target.files?.[0];
          if (!file) return;
          const text = await file.text();
          const parsed = parseGenesisText(text);
          if (!parsed.ok) return setMessage(`refused: ${parsed.reason}`);
          pinUploadedGenesis(text);
          window.location.reload();
        }}
      />{' '}
      {config.source === 'uploaded' && (
        <button
          onClick={() => {
            forgetUploadedGenesis();
            window.location.reload();
          }}
        >
          Use the configured genesis again
        </button>
      )}
      {message && <p className="error">{message}</p>}
    </>
  );
}
