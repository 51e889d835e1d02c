'use client';
// Equivocation the inspected replica caught: two messages signed by one
// replica for one slot with different contents, side by side. Both signatures
// are verified here: evidence counts only when both verify.

import { useEffect, useState } from 'react';
import { bytesToHex, type PeerMessage } from '@vcr/proofs';
import { useConsole } from '../../components/console-context';
import { short, CheckVerdict, Verdict, when } from '../../components/verdict';
import { getJson } from '../../lib/replica-api';
import { checkMessage, type MessageCheck, votedHash } from '../../lib/verify';

interface Item {
  id: string;
  detectedAtMs: string;
  replica: string;
  phase: string;
  seq: string;
  view: string;
  first: MessageCheck;
  second: MessageCheck;
}

function Side({ check }: { check: MessageCheck }) {
  const m = check.message;
  return (
    <div className="card">
      <div>
        <CheckVerdict check={check} />
      </div>
      {m && (
        <>
          <div>
            {m.type} from {m.from}
          </div>
          <div className="mono">for header {votedHash(m) ?? ''}</div>
          <div className="mono">signature {short(bytesToHex(m.signature), 20)}</div>
        </>
      )}
    </div>
  );
}

export default function Evidence() {
  const { chain, replica } = useConsole();
  const [items, setItems] = useState<Item[]>([]);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    void getJson(replica, '/v1/audit/evidence?limit=100').then((r) => {
      if (!r.ok) return setError(r.reason);
      const list = (r.body as { evidence?: (Omit<Item, 'first' | 'second'> & { first: unknown; second: unknown })[] }).evidence ?? [];
      setItems(list.map((e) => ({ ...e, first: checkMessage(chain, e.first), second: checkMessage(chain, e.second) })));
    });
  }, [chain, replica]);

  return (
    <>
      <h1>Evidence of equivocation</h1>
      {error && <Verdict ok={false} reason={error} />}
      {items.length === 0 && !error && <p className="muted">No equivocation caught by this replica.</p>}
      {items.map((e) => {
        // The headline (replica, phase, sequence, view) comes from the replica's wrapper: it must match both signed messages.
        const matches = (m: PeerMessage | undefined) =>
          m !== undefined && m.from === e.replica && m.type === e.phase && 'seq' in m && m.seq.toString() === e.seq && (m.type === 'checkpoint' || ('view' in m && m.view.toString() === e.view));
        const consistent = matches(e.first.message) && matches(e.second.message);
        const conflicting = consistent && e.first.message && e.second.message && votedHash(e.first.message) !== votedHash(e.second.message);
        return (
          <section key={e.id} data-testid="evidence-item">
            <h2>
              {e.replica} signed two {e.phase} messages for sequence {e.seq}, view {e.view} <span className="muted">(caught {when(e.detectedAtMs)})</span>
            </h2>
            <p>
              <Verdict
                ok={e.first.ok && e.second.ok && !!conflicting}
                reason={!consistent ? 'the messages are not what the headline says' : conflicting ? 'one of the signatures does not verify' : 'the two messages do not conflict'}
              />
            </p>
            <div className="side-by-side">
              <Side check={e.first} />
              <Side check={e.second} />
            </div>
          </section>
        );
      })}
    </>
  );
}
