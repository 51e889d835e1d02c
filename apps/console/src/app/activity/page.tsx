'use client';
// Activity of the inspected replica over its recent history, from verified
// data only: commit rate and requests per 10 s (the last 200 blocks, each
// certificate verified), commit latency per sequence number (from its audit
// record: first pre-prepare received to the last commit needed), view changes
// on the timeline, and verified votes per replica.

import { useEffect, useState } from 'react';
import { useConsole } from '../../components/console-context';
import { LabelBars, type Point, TimeBars } from '../../components/charts';
import { Verdict } from '../../components/verdict';
import { getJson } from '../../lib/replica-api';
import { checkCertificate, checkMessage } from '../../lib/verify';

const BLOCKS = 200;
const BUCKET_MS = 10_000;

function bucket(points: { at: number; value: number }[]): Point[] {
  const sums = new Map<number, number>();
  for (const p of points) {
    const b = Math.floor(p.at / BUCKET_MS) * BUCKET_MS;
    sums.set(b, (sums.get(b) ?? 0) + p.value);
  }
  return [...sums].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x, y }));
}

export default function Activity() {
  const { chain, replica } = useConsole();
  const [blocks, setBlocks] = useState<Point[]>([]);
  const [requests, setRequests] = useState<Point[]>([]);
  const [latency, setLatency] = useState<Point[]>([]);
  const [viewChanges, setViewChanges] = useState<Point[]>([]);
  const [votes, setVotes] = useState<{ label: string; value: number }[]>([]);
  const [problems, setProblems] = useState<string[]>([]);

  useEffect(() => {
    const run = async () => {
      const issues: string[] = [];
      const latest = await getJson(replica, '/v1/headers/latest');
      const top = latest.ok ? checkCertificate(chain, latest.body) : undefined;
      if (!top?.ok) return setProblems([`latest header: ${latest.ok ? (top && !top.ok ? top.reason : '') : latest.reason}`]);
      const from = top.header.height > BigInt(BLOCKS) ? top.header.height - BigInt(BLOCKS) + 1n : 1n;
      const page = await getJson(replica, `/v1/peer/blocks?from=${from}&limit=${BLOCKS}`);
      const list = page.ok ? ((page.body as { blocks?: { certificate?: unknown; batch?: unknown[] }[] }).blocks ?? []) : [];
      const committed: { at: number; value: number }[] = [];
      const carried: { at: number; value: number }[] = [];
      for (const b of list) {
        const check = checkCertificate(chain, b.certificate);
        if (!check.ok) {
          issues.push(`a block failed verification (${check.reason}); left out`);
          continue;
        }
        committed.push({ at: Number(check.header.timestampMs), value: 1 });
        carried.push({ at: Number(check.header.timestampMs), value: Array.isArray(b.batch) ? b.batch.length : 0 });
      }
      setBlocks(bucket(committed));
      setRequests(bucket(carried));

      const audit = async (type: string) => {
        const r = await getJson(replica, `/v1/audit/messages?type=${type}&limit=500&order=desc`);
        const messages = r.ok ? ((r.body as { messages?: { receivedAtMs: string; message: unknown }[] }).messages ?? []) : [];
        return messages.flatMap((m) => {
          const check = checkMessage(chain, m.message);
          if (!check.ok) {
            issues.push(`a ${type} failed verification (${check.reason}); left out`);
            return [];
          }
          return [{ at: Number(m.receivedAtMs), message: check.message }];
        });
      };
      const [prePrepares, commits, newViews, prepares] = await Promise.all([audit('pre-prepare'), audit('commit'), audit('new-view'), audit('prepare')]);
      const proposedAt = new Map<string, number>();
      for (const p of prePrepares) if (p.message.type === 'pre-prepare') proposedAt.set(p.message.seq.toString(), Math.min(proposedAt.get(p.message.seq.toString()) ?? Infinity, p.at));
      const lastCommit = new Map<string, number>();
      for (const c of commits) if (c.message.type === 'commit') lastCommit.set(c.message.seq.toString(), Math.max(lastCommit.get(c.message.seq.toString()) ?? 0, c.at));
      setLatency(
        [...proposedAt]
          .filter(([seq]) => lastCommit.has(seq))
          .map(([seq, at]) => ({ x: at, y: (lastCommit.get(seq) as number) - at }))
          .sort((a, b) => a.x - b.x),
      );
      setViewChanges(bucket(newViews.map((n) => ({ at: n.at, value: 1 }))));
      const perReplica = new Map<string, number>();
      for (const m of [...prePrepares, ...prepares, ...commits]) perReplica.set(m.message.from, (perReplica.get(m.message.from) ?? 0) + 1);
      // Every replica that was a member of some verified epoch, in order of first appearance.
      const ids = [...new Set(chain.memberships.flatMap((m) => m.replicas.map((r) => r.id)))];
      setVotes(ids.map((id) => ({ label: id, value: perReplica.get(id) ?? 0 })));
      setProblems(issues.slice(0, 10));
    };
    void run();
  }, [chain, replica]);

  return (
    <>
      <h1>Activity</h1>
      <p className="muted" data-testid="activity-explained">
        What is counted, all of it verified here first: blocks and requests come from the last {BLOCKS} blocks of the inspected replica, each certificate checked
        against its epoch&apos;s membership (a block counts once, its requests are the batch the certificate commits to). Commit latency is read from this
        replica&apos;s audit record: the time from the first PRE-PREPARE it received for a sequence number to the last COMMIT it needed. View changes are the
        NEW-VIEW messages it received. &quot;Votes per signer&quot; counts the signed PRE-PREPARE, PREPARE, COMMIT and CHECKPOINT messages in this
        replica&apos;s audit record whose signature verified, grouped by the replica that signed them: a low count means that replica&apos;s votes reached
        this one less often (it was slower, down, or not needed for a quorum), not that it misbehaved.
      </p>
      {problems.map((p) => (
        <p key={p}>
          <Verdict ok={false} reason={p} />
        </p>
      ))}
      <div data-testid="charts">
        <TimeBars points={blocks} title="Blocks committed per 10 s" unit="blocks" />
        <TimeBars points={requests} title="Requests committed per 10 s" unit="requests" />
        <TimeBars points={latency} title="Commit latency per sequence number (pre-prepare received to last commit received)" unit="ms" />
        <TimeBars points={viewChanges} title="View changes (NEW-VIEW received) per 10 s" unit="view changes" />
        <LabelBars rows={votes} title="Verified votes recorded, per signer (last 500 of each kind)" />
      </div>
    </>
  );
}
