// Byzantine strategies, each a named, reusable adversary. A Byzantine replica
// runs the honest core (so it stays plausible) and its strategy rewrites what
// it sends and adds messages of its own, signed with its own key: it can
// equivocate, forge, replay and lie about roots, but it cannot sign for others.

import { headerHash, type Signer } from '@vcr/proofs';
import { signMessage, type SigningContext } from '../../src/messages';
import type { Commit, PeerMessage, PrePrepare, Prepare } from '../../src/types';
import type { Rng } from './rng';

export const STRATEGIES = [
  'silent',
  'slow',
  'equivocating-primary',
  'conflicting-votes',
  'forger',
  'replayer',
  'old-view-and-epoch',
  'wrong-root-primary',
  'far-timestamp-primary',
  'withholding-primary',
] as const;

export type StrategyName = (typeof STRATEGIES)[number];

export interface Delivery {
  to: string;
  message: PeerMessage;
  extraDelayMs?: number;
}

export interface AdversaryContext {
  self: string;
  peers: readonly string[];
  signer: Signer;
  signing: SigningContext;
  rng: Rng;
  /** Messages this replica received so far (bounded), for replay attacks. */
  seen: PeerMessage[];
}

type Unsigned<M extends PeerMessage> = Omit<M, 'signature'>;

function resign<M extends PeerMessage>(ctx: AdversaryContext, m: Unsigned<M>): M {
  return signMessage<M>(ctx.signing, ctx.signer, m);
}

function everyone(ctx: AdversaryContext, message: PeerMessage): Delivery[] {
  return ctx.peers.map((to) => ({ to, message }));
}

/** Rewrites one outbound message (already addressed to `targets`) under a strategy. */
export function applyStrategy(strategy: StrategyName, ctx: AdversaryContext, message: PeerMessage, targets: readonly string[]): Delivery[] {
  const honest = targets.map((to) => ({ to, message }));
  switch (strategy) {
    case 'silent':
      return [];
    case 'slow':
      return honest.map((d) => ({ ...d, extraDelayMs: ctx.rng.int(500, 4000) }));
    case 'equivocating-primary': {
      if (message.type !== 'pre-prepare') return [...honest, ...conflictingVote(ctx, message, targets)];
      // Same batch, another timestamp: a second header that re-executes to the same roots.
      const twin = resign<PrePrepare>(ctx, { ...message, header: { ...message.header, timestampMs: message.header.timestampMs + 1n } });
      // It also commits to both headers, each to the backups that got that one.
      const votes = conflictingVote(ctx, message, targets);
      return [...targets.map((to, i) => ({ to, message: i % 2 === 0 ? message : twin })), ...votes];
    }
    case 'conflicting-votes':
      return [...honest, ...conflictingVote(ctx, message, targets)];
    case 'forger': {
      const other = ctx.rng.pick(ctx.peers);
      const forged = { ...message, signature: ctx.rng.bytes(64) } as PeerMessage;
      const impersonated = { ...message, from: other } as PeerMessage;
      return [...honest, ...targets.map((to) => ({ to, message: ctx.rng.chance(0.5) ? forged : impersonated }))];
    }
    case 'replayer': {
      const replays: Delivery[] = [];
      for (let i = 0; i < 2 && ctx.seen.length > 0; i++) replays.push({ to: ctx.rng.pick(ctx.peers), message: ctx.rng.pick(ctx.seen), extraDelayMs: ctx.rng.int(0, 3000) });
      return [...honest, ...replays];
    }
    case 'old-view-and-epoch': {
      const extra: Delivery[] = [];
      const wrongEpoch = resign(ctx, { ...stripSignature(message), epoch: message.epoch + 1n });
      extra.push(...everyone(ctx, wrongEpoch));
      if (message.type === 'prepare' && message.view > 0n) extra.push(...everyone(ctx, resign<Prepare>(ctx, { ...message, view: message.view - 1n, headerHash: ctx.rng.bytes(32) })));
      return [...honest, ...extra];
    }
    case 'wrong-root-primary': {
      if (message.type !== 'pre-prepare') return honest;
      const lie = resign<PrePrepare>(ctx, { ...message, header: { ...message.header, stateRoot: ctx.rng.bytes(32) } });
      return targets.map((to) => ({ to, message: lie }));
    }
    case 'far-timestamp-primary': {
      if (message.type !== 'pre-prepare' || message.header.view !== message.view) return honest;
      const late = resign<PrePrepare>(ctx, { ...message, header: { ...message.header, timestampMs: message.header.timestampMs + 3_600_000n } });
      return targets.map((to) => ({ to, message: late }));
    }
    case 'withholding-primary': {
      if (message.type !== 'pre-prepare' && message.type !== 'new-view') return honest;
      // Only one backup hears the proposal: not enough to prepare anywhere.
      return targets.slice(0, 1).map((to) => ({ to, message }));
    }
  }
}

function stripSignature(m: PeerMessage): Unsigned<PeerMessage> {
  const { signature: _signature, ...rest } = m;
  return rest;
}

function conflictingVote(ctx: AdversaryContext, message: PeerMessage, targets: readonly string[]): Delivery[] {
  if (message.type === 'prepare') {
    const other = resign<Prepare>(ctx, { ...message, headerHash: ctx.rng.bytes(32) });
    return targets.filter(() => ctx.rng.chance(0.5)).map((to) => ({ to, message: other }));
  }
  if (message.type === 'commit') {
    const other = resign<Commit>(ctx, { ...message, headerHash: ctx.rng.bytes(32) });
    return targets.filter(() => ctx.rng.chance(0.5)).map((to) => ({ to, message: other }));
  }
  if (message.type === 'pre-prepare') {
    // Vote for our own twin header too, to push a weakened checker over the edge.
    const twinHeader = { ...message.header, timestampMs: message.header.timestampMs + 1n };
    const commit = resign<Commit>(ctx, { type: 'commit', epoch: message.epoch, from: ctx.self, view: message.view, seq: message.seq, headerHash: headerHash(ctx.signing.backend, twinHeader) });
    const commitOwn = resign<Commit>(ctx, { type: 'commit', epoch: message.epoch, from: ctx.self, view: message.view, seq: message.seq, headerHash: headerHash(ctx.signing.backend, message.header) });
    return targets.map((to, i) => ({ to, message: i % 2 === 0 ? commitOwn : commit }));
  }
  return [];
}
