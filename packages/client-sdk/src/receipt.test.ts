import { describe, expect, it } from 'vitest';
import type { RegistryResult } from '@vcr/registry';
import { describeReceipt, receiptOutcome } from './receipt';

const receipt = (result: RegistryResult) => ({ result, height: 12n, logIndex: 40n });

describe('what a verified receipt decided', () => {
  it('an applied write is applied, with its revisions', () => {
    expect(receiptOutcome(receipt({ ok: true, revisions: [3n] }))).toEqual({ kind: 'applied', revisions: [3n] });
    expect(describeReceipt(receipt({ ok: true, revisions: [3n] }))).toBe('applied at height 12 (log index 40), revision 3');
  });

  it('a refusal is a refusal recorded at its height, never a commit', () => {
    const refused = receipt({ ok: false, error: 'forbidden' });
    expect(receiptOutcome(refused)).toEqual({ kind: 'refused', code: 'forbidden' });
    expect(describeReceipt(refused)).toBe('refused: forbidden, recorded at height 12 (log index 40)');
    expect(describeReceipt(refused)).not.toMatch(/commit|applied/);
  });

  it('a recorded approval is pending, not applied and not refused', () => {
    const pending = receipt({ ok: false, error: 'pending-approval' });
    expect(receiptOutcome(pending)).toEqual({ kind: 'pending-approval' });
    expect(describeReceipt(pending)).toMatch(/^pending approval: this approval is recorded at height 12 \(log index 40\)/);
  });

  it("carries the registry's detail when a refusal has one", () => {
    const withDetail = { result: { ok: false, error: 'invalid-value', detail: 'variants: required' } as unknown as RegistryResult, height: 5n, logIndex: 1n };
    expect(receiptOutcome(withDetail)).toEqual({ kind: 'refused', code: 'invalid-value', detail: 'variants: required' });
    expect(describeReceipt(withDetail)).toBe('refused: invalid-value: variants: required, recorded at height 5 (log index 1)');
  });
});
