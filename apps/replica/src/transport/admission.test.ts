import { describe, expect, it } from 'vitest';
import { HandshakeAdmission } from './admission';

const limits = { pendingPerSourceMax: 2, strangerPendingMax: 3, memberPendingMax: 2 };

describe('HandshakeAdmission', () => {
  it('a source past its cap evicts its own oldest pending socket, not another source', () => {
    const admission = new HandshakeAdmission<string>(limits);
    admission.admit('a', false, 'a1');
    admission.admit('b', false, 'b1');
    admission.admit('a', false, 'a2');
    const third = admission.admit('a', false, 'a3');
    expect(third.evicted).toEqual([{ value: 'a1', cause: 'source-cap' }]);
    expect(admission.pending()).toEqual({ member: 0, stranger: 3 });
  });

  it('a full pool evicts its oldest socket for the newest, whatever the source', () => {
    const admission = new HandshakeAdmission<string>(limits);
    for (const source of ['a', 'b', 'c']) expect(admission.admit(source, false, source).evicted).toEqual([]);
    expect(admission.admit('d', false, 'd').evicted).toEqual([{ value: 'a', cause: 'pool-full' }]);
    expect(admission.admit('e', false, 'e').evicted).toEqual([{ value: 'b', cause: 'pool-full' }]);
  });

  it("strangers, from any number of sources, never take or evict a member address's slot", () => {
    const admission = new HandshakeAdmission<string>(limits);
    admission.admit('m', true, 'member');
    for (let i = 0; i < 100; i++) for (const { value } of admission.admit(`s${i}`, false, `s${i}`).evicted) expect(value).not.toBe('member');
    expect(admission.pending()).toEqual({ member: 1, stranger: 3 });
    expect(admission.admit('n', true, 'member2').evicted).toEqual([]);
  });

  it('a released slot frees its room; releasing twice, or after eviction, changes nothing', () => {
    const admission = new HandshakeAdmission<string>(limits);
    const first = admission.admit('a', false, 'a1');
    admission.admit('a', false, 'a2');
    admission.release(first.slot);
    admission.release(first.slot);
    expect(admission.admit('a', false, 'a3').evicted).toEqual([]);
    const evicted = admission.admit('a', false, 'a4');
    expect(evicted.evicted).toEqual([{ value: 'a2', cause: 'source-cap' }]);
    admission.release(first.slot);
    expect(admission.pending()).toEqual({ member: 0, stranger: 2 });
  });

  it('a source that moved between pools (its address resolved differently) is held to both caps at once', () => {
    const admission = new HandshakeAdmission<string>({ pendingPerSourceMax: 2, strangerPendingMax: 2, memberPendingMax: 1 });
    admission.admit('x', false, 'x-as-stranger');
    admission.admit('x', true, 'x-as-member');
    // x is at its source cap (its oldest is in the strangers' pool) and the members' pool is full: both evict.
    expect(admission.admit('x', true, 'x-again').evicted).toEqual([
      { value: 'x-as-stranger', cause: 'source-cap' },
      { value: 'x-as-member', cause: 'pool-full' },
    ]);
    expect(admission.pending()).toEqual({ member: 1, stranger: 0 });
  });
});
