'use client';
// Recent blocks of the inspected replica, newest first, 20 per page; each
// certificate verified here, and each batch against its certified batchHash
// before its keys and signers are read. Filters (lib/block-filter.ts): blocks
// with requests only by default, one epoch, one organization's signers, a key
// prefix; at most SCAN_MAX blocks are read per page, so nothing loads the
// whole chain. Live: the newest certified head is followed, and a new block
// is listed once its certificate verifies.

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { batchHash, bytesToHex, type ClientRequest, nobleBackend, parseCommittedBlockJson } from '@vcr/proofs';
import { useConsole } from '../../components/console-context';
import { useOrgNames, useRegistryClient } from '../../components/registry-client';
import { short, CheckVerdict, Verdict, when } from '../../components/verdict';
import { type BlockFilters, blockMatches, keysOf, noFilters } from '../../lib/block-filter';
import { consoleLivePollMs } from '../../lib/live';
import { getJson } from '../../lib/replica-api';
import { checkCertificate, type CertificateCheck } from '../../lib/verify';

const PAGE = 20;
/** Blocks read at most for one page of matches. */
const SCAN_MAX = 400;
const CHUNK = 20;

interface Row {
  height: bigint;
  check: CertificateCheck;
  /** The batch, once it matched the certified batchHash. */
  batch: ClientRequest[] | undefined;
}

async function loadRow(chain: Parameters<typeof checkCertificate>[0], replica: string, height: bigint): Promise<Row> {
  const r = await getJson(replica, `/v1/blocks/${height}`);
  const body = r.ok ? (r.body as { certificate?: unknown }) : undefined;
  const check: CertificateCheck = r.ok ? checkCertificate(chain, body?.certificate) : { ok: false, reason: r.reason };
  // The block must be the one its certificate certifies, at the height asked for.
  if (check.ok && check.header.height !== height) return { height, check: { ok: false, reason: `certificate is for height ${check.header.height}` }, batch: undefined };
  const block = r.ok ? parseCommittedBlockJson(r.body) : undefined;
  const batchOk = check.ok && block?.ok && bytesToHex(batchHash(nobleBackend, block.value.batch)) === bytesToHex(check.header.batchHash);
  if (check.ok && !batchOk) return { height, check: { ok: false, reason: 'the batch does not match the certified batchHash' }, batch: undefined };
  return { height, check, batch: batchOk && block?.ok ? block.value.batch : undefined };
}

export default function Blocks() {
  const { chain, replica } = useConsole();
  const { client } = useRegistryClient();
  const names = useOrgNames(client);
  const orgsOf = (id: string) => (names?.ok ? names.nameOf(id) : []);
  const [latest, setLatest] = useState<bigint | undefined>();
  /** undefined: the newest blocks (live); else the height a page of older blocks starts at. */
  const [from, setFrom] = useState<bigint | undefined>();
  const [filters, setFilters] = useState<BlockFilters>(noFilters);
  const [draft, setDraft] = useState<BlockFilters>(noFilters);
  const [rows, setRows] = useState<Row[]>([]);
  const [scanned, setScanned] = useState<{ lowest: bigint; count: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const top = from ?? latest;

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
    let stop = false;
    void (async () => {
      const matched: Row[] = [];
      let h = top;
      let count = 0;
      while (h >= 1n && matched.length < PAGE && count < SCAN_MAX) {
        const heights: bigint[] = [];
        for (; h >= 1n && heights.length < CHUNK; h--) heights.push(h);
        count += heights.length;
        const chunk = await Promise.all(heights.map((height) => loadRow(chain, replica, height)));
        if (stop) return;
        for (const row of chunk) {
          const epoch = row.check.ok ? row.check.header.epoch : undefined;
          if (matched.length < PAGE && blockMatches({ epoch, batch: row.batch }, filters, orgsOf)) matched.push(row);
        }
      }
      setRows(matched);
      setScanned({ lowest: h + 1n, count });
    })();
    return () => {
      stop = true;
    };
    // orgsOf changes with `names`: listed again once organizations are known.
  }, [chain, replica, top, filters, names]);

  const field = (name: keyof Omit<BlockFilters, 'withRequestsOnly'>, label: string, placeholder: string) => (
    <label>
      {label} <input value={draft[name]} placeholder={placeholder} onChange={(e) => setDraft({ ...draft, [name]: e.target.value.trim() })} data-testid={`filter-${name}`} size={14} />
    </label>
  );
  return (
    <>
      <h1>Blocks</h1>
      <p className="muted">
        Newest first. <span className="live">live: follows the newest certified head every {consoleLivePollMs / 1000} s</span>
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setFrom(undefined);
          setFilters(draft);
        }}
      >
        <label>
          <input type="checkbox" checked={draft.withRequestsOnly} onChange={(e) => setDraft({ ...draft, withRequestsOnly: e.target.checked })} data-testid="filter-requests" /> with
          requests only
        </label>{' '}
        {field('org', 'organization', 'org1')} {field('keyPrefix', 'key prefix', 'demo/flags/')} {field('epoch', 'epoch', 'any')} <button type="submit">Filter</button>
      </form>
      {error && <Verdict ok={false} reason={`latest header: ${error}`} />}
      {scanned && (
        <p className="muted">
          {rows.length} of {scanned.count} blocks read (down to height {scanned.lowest.toString()}) match. A block whose certificate or batch does not verify is always listed.{' '}
          {scanned.lowest > 1n && <button onClick={() => setFrom(scanned.lowest - 1n)}>older</button>} {from !== undefined && <button onClick={() => setFrom(undefined)}>newest</button>}
        </p>
      )}
      <table data-testid="blocks">
        <thead>
          <tr>
            <th>height</th>
            <th>time</th>
            <th>epoch, view</th>
            <th>requests</th>
            <th>signed by</th>
            <th>keys</th>
            <th>certificate</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const orgs = r.batch ? [...new Set(r.batch.flatMap((q) => orgsOf(q.clientId)))] : [];
            const keys = r.batch ? keysOf(r.batch) : [];
            return (
              <tr key={r.height.toString()} data-height={r.height.toString()}>
                <td>
                  <Link href={`/blocks/${r.height}?replica=${encodeURIComponent(replica)}`}>{r.height.toString()}</Link>
                </td>
                <td>{r.check.ok ? when(r.check.header.timestampMs) : ''}</td>
                <td>{r.check.ok ? `${r.check.header.epoch}, ${r.check.header.view}` : ''}</td>
                <td>{r.batch?.length ?? ''}</td>
                <td>{orgs.join(', ')}</td>
                <td className="mono">
                  {keys.slice(0, 3).join(' ')}
                  {keys.length > 3 ? ` (+${keys.length - 3})` : ''}
                </td>
                <td>
                  <CheckVerdict check={r.check} /> {r.check.ok && <span className="mono muted">{short(r.check.hash)}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
