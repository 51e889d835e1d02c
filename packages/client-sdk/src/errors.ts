// Typed errors of the SDK. Every error has a `code`; errors that come from
// asking replicas carry `attempts`, one line per replica asked and why its
// answer was not used. A fork carries both certificates as evidence.

import { assertNever, type Certificate } from '@vcr/proofs';

/** Why one replica's answer was not used. */
export type AttemptCode =
  | 'timeout'
  | 'transport'
  | 'too-large'
  | 'malformed'
  | 'redirect'
  | 'http-error'
  | 'rejected'
  | 'verification-failed'
  | 'rollback'
  | 'stale'
  | 'behind'
  | 'no-progress'
  | 'unknown-epoch'
  /** The replica refused the request id: used before for another operation, or below the client's last executed id (409). */
  | 'conflict';

export interface Attempt {
  replica: string;
  code: AttemptCode;
  detail: string;
}

export type RegistryErrorCode =
  | 'verification-failed'
  | 'rollback'
  | 'fork'
  | 'stale'
  | 'all-replicas-failed'
  /** No replica answered at all (every attempt a transport error or a timeout): nothing was refused or failed verification. */
  | 'unreachable'
  | 'unknown-epoch'
  | 'rejected'
  | 'bad-argument'
  | 'storage'
  | 'closed'
  | 'absent'
  | 'invalid-value'
  /** The write's request id cannot be used: the replicas hold another operation under it, or a larger id already executed. */
  | 'conflict';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly attempts: readonly Attempt[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

/** Two valid certificates for one height with different headers: the registry forked (or a quorum lied). */
export class ForkError extends RegistryError {
  constructor(
    readonly height: bigint,
    readonly first: Certificate,
    readonly second: Certificate,
    readonly replica: string,
  ) {
    super('fork', `fork at height ${height}: two valid certificates for different headers (the second from ${replica})`);
    this.name = 'ForkError';
  }
}

function describe(attempts: readonly Attempt[]): string {
  return attempts.map((a) => `  ${a.replica}: ${a.code}: ${a.detail}`).join('\n');
}

/**
 * Every replica was asked and none gave an answer that verified. The code is
 * the common reason when all replicas failed for the same one (all stale, all
 * rolled back, all of an unknown epoch, all refused the request, all failed
 * verification), else 'all-replicas-failed'.
 */
export class ReplicasFailedError extends RegistryError {
  /** `code`: forced (a failed epoch walk is 'unknown-epoch' whatever each replica did), else the common reason. */
  constructor(what: string, attempts: readonly Attempt[], code?: RegistryErrorCode) {
    super(code ?? commonCode(attempts), `${what}: no replica gave a verified answer\n${describe(attempts)}`, attempts);
    this.name = 'ReplicasFailedError';
  }
}

/**
 * What one failed attempt says about the replica asked, for callers that act
 * on the class rather than the detail (the CLI's exit codes): it could not be
 * reached; it answered with something that failed verification (a lie, a
 * rollback, an unproven epoch, garbage); its answer verified but is too old or
 * behind; or it refused the request before ordering it.
 */
export type AttemptClass = 'unreachable' | 'unverified' | 'stale' | 'refused';

export function attemptClass(code: AttemptCode): AttemptClass {
  switch (code) {
    case 'timeout':
    case 'transport':
    case 'http-error':
    case 'redirect':
      return 'unreachable';
    case 'too-large':
    case 'malformed':
    case 'verification-failed':
    case 'rollback':
    case 'unknown-epoch':
      return 'unverified';
    case 'stale':
    case 'behind':
    case 'no-progress':
      return 'stale';
    case 'rejected':
    case 'conflict':
      return 'refused';
    default:
      return assertNever(code, 'attempt code');
  }
}

function commonCode(attempts: readonly Attempt[]): RegistryErrorCode {
  const first = attempts[0]?.code;
  // Transport errors and timeouts alike: the replicas could not be asked, which is not a failed verification.
  if (first !== undefined && attempts.every((a) => a.code === 'transport' || a.code === 'timeout')) return 'unreachable';
  if (first === undefined || attempts.some((a) => a.code !== first)) return 'all-replicas-failed';
  switch (first) {
    case 'stale':
    case 'rollback':
    case 'unknown-epoch':
    case 'rejected':
    case 'verification-failed':
    case 'conflict':
      return first;
    default:
      return 'all-replicas-failed';
  }
}

/**
 * Why a header's epoch is not trusted: it predates the pinned membership, or
 * it is later than the newest trusted epoch and no replica proved the epoch
 * chain up to it (`why`: each replica's failure, naming the link and the rule).
 */
export function unknownEpochDetail(epoch: bigint, newest: bigint, pinned: bigint, why?: string): string {
  if (epoch < pinned) return `header of epoch ${epoch}, before the pinned membership's epoch ${pinned}: the chain is walked forward only`;
  const base = `header of epoch ${epoch}, but the newest trusted epoch is ${newest} and no replica proved the epoch chain to it`;
  return why === undefined ? base : `${base}: ${why}`;
}
