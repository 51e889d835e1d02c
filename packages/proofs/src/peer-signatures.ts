// What each peer message's signature covers (docs/protocol.md section 3), the
// signing and checking of peer messages, and a batch's hash: formats shared
// by the consensus core (which signs and checks), the replica, the console
// and the audit tools (which check). Every signature is domain-separated by
// kind, chain and epoch (domain.ts).

import { type CanonicalValue, encodeCanonical } from './canonical';
import { type ClientRequest, requestToCanonical } from './client-request';
import type { CryptoBackend, Signer } from './crypto-backend';
import { type SignatureKind, signInDomain, verifyInDomain } from './domain';
import { epochAcceptMessage } from './epoch-chain';
import { commitVoteMessage, headerHash } from './header';
import type { Membership } from './membership';
import type { PeerMessage } from './peer-message';

/** batchHash = SHA-256(canonical([request...])) with each request's signature included: the header's batchHash. */
export function batchHash(backend: CryptoBackend, batch: readonly ClientRequest[]): Uint8Array {
  return backend.sha256(encodeCanonical(batch.map(requestToCanonical)));
}


function kindOf(message: PeerMessage): SignatureKind {
  return message.type;
}

/** The canonical message each kind signs. */
export function signingPayload(backend: CryptoBackend, message: PeerMessage): CanonicalValue {
  switch (message.type) {
    case 'pre-prepare':
      return { view: message.view, seq: message.seq, headerHash: headerHash(backend, message.header) };
    case 'prepare':
      return { view: message.view, seq: message.seq, headerHash: message.headerHash };
    case 'commit':
      return commitVoteMessage(message.headerHash, message.seq, message.view);
    case 'checkpoint':
      return { seq: message.seq, headerHash: message.headerHash };
    case 'view-change':
      return {
        newView: message.newView,
        checkpointSeq: message.checkpoint.seq,
        checkpointHash: message.checkpoint.headerHash,
        prepared: message.prepared.map((c) => [c.prePrepare.view, c.prePrepare.seq, headerHash(backend, c.prePrepare.header)]),
      };
    case 'new-view':
      return {
        view: message.view,
        viewChangeSenders: message.viewChanges.map((vc) => vc.from),
        prePrepares: message.prePrepares.map((p) => [p.seq, headerHash(backend, p.header)]),
      };
    case 'epoch-accept':
      // Exactly the message epoch links carry, so these signatures go into a link as they are.
      return epochAcceptMessage(message.lastHeaderHash, message.nextMembershipHash);
  }
}

export interface SigningContext {
  backend: CryptoBackend;
  chainId: string;
}

type Unsigned<M extends PeerMessage> = Omit<M, 'signature'>;

export function signMessage<M extends PeerMessage>(ctx: SigningContext, signer: Signer, unsigned: Unsigned<M>): M {
  const draft = { ...unsigned, signature: new Uint8Array(64) } as M;
  const signature = signInDomain(signer, { kind: kindOf(draft), chainId: ctx.chainId, epoch: draft.epoch }, signingPayload(ctx.backend, draft));
  return { ...draft, signature };
}

/** Checks a message's signature against one given key (e.g. the sender's key of another epoch). */
export function verifyMessageWithKey(ctx: SigningContext, publicKey: Uint8Array, message: PeerMessage): boolean {
  return verifyInDomain(ctx.backend, publicKey, { kind: kindOf(message), chainId: ctx.chainId, epoch: message.epoch }, signingPayload(ctx.backend, message), message.signature);
}

/** Checks the sender's signature against the membership of the message's epoch. */
export function verifyMessageSignature(ctx: SigningContext, membership: Membership, message: PeerMessage): boolean {
  if (message.epoch !== membership.epoch) return false;
  const sender = membership.replicas.find((r) => r.id === message.from);
  if (sender === undefined) return false;
  return verifyInDomain(ctx.backend, sender.publicKey, { kind: kindOf(message), chainId: ctx.chainId, epoch: message.epoch }, signingPayload(ctx.backend, message), message.signature);
}
