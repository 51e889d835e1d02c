// Re-verifies a committed chain one block at a time from the pinned genesis,
// trusting nothing the blocks say: the certificate (a quorum of the pinned
// membership, for exactly this header), the hash link to the previous header,
// the batch hash, and the state and log roots re-computed by running the
// registry state machine on the batch with the genesis registry policy.
// Shared by `cli verify` (ops/verify-chain.ts, blocks fetched from a replica)
// and the offline audit (ops/audit/verify.ts, blocks read from an archive).
// Cheap checks run before the certificate's signatures, and re-execution last.

import { bytesToHex, type Certificate, equalBytes, headerHash, type Membership, membershipHash, MerkleLog, verifyCertificate } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { batchHash, type CommittedBlock } from '@vcr/consensus';
import { leafForRequest, type RegistryPolicy } from '@vcr/registry';
import { genesisRegistryState, type RegistryState, registryExecutor } from '../../apps/replica/src/registry/state';

export type BlockVerdict = { ok: true } | { ok: false; reason: string };

/** Where the time of a verification goes, in milliseconds. */
export interface ChainTimings {
  certificateMs: number;
  executionMs: number;
}

export interface ChainVerifierOptions {
  membership: Membership;
  policy: RegistryPolicy;
  /**
   * Keep every log leaf hash (32 bytes each) so consistency proofs between any
   * two sizes can be produced later (`log`); the plain chain check needs only the roots.
   */
  keepLog?: boolean;
}

export class ChainVerifier {
  readonly timings: ChainTimings = { certificateMs: 0, executionMs: 0 };
  /** The full entry log rebuilt from the re-executed requests, when `keepLog` is set. */
  readonly log: MerkleLog | undefined;
  private readonly executor;
  private state: RegistryState;
  private prevHash: Uint8Array = new Uint8Array(32);
  private heightNow = 0n;
  private logSizeNow = 0n;
  private requestCount = 0;

  /** The membership of the epoch the verified chain has reached (genesis, then each re-executed change). */
  get membership(): Membership {
    return this.state.membership;
  }

  constructor(opts: ChainVerifierOptions) {
    this.executor = registryExecutor(nodeBackend, opts.policy);
    this.state = genesisRegistryState(nodeBackend, opts.membership);
    this.log = opts.keepLog ? new MerkleLog(nodeBackend) : undefined;
  }

  /** The height of the last verified block (0 before any). */
  get height(): bigint {
    return this.heightNow;
  }

  get logSize(): bigint {
    return this.logSizeNow;
  }

  get logRoot(): Uint8Array {
    return this.state.log.root();
  }

  get stateRoot(): Uint8Array {
    return this.state.map.root;
  }

  /** The hash of the last verified header (32 zero bytes before any). */
  get headHash(): Uint8Array {
    return this.prevHash;
  }

  /** Client requests in the verified blocks, executed or skipped as duplicates. */
  get requests(): number {
    return this.requestCount;
  }

  /** Verifies the next block (height `height + 1`) and, only if it passes, moves onto it. */
  push(block: CommittedBlock): BlockVerdict {
    const at = this.heightNow + 1n;
    const h = block.header;
    if (h.height !== at) return { ok: false, reason: `expected height ${at}, found height ${h.height} (a block is missing or out of order)` };
    if (!equalBytes(h.prevHash, this.prevHash)) return { ok: false, reason: `prevHash ${bytesToHex(h.prevHash)} does not link to the previous header ${bytesToHex(this.prevHash)}` };
    const hash = headerHash(nodeBackend, h);
    if (!equalBytes(headerHash(nodeBackend, block.certificate.header), hash)) return { ok: false, reason: `certificate is for another header (${describeHeaderDifference(block.certificate, h)})` };
    if (!equalBytes(h.batchHash, batchHash(nodeBackend, block.batch))) return { ok: false, reason: 'batchHash does not match the batch' };
    const t0 = performance.now();
    // Each block is certified by its epoch's membership: the one the approved changes before it made (re-execution derives it).
    if (h.epoch !== this.state.membership.epoch) return { ok: false, reason: `header of epoch ${h.epoch}, but the chain is in epoch ${this.state.membership.epoch} here` };
    const certified = verifyCertificate(nodeBackend, this.state.membership, block.certificate);
    const t1 = performance.now();
    this.timings.certificateMs += t1 - t0;
    if (!certified.ok) return { ok: false, reason: `certificate: ${certified.reason}${certified.detail ? ` (${certified.detail})` : ''}` };
    const exec = this.executor.apply(this.state, { seq: at, batch: block.batch, timestampMs: h.timestampMs });
    this.timings.executionMs += performance.now() - t1;
    if (!equalBytes(exec.stateRoot, h.stateRoot)) return { ok: false, reason: `re-executed state root ${bytesToHex(exec.stateRoot)} differs from the certified ${bytesToHex(h.stateRoot)}` };
    if (!equalBytes(exec.logRoot, h.logRoot) || exec.logSize !== h.logSize) return { ok: false, reason: `re-executed log (size ${exec.logSize}) differs from the certified one (size ${h.logSize})` };
    const nextHash = exec.nextMembership === undefined ? null : membershipHash(nodeBackend, exec.nextMembership);
    if (nextHash === null && h.nextMembershipHash !== null) return { ok: false, reason: 'header ends the epoch (nextMembershipHash set) but re-execution changes no membership' };
    if (nextHash !== null && (h.nextMembershipHash === null || !equalBytes(nextHash, h.nextMembershipHash))) return { ok: false, reason: 're-executed block ends the epoch (an approved membership change) but its header does not commit to that next membership' };
    if (this.log !== undefined) {
      // replies[i] is log leaf logSize_before + i (registryExecutor); rebuild the leaves as the replica does.
      const byRequest = new Map(block.batch.map((r) => [`${r.clientId}/${r.requestId}`, r]));
      for (const reply of exec.replies) {
        const request = byRequest.get(`${reply.clientId}/${reply.requestId}`);
        if (request === undefined) throw new Error(`executor replied to a request not in block ${at}`);
        this.log.append(leafForRequest(nodeBackend, { seq: at, request, result: reply.result }));
      }
    }
    this.state = exec.state;
    this.prevHash = hash;
    this.heightNow = at;
    this.logSizeNow = h.logSize;
    this.requestCount += block.batch.length;
    return { ok: true };
  }
}

/** Names the header fields a certificate's header changes, for the report. */
function describeHeaderDifference(certificate: Certificate, h: CommittedBlock['header']): string {
  const c = certificate.header;
  const fields = (Object.keys(h) as (keyof typeof h)[]).filter((k) => {
    const a = h[k];
    const b = c[k];
    if (a instanceof Uint8Array && b instanceof Uint8Array) return !equalBytes(a, b);
    return a !== b;
  });
  return fields.length > 0 ? `fields differ: ${fields.join(', ')}` : 'headers differ';
}
