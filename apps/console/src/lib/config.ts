// What the console trusts: the genesis membership the auditor pinned (served
// by the console's own server from VCR_CONSOLE_GENESIS_FILE, or uploaded in
// the browser and kept in localStorage), and the replica URLs to ask. The
// replicas themselves are never trusted: everything they say is verified
// against this membership, in the browser.

import { type Membership, parseMembershipJson } from '@vcr/proofs';

export interface ConsoleConfig {
  membership: Membership;
  replicas: { id: string; organization: string; url: string }[];
  /** Where the pinned genesis came from, shown on every page. */
  source: 'server' | 'uploaded';
}

const UPLOADED_KEY = 'vcr-console-genesis';

export function parseGenesisText(text: string): { ok: true; membership: Membership } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = parseMembershipJson((raw as { membership?: unknown } | null)?.membership);
  return parsed.ok ? { ok: true, membership: parsed.value } : { ok: false, reason: `not a genesis file: ${parsed.issues.join('; ')}` };
}

export function pinUploadedGenesis(text: string): void {
  window.localStorage.setItem(UPLOADED_KEY, text);
}

export function forgetUploadedGenesis(): void {
  window.localStorage.removeItem(UPLOADED_KEY);
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('/api/config', { cache: 'no-store' });
  if (!res.ok) throw new Error(`console configuration: HTTP ${res.status}`);
  const body = (await res.json()) as { genesis?: string; replicaUrls?: string[] };
  const uploaded = window.localStorage.getItem(UPLOADED_KEY);
  const text = uploaded ?? body.genesis;
  if (text === undefined) throw new Error('no genesis configured: set VCR_CONSOLE_GENESIS_FILE or upload one on the Genesis page');
  const genesis = parseGenesisText(text);
  if (!genesis.ok) throw new Error(`pinned genesis: ${genesis.reason}`);
  const membership = genesis.membership;
  // Replica URLs: the configured list, else the addresses in the pinned membership.
  const urls = body.replicaUrls && body.replicaUrls.length > 0 ? body.replicaUrls : membership.replicas.map((r) => r.address);
  const replicas = urls.map((url, i) => {
    const known = membership.replicas.find((r) => r.address === url) ?? membership.replicas[i];
    return { id: known?.id ?? `replica ${i + 1}`, organization: known?.organization ?? 'unknown', url };
  });
  return { membership, replicas, source: uploaded ? 'uploaded' : 'server' };
}
