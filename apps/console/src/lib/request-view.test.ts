import { describe, expect, it } from 'vitest';
import { utf8 } from '@vcr/proofs';
import { encodeOp } from '@vcr/registry';
import { lineDiff, valueText } from './line-diff';
import { requestView, resultView } from './request-view';

describe('request view', () => {
  it('names a refusal by its rule and detail, a pending change by its progress, and a skipped request as not executed', () => {
    expect(resultView({ executed: true, logIndex: 3n, result: { ok: false, error: 'forbidden', detail: 'org4 may not write demo/flags/ (writers: org1)' } })).toEqual({
      kind: 'refused',
      rule: 'forbidden',
      detail: 'org4 may not write demo/flags/ (writers: org1)',
    });
    expect(resultView({ executed: true, logIndex: 3n, result: { ok: false, error: 'pending-approval', detail: 'approved by org1; x/ needs 2 of org1, org2' } })).toEqual({
      kind: 'pending',
      progress: 'approved by org1; x/ needs 2 of org1, org2',
    });
    expect(resultView({ executed: true, logIndex: 3n, result: { ok: true, revisions: [2n] } })).toEqual({ kind: 'applied', revisions: [2n] });
    expect(resultView({ executed: false })).toEqual({ kind: 'not-executed' });
  });

  it('decodes each op of a transaction with its key and value, and a malformed payload as malformed', () => {
    const payload = encodeOp({ op: 'txn', ops: [{ op: 'put', key: 'a/b', value: utf8('{"x":1}') }, { op: 'delete', key: 'a/c' }] });
    const view = requestView({ clientId: 'ab'.repeat(32), requestId: 7n, payload, signature: new Uint8Array(64) }, { executed: true, logIndex: 0n, result: { ok: true, revisions: [1n, 0n] } }, ['org1']);
    expect(view.operation).toBe('txn');
    expect(view.changes).toEqual([
      { op: 'put', key: 'a/b', value: '{\n  "x": 1\n}' },
      { op: 'delete', key: 'a/c', value: undefined },
    ]);
    expect(view.orgs).toEqual(['org1']);
    const bad = requestView({ clientId: 'ab'.repeat(32), requestId: 8n, payload: utf8('nope'), signature: new Uint8Array(64) }, { executed: false }, []);
    expect(bad.operation).toBe('malformed');
  });
});

describe('line diff', () => {
  it('marks the changed line only', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'B' },
      { kind: 'same', text: 'c' },
    ]);
  });
  it('shows bytes that are not UTF-8 as hex', () => {
    expect(valueText(new Uint8Array([0xff, 0x00]))).toBe('ff00');
  });
});
