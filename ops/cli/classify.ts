// The exit class of a failure (exit-codes.ts). An SDK error's class comes
// from the SDK's own attempt classes (attemptClass in @vcr/client-sdk), so the
// CLI and any other caller draw the line between "unreachable" and "failed
// verification" in one place.

import { type Attempt, attemptClass, RegistryError } from '@vcr/client-sdk';
import { CliError, type ExitClass } from './exit-codes';

function classOfAttempts(attempts: readonly Attempt[]): ExitClass {
  const classes = new Set(attempts.map((a) => attemptClass(a.code)));
  // A lie anywhere outranks the rest: one replica answered something that does not verify.
  if (classes.has('unverified')) return 'verificationFailed';
  if (classes.has('stale')) return 'stale';
  if (classes.has('refused')) return 'refused';
  return 'unreachable';
}

export function exitClassOf(error: unknown): ExitClass {
  if (error instanceof CliError) return error.exitClass;
  if (!(error instanceof RegistryError)) return 'internal';
  switch (error.code) {
    case 'verification-failed':
    case 'rollback':
    case 'fork':
    case 'unknown-epoch':
      return 'verificationFailed';
    case 'stale':
      return 'stale';
    case 'unreachable':
      return 'unreachable';
    case 'all-replicas-failed':
      return classOfAttempts(error.attempts);
    case 'rejected':
    case 'conflict':
      return 'refused';
    case 'bad-argument':
    case 'invalid-value':
      return 'usage';
    case 'storage':
      return 'setup';
    case 'closed':
    case 'absent':
      return 'internal';
    default: {
      const unhandled: never = error.code;
      return unhandled;
    }
  }
}
