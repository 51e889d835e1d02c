// What a verified receipt means for the caller. A receipt proves that the
// registry ordered and executed the request; its result may still be a
// refusal (the refusal is certified and recorded in the log like a change) or,
// for a namespace that needs approvals from several organizations, a recorded
// approval that changed nothing yet. Callers that print or branch on a write
// start here, so a refusal is never read as "committed".

import { assertNever } from '@vcr/proofs';
import type { RegistryErrorCode } from '@vcr/registry';
import type { VerifiedReceipt } from './writes';

export type ReceiptOutcome =
  /** The change applied; one revision per operation (0 after a delete). */
  | { kind: 'applied'; revisions: readonly bigint[] }
  /** Recorded as an approval of a change that needs more organizations; nothing applied yet. */
  | { kind: 'pending-approval'; detail?: string }
  /** The registry refused the request, and the refusal is recorded at the receipt's height. */
  | { kind: 'refused'; code: RegistryErrorCode; detail?: string };

export function receiptOutcome(receipt: Pick<VerifiedReceipt, 'result'>): ReceiptOutcome {
  const result = receipt.result;
  if (result.ok) return { kind: 'applied', revisions: result.revisions };
  // A certified refusal may carry a deterministic detail naming the field or rule (issue 20, item 3).
  const detail = 'detail' in result && typeof result.detail === 'string' && result.detail !== '' ? { detail: result.detail } : {};
  if (result.error === 'pending-approval') return { kind: 'pending-approval', ...detail };
  return { kind: 'refused', code: result.error, ...detail };
}

/** One line for people: "applied ...", "pending approval ..." or "refused: <code>[: <detail>], recorded at height N". */
export function describeReceipt(receipt: Pick<VerifiedReceipt, 'result' | 'height' | 'logIndex'>): string {
  const outcome = receiptOutcome(receipt);
  const where = `recorded at height ${receipt.height} (log index ${receipt.logIndex})`;
  switch (outcome.kind) {
    case 'applied':
      return `applied at height ${receipt.height} (log index ${receipt.logIndex}), revision ${outcome.revisions.join(', ')}`;
    case 'pending-approval':
      return `pending approval${outcome.detail ? `: ${outcome.detail}` : ''}: this approval is ${where}; the change applies once enough organizations approve`;
    case 'refused':
      return `refused: ${outcome.code}${outcome.detail ? `: ${outcome.detail}` : ''}, ${where}`;
    default:
      return assertNever(outcome, 'receipt outcome');
  }
}
