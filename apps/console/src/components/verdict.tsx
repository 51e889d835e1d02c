// The one way the console shows a verification result: a verified item is
// marked "verified"; anything else is marked "FAILED" with the reason. There
// is no neutral state that could be mistaken for success.

export function Verdict({ ok, reason }: { ok: boolean; reason?: string | undefined }) {
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
