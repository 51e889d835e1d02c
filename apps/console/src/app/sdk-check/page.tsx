'use client';
// SDK self-check: one verified read through the client SDK, in this browser.
// `?key=` the registry key, `?replicas=` comma-separated replica URLs in
// failover order (default: the configured ones), `?flag=1&plan=` to evaluate
// the key as a flag instead. Shows the verified value with the certified
// height and the replica that proved it, or the SDK's refusal with one line
// per replica asked. Used by test/sdk-browser.test.ts.

import { useEffect, useState } from 'react';
import { RegistryClient, RegistryError } from '@vcr/client-sdk';
import { useConsole } from '../../components/console-context';

type Outcome = { outcome: 'verified'; detail: Record<string, string | boolean> } | { outcome: 'refused'; detail: { code: string; message: string; attempts: string[] } };

export default function SdkCheck() {
  const { config } = useConsole();
  const [result, setResult] = useState<Outcome | undefined>();

  useEffect(() => {
    const params = new URLSearchParams(window.location.search);
    const key = params.get('key') ?? '';
    const listed = params.get('replicas');
    const replicas = listed ? listed.split(',').filter(Boolean) : config.replicas.map((r) => r.url);
    const run = async (): Promise<Outcome> => {
      // Reads go to the listed replicas; the newest epoch is learned from f+1 of all the configured ones.
      const client = await RegistryClient.create({ membership: config.membership, replicas, epochReplicas: [...replicas, ...config.replicas.map((r) => r.url)] });
      if (params.get('flag') === '1') {
        const e = await client.evaluateFlag(key, { plan: params.get('plan') ?? '' });
        return { outcome: 'verified', detail: { key, variant: e.variant, value: JSON.stringify(e.value), revision: e.revision.toString(), height: e.height.toString(), epoch: e.epoch.toString(), stale: e.stale, replica: e.replica } };
      }
      const read = await client.get(key);
      const value = read.entry === undefined ? '(absent, proven)' : new TextDecoder().decode(read.entry.value);
      return { outcome: 'verified', detail: { key, value, revision: String(read.entry?.revision ?? 0n), height: read.height.toString(), epoch: read.epoch.toString(), stale: read.stale, replica: read.replica, certificateChecks: String(client.certificateChecks) } };
    };
    run()
      .then(setResult)
      .catch((e: unknown) =>
        setResult({
          outcome: 'refused',
          detail: {
            code: e instanceof RegistryError ? e.code : 'error',
            message: e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e),
            attempts: e instanceof RegistryError ? e.attempts.map((a) => `${a.replica}: ${a.code}: ${a.detail}`) : [],
          },
        }),
      );
  }, [config]);

  return (
    <>
      <h1>SDK check</h1>
      {result === undefined ? (
        <p>Verifying…</p>
      ) : (
        <div data-testid="sdk-result" data-outcome={result.outcome}>
          <p>{result.outcome === 'verified' ? 'VERIFIED in this browser' : 'REFUSED'}</p>
          <pre data-testid="sdk-detail">{JSON.stringify(result.detail, null, 2)}</pre>
        </div>
      )}
    </>
  );
}
