// Checks the audit record offline: every stored PBFT message, and every
// signed message nested in it (the checkpoint proof and prepared certificates
// of a VIEW-CHANGE, the VIEW-CHANGEs and PRE-PREPAREs of a NEW-VIEW), must
// carry a valid signature of its sender under the pinned membership. Stored
// PRE-PREPAREs have their batches emptied (docs/replica.md section 5); that
// is fine, since a PRE-PREPARE is signed over its header hash only.

import { bytesToHex, type Membership } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { type PeerMessage, type SigningContext, verifyMessageSignature } from '@vcr/consensus';

export type VoteMessage = Extract<PeerMessage, { type: 'pre-prepare' | 'prepare' | 'commit' | 'checkpoint' }>;

/** A signed message and where it sits inside its record ("" for the record itself). */
export interface SignedPart {
  path: string;
  message: PeerMessage;
}

/** The message and every signed message it carries, outermost first. */
export function signedParts(message: PeerMessage, path = ''): SignedPart[] {
  const out: SignedPart[] = [{ path, message }];
  const at = (p: string) => (path === '' ? p : `${path}.${p}`);
  switch (message.type) {
    case 'view-change':
      message.checkpoint.proof.forEach((c, i) => out.push({ path: at(`checkpoint.proof[${i}]`), message: c }));
      message.prepared.forEach((c, i) => {
        out.push({ path: at(`prepared[${i}].prePrepare`), message: c.prePrepare });
        c.prepares.forEach((p, j) => out.push({ path: at(`prepared[${i}].prepares[${j}]`), message: p }));
      });
      break;
    case 'new-view':
      message.viewChanges.forEach((vc, i) => out.push(...signedParts(vc, at(`viewChanges[${i}]`))));
      message.prePrepares.forEach((p, i) => out.push({ path: at(`prePrepares[${i}]`), message: p }));
      break;
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
    case 'checkpoint':
    case 'epoch-accept':
      break;
  }
  return out;
}

/** "prepare from r2, view 1, seq 7" */
export function describeMessage(m: PeerMessage): string {
  switch (m.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
      return `${m.type} from ${m.from}, epoch ${m.epoch}, view ${m.view}, seq ${m.seq}`;
    case 'checkpoint':
      return `checkpoint from ${m.from}, epoch ${m.epoch}, seq ${m.seq}`;
    case 'view-change':
      return `view-change from ${m.from}, epoch ${m.epoch}, to view ${m.newView}`;
    case 'new-view':
      return `new-view from ${m.from}, epoch ${m.epoch}, view ${m.view}`;
    case 'epoch-accept':
      return `epoch-accept from ${m.from}, epoch ${m.epoch}`;
  }
}

export function isVote(m: PeerMessage): m is VoteMessage {
  return m.type === 'pre-prepare' || m.type === 'prepare' || m.type === 'commit' || m.type === 'checkpoint';
}

/**
 * Verifies signatures with a cache: a message nested in many view changes is
 * checked once. The key is the signature and the message's wire JSON, so a
 * tampered copy with the same signature is checked on its own.
 */
export class SignatureChecker {
  private readonly ctx: SigningContext;
  private readonly cache = new Map<string, boolean>();
  verified = 0;
  /** Milliseconds spent in Ed25519 verification. */
  elapsedMs = 0;

  /** `memberships`: every epoch's membership the verified chain went through (genesis first). */
  constructor(private readonly memberships: ReadonlyMap<bigint, Membership>) {
    const genesis = memberships.get(0n);
    if (genesis === undefined) throw new Error('the signature checker needs the genesis membership');
    this.ctx = { backend: nodeBackend, chainId: genesis.chainId };
  }

  /**
   * Why a message's signature cannot be accepted, or undefined when it verifies.
   * `cacheKey` (for nested messages, which repeat) must name the message's full content.
   */
  check(m: PeerMessage, cacheKey?: string): string | undefined {
    const membership = this.memberships.get(m.epoch);
    if (membership === undefined) return `signed in epoch ${m.epoch}, which the verified chain never reached`;
    if (!membership.replicas.some((r) => r.id === m.from)) return `sender ${m.from} is not in the membership of epoch ${m.epoch}`;
    let ok = cacheKey === undefined ? undefined : this.cache.get(cacheKey);
    if (ok === undefined) {
      const t0 = performance.now();
      ok = verifyMessageSignature(this.ctx, membership, m);
      this.elapsedMs += performance.now() - t0;
      this.verified++;
      // Bounded: the cache only saves repeats inside nearby view changes.
      if (this.cache.size > 100_000) this.cache.clear();
      if (cacheKey !== undefined) this.cache.set(cacheKey, ok);
    }
    return ok ? undefined : `signature ${bytesToHex(m.signature).slice(0, 16)}... does not verify under ${m.from}'s key`;
  }
}
