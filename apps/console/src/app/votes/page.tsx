'use client';
// Pick a sequence number to see its vote history.

import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useConsole } from '../../components/console-context';

export default function VotesIndex() {
  const { replica } = useConsole();
  const router = useRouter();
  const [seq, setSeq] = useState('1');
  return (
    <>
      <h1>Vote history</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (/^[1-9][0-9]{0,18}$/.test(seq)) router.push(`/votes/${seq}?replica=${encodeURIComponent(replica)}`);
        }}
      >
        <label>
          Sequence number <input value={seq} onChange={(e) => setSeq(e.target.value)} inputMode="numeric" />
        </label>{' '}
        <button type="submit">Show</button>
      </form>
    </>
  );
}
