// The CLI's exit codes, one per class of outcome (docs/cli.md, "Exit codes"),
// so a script can tell a refusal from a lie and a lie from a network outage.
// Which class an SDK error is: classify.ts. This file imports nothing, so the
// CLI's entry can use it before the SDK is loaded.

export const exitCodes = {
  ok: 0,
  /** A bug or an unexpected failure of the CLI itself. */
  internal: 1,
  /** The command line is wrong: unknown command or flag, bad value, missing argument. */
  usage: 2,
  /** The registry refused the write: a certified refusal, or the replicas refused the request outright. */
  refused: 3,
  /** The write was recorded as one organization's approval; the change applies once enough approve. */
  pendingApproval: 4,
  /** A replica answered and the answer failed verification (tampering, rollback, fork, unproven epoch, garbage). */
  verificationFailed: 5,
  /** No replica could be asked: connection refused, timeouts, HTTP error statuses. Nothing failed verification. */
  unreachable: 6,
  /** Answers verified but were certified longer ago than the bound (--max-staleness-ms; --allow-stale prints them). */
  stale: 7,
  /** The data folder, genesis or another of the CLI's own files is missing or unreadable. */
  setup: 8,
} as const;

export type ExitClass = keyof typeof exitCodes;

/** A failure the CLI itself detected, with its class. */
export class CliError extends Error {
  constructor(
    readonly exitClass: ExitClass,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The first line printed for a failure of this class, before the SDK's own message (one line per replica asked). */
export function headlineOf(exitClass: ExitClass): string {
  switch (exitClass) {
    case 'verificationFailed':
      return 'NOT VERIFIED: an answer failed verification';
    case 'unreachable':
      return 'UNREACHABLE: no replica could be asked (nothing failed verification)';
    case 'stale':
      return 'STALE: every verified answer was certified too long ago; --allow-stale prints it anyway, marked STALE';
    case 'refused':
      return 'REFUSED by the replicas';
    case 'usage':
      return 'usage error';
    case 'setup':
      return 'setup error';
    case 'pendingApproval':
      return 'pending approval';
    case 'ok':
    case 'internal':
      return 'error';
    default: {
      const unhandled: never = exitClass;
      return unhandled;
    }
  }
}
