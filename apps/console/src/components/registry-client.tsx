'use client';
// A client SDK instance for the inspected replica, for pages that read the
// registry (keys, history, pending changes, organizations), and the
// organizations of client keys read from the certified registry state. Only
// the inspected replica is asked, so a failure is that replica's; the newest
// epoch is still learned from f+1 of all the configured replicas.

import { useEffect, useState } from 'react';
import { orgsOfClient, RegistryClient } from '@vcr/client-sdk';
import type { OrgRecord } from '@vcr/registry';
import { useConsole } from './console-context';
import { newestMembership } from '../lib/epoch-chain';

export function useRegistryClient(): { client: RegistryClient | undefined; error: string | undefined } {
  const { config, replica } = useConsole();
  const [client, setClient] = useState<RegistryClient | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    setClient(undefined);
    RegistryClient.create({ membership: config.membership, replicas: [replica], epochReplicas: config.replicas.map((r) => r.url) })
      .then(setClient)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [config, replica]);
  return { client, error };
}

export type OrgNames = { ok: true; nameOf: (clientId: string) => string[]; height: bigint } | { ok: false; reason: string } | undefined;

/**
 * The organizations the console can name: those of the newest verified membership (replica
 * operators and governance organizations). Their records are read with map proofs from the
 * certified state; a client key in none of them is shown by its key.
 */
export function useOrgNames(client: RegistryClient | undefined): OrgNames {
  const { chain } = useConsole();
  const [names, setNames] = useState<OrgNames>();
  useEffect(() => {
    if (!client) return;
    const membership = newestMembership(chain);
    const orgs = [...new Set([...membership.replicas.map((r) => r.organization), ...membership.governance.admins.map((a) => a.organization)])].filter((o) => /^[a-z0-9][a-z0-9-]{0,63}$/.test(o)).slice(0, 32);
    if (orgs.length === 0) return;
    client
      .organizations(orgs)
      .then((v) => {
        const records: Map<string, OrgRecord | undefined> = v.orgs;
        setNames({ ok: true, nameOf: (id) => orgsOfClient(records, id), height: v.height });
      })
      .catch((e: unknown) => setNames({ ok: false, reason: e instanceof Error ? e.message : String(e) }));
  }, [client, chain]);
  return names;
}
