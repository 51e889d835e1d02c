// Signed writes with verified receipts. One request at a time per client
// (the replica's exactly-once relies on ids growing per client); the request
// id comes from the clock (ms * 1000) and is above the last one used, which is
// persisted before the request leaves. A retry (timeout, transport error,
// 429/503 with Retry-After, an answer that fails verification) resends the
// SAME signed request, to the same replica after Retry-After or to the next:
// the registry executes a request id at most once, so the retry is safe.
// Requests are signed in the newest trusted epoch's domain; a replica that
// refuses the signature makes the client walk the epoch chain and, if a later
// epoch is proven, re-sign the same request id in it, once.

import { bytesToHex, type Certificate, type ClientRequest, clientRequestToJson, type Signer, signClientRequest } from '@vcr/proofs';
import { encodeOp, type RegistryOp, type RegistryResult } from '@vcr/registry';
import { acceptCertificate, proveFromQuery } from './accept';
import type { ClientCore } from './core';
import { describeWalk } from './epochs';
import { type Attempt, RegistryError, ReplicasFailedError } from './errors';
import { errorSummary } from './http';
import { type SentRequest, verifyReceipt } from './verify';
import { parseAnswer, receiptSchema } from './wire';

export interface VerifiedReceipt {
  /** The registry's verdict: `{ ok: true, revisions }` (one per operation; 0 after a delete) or `{ ok: false, error }`. */
  result: RegistryResult;
  requestId: bigint;
  height: bigint;
  epoch: bigint;
  logIndex: bigint;
  timestampMs: bigint;
  replica: string;
  headerHash: string;
  certificate: Certificate;
}

type AttemptOutcome =
  | { kind: 'done'; receipt: VerifiedReceipt }
  | { kind: 'retry-here'; attempt: Attempt; afterMs: number }
  | { kind: 'next'; attempt: Attempt }
  /** Refused for its signature: perhaps signed for an epoch the replica no longer accepts. */
  | { kind: 'epoch'; attempt: Attempt };

interface Signed {
  request: ClientRequest;
  /** The epoch whose domain the request is signed in. */
  epoch: bigint;
  body: string;
}

/** A replica's 4xx codes that may mean "signed for the wrong epoch": the replica's `bad-signature` (it verifies in its own epoch's domain), and `wrong-epoch` should it name the case. */
const epochRefusalCodes = new Set(['bad-signature', 'wrong-epoch']);

/** A replica's 409 codes for a request id this write cannot use (docs/protocol.md, "Request ids"). */
const requestIdRefusalCodes = new Set(['request-id-conflict', 'request-id-superseded']);

function errorCode(body: unknown): string {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : '';
}

export class Writer {
  private chain: Promise<unknown> = Promise.resolve();
  /** Called with each request before it is sent (tests and audit logs). */
  onSend: ((request: ClientRequest, replica: string) => void) | undefined;

  constructor(
    private readonly core: ClientCore,
    private readonly signer: Signer,
  ) {}

  get clientId(): string {
    return bytesToHex(this.signer.publicKey);
  }

  /** Submits one operation; resolves with its verified receipt. Writes of one client run one at a time. */
  submit(op: RegistryOp): Promise<VerifiedReceipt> {
    let payload: Uint8Array;
    try {
      payload = encodeOp(op);
    } catch (error) {
      return Promise.reject(new RegistryError('bad-argument', `operation refused: ${error instanceof Error ? error.message : String(error)}`));
    }
    const run = this.chain.then(() => this.send(op.op, payload));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async nextRequestId(): Promise<bigint> {
    const trust = this.core.trust;
    const fromClock = BigInt(Math.floor(this.core.now())) * 1000n;
    const id = fromClock > trust.lastRequestId ? fromClock : trust.lastRequestId + 1n;
    trust.lastRequestId = id;
    // Persisted before the request leaves: after a restart no id is used twice.
    await this.core.persist();
    return id;
  }

  private sign(requestId: bigint, payload: Uint8Array): Signed {
    const membership = this.core.trust.newestMembership;
    const request = signClientRequest(this.signer, { chainId: membership.chainId, epoch: membership.epoch }, { requestId, payload });
    return { request, epoch: membership.epoch, body: JSON.stringify(clientRequestToJson(request)) };
  }

  private async send(what: string, payload: Uint8Array): Promise<VerifiedReceipt> {
    let signed = this.sign(await this.nextRequestId(), payload);
    // Every version of this request that left (one per epoch it was signed in): a receipt may be for any of them.
    const versions: SentRequest[] = [{ request: signed.request, signedEpoch: signed.epoch }];
    let walked = false;
    const deadline = this.core.now() + this.core.settings.writeDeadlineMs;
    const attempts: Attempt[] = [];
    for (let pass = 0; pass < 3; pass++) {
      for (const url of this.core.order()) {
        for (let here = 0; here < 2; here++) {
          if (this.core.now() >= deadline) throw new ReplicasFailedError(`${what} (request ${signed.request.requestId})`, attempts);
          this.onSend?.(signed.request, url);
          const outcome = await this.attempt(url, versions, signed.body);
          if (outcome.kind === 'done') {
            this.core.markGood(url);
            return outcome.receipt;
          }
          attempts.push(outcome.attempt);
          if (outcome.kind === 'epoch' && !walked) {
            // Our signature is valid in the epoch we signed for, so an honest replica refusing it
            // checks another domain: the registry moved on. Walk the chain from this replica (one
            // walk per write) and, if a later epoch is now trusted, re-sign the SAME request id in
            // it and try again here. The id keeps the registry's at-most-once.
            walked = true;
            const walk = await this.core.reachEpoch('latest', url);
            if (!walk.ok) outcome.attempt.detail += `; epoch chain: ${describeWalk(walk.attempts).slice(0, 600)}`;
            if (this.core.trust.newestMembership.epoch > signed.epoch) {
              signed = this.sign(signed.request.requestId, payload);
              versions.push({ request: signed.request, signedEpoch: signed.epoch });
              continue;
            }
          }
          if (outcome.kind !== 'retry-here') break;
          await this.core.sleep(Math.min(outcome.afterMs, this.core.settings.retryAfterMsMax));
        }
      }
      // Another pass only if some replica might still answer (not when all refused or lied).
      if (!attempts.some((a) => a.code === 'timeout' || a.code === 'transport' || a.code === 'http-error')) break;
    }
    throw new ReplicasFailedError(`${what} (request ${signed.request.requestId})`, attempts);
  }

  private async attempt(url: string, versions: readonly SentRequest[], body: string): Promise<AttemptOutcome> {
    const answer = await this.core.request(url, `/v1/requests${proveFromQuery(this.core.trust, '?')}`, { method: 'POST', body, timeoutMs: this.core.settings.writeTimeoutMs });
    if (!answer.ok) return { kind: 'next', attempt: answer.attempt };
    const fail = (code: Attempt['code'], detail: string): AttemptOutcome => ({ kind: 'next', attempt: { replica: url, code, detail } });
    // A replica with no vote in the current epoch cannot order the request: no point waiting for it.
    if (answer.status === 503 && errorCode(answer.body) === 'not-a-member') return fail('http-error', errorSummary(answer.status, answer.body));
    if (answer.status === 429 || answer.status === 503) {
      return { kind: 'retry-here', attempt: { replica: url, code: 'http-error', detail: errorSummary(answer.status, answer.body) }, afterMs: answer.retryAfterMs ?? 500 };
    }
    if (answer.status >= 400 && answer.status < 500 && epochRefusalCodes.has(errorCode(answer.body))) {
      return { kind: 'epoch', attempt: { replica: url, code: 'rejected', detail: errorSummary(answer.status, answer.body) } };
    }
    // The id is spent (another operation under it, or a larger id executed): this write can never
    // execute under it. Not retried with a new id: an earlier attempt of it may have executed.
    if (answer.status === 409 && requestIdRefusalCodes.has(errorCode(answer.body))) return fail('conflict', errorSummary(answer.status, answer.body));
    if (answer.status >= 400 && answer.status < 500) return fail('rejected', errorSummary(answer.status, answer.body));
    if (answer.status !== 200) return fail('http-error', errorSummary(answer.status, answer.body));
    const parsed = parseAnswer(receiptSchema, answer.body);
    if (!parsed.ok) return fail('malformed', parsed.detail);
    const receipt = parsed.value;
    // Cheap proof checks before the certificate's signatures (hashes only), the newest version first.
    const tried = [...versions].reverse().map((sent) => ({ request: sent.request, checked: verifyReceipt(this.core.backend, sent, receipt) }));
    const match = tried.find((t) => t.checked.ok) ?? tried[0];
    if (match === undefined) return fail('verification-failed', 'no request was sent');
    const { request, checked } = match;
    if (!checked.ok) return fail('verification-failed', checked.detail);
    const accepted = await acceptCertificate(this.core, url, receipt.certificate, 'historic', undefined, receipt.consistency);
    if (!accepted.ok) return { kind: 'next', attempt: accepted.attempt };
    const h = receipt.certificate.header;
    return {
      kind: 'done',
      receipt: {
        result: checked.value.result,
        requestId: request.requestId,
        height: h.height,
        epoch: h.epoch,
        logIndex: checked.value.logIndex,
        timestampMs: h.timestampMs,
        replica: url,
        headerHash: bytesToHex(accepted.headerHash),
        certificate: receipt.certificate,
      },
    };
  }
}
