'use client';
// Cluster overview: every configured replica side by side, its health and its
// latest certified header, the certificate verified here against the membership
// of its epoch (proven from the pinned genesis by the epoch chain).

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useConsole } from '../components/console-context';
import { CheckVerdict, short, when } from '../components/verdict';
import { newestMembership } from '../lib/epoch-chain';
import { getJson } from '../lib/replica-api';
import { type CertificateCheck, checkCertificate } from '../lib/verify';

interface Row {
  url: string;
  id: string;
  organization: string;
  health: Record<string, unknown> | undefined;
  healthError: string | undefined;
  latest: CertificateCheck | undefined;
}

export default function Overview() {
  const { config, chain } = useConsole();
  const [rows, setRows] = useState<Row[]>([]);

  useEffect(() => {
    let stop = false;
    const load = async () => {
      const next = await Promise.all(
        config.replicas.map(async (r): Promise<Row> => {
          const health = await getJson(r.url, '/healthz');
          const latest = await getJson(r.url, '/v1/headers/latest');
          return {
            ...r,
            health: health.ok ? (health.body as Record<string, unknown>) : undefined,
            healthError: health.ok ? undefined : health.reason,
            latest: latest.ok ? checkCertificate(chain, latest.body) : { ok: false, reason: latest.reason },
          };
        }),
      );
      if (!stop) setRows(next);
    };
    void load();
    const timer = setInterval(load, 3_000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [config, chain]);

  const newest = newestMembership(chain);
  return (
    <>
      <h1>Cluster</h1>
      <p className="muted">
        Epoch {newest.epoch.toString()} (the newest verified): {newest.replicas.length} replicas, f = {newest.f}. A certificate needs a quorum of distinct replicas of the
        membership of its own epoch, proven from the pinned genesis by the <Link href="/epochs">epoch chain</Link>.
      </p>
      <table data-testid="overview">
        <thead>
          <tr>
            <th>replica</th>
            <th>organization</th>
            <th>health</th>
            <th>view</th>
            <th>epoch</th>
            <th>certified height</th>
            <th>certified at</th>
            <th>header hash</th>
            <th>latest certificate</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.url} data-replica={r.id}>
              <td>
                {r.id} <span className="muted">{r.url}</span>
              </td>
              <td>{r.organization}</td>
              <td>{r.health ? String(r.health.status) : <span className="error">{r.healthError}</span>}</td>
              <td>{r.health ? String(r.health.view) : ''}</td>
              <td>{r.latest?.ok ? r.latest.header.epoch.toString() : ''}</td>
              <td>{r.latest?.ok ? r.latest.header.height.toString() : ''}</td>
              <td>{r.latest?.ok ? when(r.latest.header.timestampMs) : ''}</td>
              <td className="mono">{r.latest?.ok ? short(r.latest.hash) : ''}</td>
              <td>{r.latest ? <CheckVerdict check={r.latest} /> : 'loading…'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
