// `npm start` runs this walkthrough today; it must keep verifying what is genuine and refusing what is not.
import { describe, expect, it } from 'vitest';
import { runProofsWalkthrough, runStateWalkthrough } from '../ops/proofs-walkthrough';

describe('the npm start walkthrough', () => {
  it('verifies the genuine objects and rejects each tampered one for the right reason', () => {
    const lines: string[] = [];
    runProofsWalkthrough((l) => lines.push(l));
    runStateWalkthrough((l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toContain('signed by r1, r2, r3: verified');
    expect(text).toContain('only r1, r2: rejected: below-quorum');
    expect(text).toContain('state root flipped: rejected: bad-signature');
    expect(text).toContain('trusted, now at epoch 1');
    expect(text).toContain('signed with the old keys: rejected');
    expect(text).toContain('claiming revision 4: rejected: entry-mismatch');
    expect(text).toMatch(/does-not-exist" is absent: verified/);
    expect(text).toContain('claimed at index 7: rejected');
  });
});
