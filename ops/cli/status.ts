// `vcr status`: one row per replica. The view and state come from the
// replica's /healthz (what it says of itself, unverified); the height, epoch
// and certificate age come from its latest certificate, verified against the
// pinned genesis and the epoch chain. Lag is measured against the highest
// verified height of any replica.

import type { Membership } from '@vcr/proofs';
import { primaryOf } from '@vcr/consensus';
import { type Certified, RegistryClient } from '@vcr/client-sdk';
import { nodeBackend } from '@vcr/crypto-node';
import { exitClassOf } from './classify';
import { exitCodes } from './exit-codes';
import { table, toJson } from './format';
import type { CliContext } from './setup';

const healthTimeoutMs = 2_000;

interface Health {
  status: string;
  view: number;
  epoch: number;
}

async function health(url: string): Promise<Health | undefined> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(healthTimeoutMs) });
    const body = (await res.json()) as Partial<Record<keyof Health, unknown>>;
    if (typeof body.status !== 'string' || typeof body.view !== 'number' || typeof body.epoch !== 'number') return undefined;
    return { status: body.status, view: body.view, epoch: body.epoch };
  } catch {
    return undefined;
  }
}

interface Row {
  replica: string;
  url: string;
  health: Health | undefined;
  certificate: Certified | undefined;
  /** Why the latest certificate was not verified, and the class of that failure. */
  failure: { exitClass: ReturnType<typeof exitClassOf>; reason: string } | undefined;
  memberships: Membership[];
}

async function probe(ctx: CliContext, id: string, url: string): Promise<Row> {
  const client = await RegistryClient.create({ membership: ctx.membership, replicas: [url], epochReplicas: ctx.layout.replicas.map((r) => r.url), backend: nodeBackend });
  const [h, latest] = await Promise.all([health(url), client.latest().then((c) => ({ ok: true as const, c }), (e: unknown) => ({ ok: false as const, e }))]);
  const failure = latest.ok ? undefined : { exitClass: exitClassOf(latest.e), reason: latest.e instanceof Error ? (latest.e.message.split('\n').at(-1) ?? '').trim() : String(latest.e) };
  return { replica: id, url, health: h, certificate: latest.ok ? latest.c : undefined, failure, memberships: client.trustedMemberships };
}

/** PBFT's primary of the replica's view, in the membership of the epoch it reports ('?' when that epoch is not verified yet). */
function primary(row: Row, genesis: Membership): string {
  const health = row.health;
  if (!health) return '-';
  const epoch = BigInt(health.epoch);
  const membership = row.memberships.find((m) => m.epoch === epoch) ?? (epoch === genesis.epoch ? genesis : undefined);
  return membership ? primaryOf(membership, BigInt(health.view)) : '?';
}

function age(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export async function runStatus(ctx: CliContext, output: 'table' | 'json', print: (line: string) => void): Promise<number> {
  const rows = await Promise.all(ctx.layout.replicas.map((r) => probe(ctx, r.id, r.url)));
  const top = rows.reduce((max, r) => (r.certificate && r.certificate.height > max ? r.certificate.height : max), 0n);
  const lag = (r: Row) => (r.certificate ? top - r.certificate.height : undefined);
  if (output === 'json') {
    print(toJson(rows.map((r) => ({ replica: r.replica, url: r.url, state: r.health?.status ?? 'unreachable', view: r.health?.view ?? null, primary: r.health ? primary(r, ctx.membership) : null, height: r.certificate?.height ?? null, lag: lag(r) ?? null, epoch: r.certificate?.epoch ?? r.health?.epoch ?? null, certificateAgeMs: r.certificate?.ageMs ?? null, verified: r.certificate !== undefined, ...(r.failure ? { failure: r.failure.reason } : {}) }))));
  } else {
    const cells = rows.map((r) => [
      r.replica,
      r.url,
      r.health?.status ?? 'unreachable',
      r.health ? String(r.health.view) : '-',
      primary(r, ctx.membership),
      r.certificate ? String(r.certificate.height) : '-',
      r.certificate ? String(lag(r)) : '-',
      r.certificate ? String(r.certificate.epoch) : r.health ? String(r.health.epoch) : '-',
      r.certificate ? age(r.certificate.ageMs) : '-',
      r.certificate ? 'verified' : `NOT VERIFIED: ${r.failure?.reason ?? ''}`,
    ]);
    print(table(['replica', 'url', 'state', 'view', 'primary', 'height', 'lag', 'epoch', 'cert age', 'certificate'], cells));
  }
  // A replica whose certificate fails verification outranks one that is down.
  if (rows.some((r) => r.failure?.exitClass === 'verificationFailed')) return exitCodes.verificationFailed;
  if (rows.some((r) => r.failure !== undefined)) return exitCodes[rows.find((r) => r.failure)?.failure?.exitClass ?? 'unreachable'];
  return exitCodes.ok;
}
