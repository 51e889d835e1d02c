import { describe, expect, it } from 'vitest';
import { type Attempt, attemptClass, ReplicasFailedError } from './errors';

const attempt = (code: Attempt['code']): Attempt => ({ replica: `http://r-${code}`, code, detail: code });

describe('ReplicasFailedError codes', () => {
  it('is unreachable when every replica failed by transport error or timeout: not a verification failure', () => {
    expect(new ReplicasFailedError('get "k"', [attempt('transport'), attempt('timeout'), attempt('transport')]).code).toBe('unreachable');
    expect(new ReplicasFailedError('get "k"', [attempt('transport')]).code).toBe('unreachable');
  });

  it('is not unreachable when any replica answered: one answer that failed verification keeps the mixed code', () => {
    const mixed = new ReplicasFailedError('get "k"', [attempt('transport'), attempt('verification-failed')]);
    expect(mixed.code).toBe('all-replicas-failed');
    expect(mixed.attempts.map((a) => attemptClass(a.code))).toEqual(['unreachable', 'unverified']);
    expect(new ReplicasFailedError('get "k"', [attempt('verification-failed'), attempt('verification-failed')]).code).toBe('verification-failed');
  });

  it('classes every attempt code: lies and garbage are unverified, old answers stale, 4xx refusals refused', () => {
    expect(['timeout', 'transport', 'http-error', 'redirect'].map((c) => attemptClass(c as Attempt['code']))).toEqual(['unreachable', 'unreachable', 'unreachable', 'unreachable']);
    expect(['too-large', 'malformed', 'verification-failed', 'rollback', 'unknown-epoch'].map((c) => attemptClass(c as Attempt['code']))).toEqual(Array(5).fill('unverified'));
    expect(['stale', 'behind', 'no-progress'].map((c) => attemptClass(c as Attempt['code']))).toEqual(Array(3).fill('stale'));
    expect(['rejected', 'conflict'].map((c) => attemptClass(c as Attempt['code']))).toEqual(['refused', 'refused']);
  });
});
