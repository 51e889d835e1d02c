// The one way the console shows a verification result: a verified item is
// marked "verified"; an item whose epoch the verified epoch chain has not
// reached is marked "NOT VERIFIED" with the reason; anything else is marked
// "FAILED" with the reason. Neither can be mistaken for success.

export function Verdict({ ok, reason, unverifiable }: { ok: boolean; reason?: string | undefined; unverifiable?: boolean | undefined }) {
  if (!ok && unverifiable) {
    return (
      <span className="verdict failed" data-verdict="unverified" title={reason}>
        ✘ NOT VERIFIED{reason ? `: ${reason}` : ''}
      </span>
    );
  }
  return ok ? (
    <span className="verdict ok" data-verdict="verified">
      ✔ verified
    </span>
  ) : (
    <span className="verdict failed" data-verdict="failed" title={reason}>
      ✘ FAILED{reason ? `: ${reason}` : ''}
    </span>
  );
}

export function short(hex: string, n = 12): string {
  return hex.length > 2 * n ? `${hex.slice(0, n)}…${hex.slice(-4)}` : hex;
}

export function when(ms: bigint | number | string): string {
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** The verdict of a check result from lib/verify.ts. */
export function CheckVerdict({ check }: { check: { ok: true } | { ok: false; reason: string; unverifiable?: true } }) {
  return check.ok ? <Verdict ok /> : <Verdict ok={false} reason={check.reason} unverifiable={check.unverifiable === true} />;
}

/** An item the replica says does not exist (HTTP 404): not a failed rule, so not FAILED. */
export function NotFound({ what }: { what: string }) {
  return (
    <span className="verdict not-found" data-verdict="not-found">
      not found: {what}
    </span>
  );
}
