'use client';
// Membership and the epoch chain: every epoch from the pinned genesis on, its
// members and quorum, what changed from the epoch before, and the evidence
// for the change, each part verified here: the link's old-quorum certificate
// of the last block, the new members' accepts, and the governance approvals
// of the membership op in that block. Newest first, 20 epochs a page.

import Link from 'next/link';
import { useEffect, useMemo, useState } from 'react';
import { bytesToHex, type Membership, membershipQuorum } from '@vcr/proofs';
import { useConsole } from '../../components/console-context';
import { SignerRows } from '../../components/signer-rows';
import { short, Verdict } from '../../components/verdict';
import { type ApprovalsCheck, checkApprovals, checkNewQuorum, checkOldQuorum, diffMemberships, type QuorumCheck } from '../../lib/epoch-details';
import { keyFingerprint, linkInto, newestMembership, type TrustedLink } from '../../lib/epoch-chain';
import { getJson } from '../../lib/replica-api';

const PAGE = 20;

function Members({ m }: { m: Membership }) {
  return (
    <>
      <p>
        {m.replicas.length} replicas, f = {m.f}, quorum {membershipQuorum(m)}; governance: {m.governance.threshold} of{' '}
        {m.governance.admins.map((a) => `${a.organization} (${keyFingerprint(a.publicKey)})`).join(', ')}.
      </p>
      <table data-testid="members">
        <thead>
          <tr>
            <th>replica</th>
            <th>organization</th>
            <th>key fingerprint</th>
            <th>address</th>
          </tr>
        </thead>
        <tbody>
          {m.replicas.map((r) => (
            <tr key={r.id} data-replica={r.id}>
              <td>{r.id}</td>
              <td>{r.organization}</td>
              <td className="mono" title={`public key ${bytesToHex(r.publicKey)}; fingerprint = first 8 bytes of SHA-256(public key)`}>
                {keyFingerprint(r.publicKey)}
              </td>
              <td>{r.address}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Signatures({ title, check, testId }: { title: string; check: QuorumCheck; testId: string }) {
  return (
    <>
      <h3>
        {title} <Verdict ok={check.ok} reason={check.reason} />
      </h3>
      <table data-testid={testId}>
        <tbody>
          <SignerRows signers={check.signers} shorten />
        </tbody>
      </table>
    </>
  );
}

function Approvals({ check }: { check: ApprovalsCheck | undefined }) {
  if (check === undefined) return <p>Loading the approvals…</p>;
  if (!check.ok) {
    return (
      <h3>
        Governance approvals <Verdict ok={false} reason={check.reason} />
      </h3>
    );
  }
  return (
    <>
      <h3>
        Governance approvals: {check.approvals.length} organizations, threshold {check.threshold} <Verdict ok />
      </h3>
      <table data-testid="approvals">
        <tbody>
          {check.approvals.map((a) => (
            <tr key={a.organization + a.signature}>
              <td>{a.organization}</td>
              <td className="mono">{short(a.signature, 16)}</td>
              <td>
                <Verdict ok={a.valid} reason={a.reason} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Proposed in epoch {check.op.change.epoch.toString()}; submitted by client {short(check.clientId)}.</p>
    </>
  );
}

function LinkDetails({ old, trusted, approvals, replica }: { old: Membership; trusted: TrustedLink; approvals: ApprovalsCheck | undefined; replica: string }) {
  const { link } = trusted;
  const changes = useMemo(() => diffMemberships(old, link.nextMembership), [old, link]);
  const oldQuorum = useMemo(() => checkOldQuorum(old, link), [old, link]);
  const newQuorum = useMemo(() => checkNewQuorum(link), [link]);
  return (
    <>
      <h3>Changes from epoch {old.epoch.toString()}</h3>
      <ul data-testid="changes">
        {changes.length === 0 && <li>none (the same membership under a new epoch)</li>}
        {changes.map((c) => (
          <li key={c.text} data-kind={c.kind}>
            {c.text}
          </li>
        ))}
      </ul>
      <p>
        Epoch {old.epoch.toString()} ended with block <Link href={`/blocks/${link.lastHeader.height}?replica=${encodeURIComponent(replica)}`}>{link.lastHeader.height.toString()}</Link>{' '}
        (view {link.lastHeader.view.toString()}, commit view {link.oldCommitView.toString()}), whose header commits to this membership&apos;s hash. Link first served by{' '}
        {trusted.servedBy}.
      </p>
      <Signatures title={`Old quorum: commit certificate of block ${link.lastHeader.height} by epoch ${old.epoch}'s members (quorum ${membershipQuorum(old)})`} check={oldQuorum} testId="old-quorum" />
      <Signatures title={`New quorum: epoch-accept signatures by epoch ${link.nextMembership.epoch}'s members (quorum ${membershipQuorum(link.nextMembership)})`} check={newQuorum} testId="new-quorum" />
      <Approvals check={approvals} />
    </>
  );
}

export default function Epochs() {
  const { chain, walk, replica } = useConsole();
  const [page, setPage] = useState(0);
  const [approvals, setApprovals] = useState<Map<string, ApprovalsCheck>>(new Map());
  const newest = newestMembership(chain).epoch;
  const top = newest - BigInt(page * PAGE);
  const shown = useMemo(() => {
    const epochs: bigint[] = [];
    for (let e = top; e >= chain.pinned.epoch && epochs.length < PAGE; e--) epochs.push(e);
    return epochs;
  }, [chain, top]);

  useEffect(() => {
    let stop = false;
    void Promise.all(
      shown.map(async (epoch): Promise<[string, ApprovalsCheck] | undefined> => {
        const trusted = linkInto(chain, epoch);
        const old = chain.memberships[Number(epoch - chain.pinned.epoch) - 1];
        if (trusted === undefined || old === undefined) return undefined;
        const r = await getJson(replica, `/v1/blocks/${trusted.link.lastHeader.height}`);
        return [epoch.toString(), r.ok ? checkApprovals(old, trusted.link, r.body) : { ok: false, reason: `block ${trusted.link.lastHeader.height}: ${r.reason}` }];
      }),
    ).then((found) => {
      if (!stop) setApprovals(new Map(found.filter((x) => x !== undefined)));
    });
    return () => {
      stop = true;
    };
  }, [chain, replica, shown]);

  const claimed = walk.reports.reduce<bigint>((max, r) => (r.current !== undefined && r.current > max ? r.current : max), newest);
  return (
    <>
      <h1>Membership and epoch chain</h1>
      <p>
        Verified in this browser from the pinned epoch {chain.pinned.epoch.toString()} to epoch {newest.toString()}: each link needs a quorum of the old membership (the commit
        certificate of the old epoch&apos;s last block, whose header commits to the new membership&apos;s hash) and a quorum of the new one (their epoch-accept signatures).
        Every block, vote and view change in this console is checked against the membership of its own epoch.
      </p>
      <h2>What each replica served</h2>
      <table data-testid="walk">
        <thead>
          <tr>
            <th>replica</th>
            <th>claims current epoch</th>
            <th>links it added</th>
            <th>its answer</th>
          </tr>
        </thead>
        <tbody>
          {walk.reports.map((r) => (
            <tr key={r.replica}>
              <td>{r.replica}</td>
              <td>{r.current?.toString() ?? ''}</td>
              <td>{r.added}</td>
              <td>
                <Verdict ok={r.failure === undefined} reason={r.failure} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {claimed > newest && page === 0 && (
        <section data-testid="epoch" data-epoch={(newest + 1n).toString()}>
          <h2>
            Epoch {(newest + 1n).toString()} <Verdict ok={false} unverifiable reason={`no verified link into epoch ${newest + 1n} yet (a replica claims epoch ${claimed})`} />
          </h2>
        </section>
      )}
      <p>
        {top - BigInt(PAGE) >= chain.pinned.epoch && <button onClick={() => setPage((p) => p + 1)}>older epochs</button>}{' '}
        {page > 0 && <button onClick={() => setPage((p) => p - 1)}>newer epochs</button>}
      </p>
      {shown.map((epoch) => {
        const m = chain.memberships[Number(epoch - chain.pinned.epoch)] as Membership;
        const trusted = linkInto(chain, epoch);
        const old = chain.memberships[Number(epoch - chain.pinned.epoch) - 1];
        return (
          <section key={epoch.toString()} data-testid="epoch" data-epoch={epoch.toString()}>
            <h2>
              Epoch {epoch.toString()}{' '}
              {trusted === undefined ? <span className="muted">(pinned: trusted as configured, see Genesis)</span> : <Verdict ok reason={undefined} />}
            </h2>
            <Members m={m} />
            {trusted !== undefined && old !== undefined && <LinkDetails old={old} trusted={trusted} approvals={approvals.get(epoch.toString())} replica={replica} />}
          </section>
        );
      })}
    </>
  );
}
