// The simulator's replicated application: a deterministic register per
// client, immutable state values, exactly-once by per-client request ids.
// Roots do not depend on the block timestamp, on purpose: a Byzantine primary
// can then equivocate with two headers that both re-execute correctly.

import { concatBytes, type CryptoBackend, type Membership, utf8, u64be } from '@vcr/proofs';
import { type ClientReply, type ClientRequest, type Executor, type ExecutionResult, isRequestIdAhead } from '../../src/index';

export interface SimState {
  stateRoot: Uint8Array;
  logRoot: Uint8Array;
  logSize: bigint;
  /** Last executed request id and reply per client. */
  lastByClient: ReadonlyMap<string, ClientReply>;
  /** The epoch the state is in: a request `epoch:<e + 1>` ends epoch e (see simExecutor). */
  epoch: bigint;
}

export function genesisState(backend: CryptoBackend): SimState {
  return { stateRoot: backend.sha256(utf8('sim-genesis-state')), logRoot: backend.sha256(utf8('sim-genesis-log')), logSize: 0n, lastByClient: new Map(), epoch: 0n };
}

/**
 * `plan[e]` is epoch e's membership. A request whose payload is `epoch:<e + 1>`, executed in
 * epoch e, ends the epoch (the first such request in a batch; any other is an ordinary write).
 */
export function simExecutor(backend: CryptoBackend, plan: readonly Membership[] = []): Executor<SimState> {
  const decoder = new TextDecoder();
  return {
    apply(state, { seq, batch, timestampMs }): ExecutionResult<SimState> {
      let nextMembership: Membership | undefined;
      let stateRoot = state.stateRoot;
      let logRoot = state.logRoot;
      let logSize = state.logSize;
      let last: Map<string, ClientReply> | undefined;
      const replies: ClientReply[] = [];
      for (const r of batch) {
        const previous = (last ?? state.lastByClient).get(r.clientId);
        if (previous !== undefined && previous.requestId >= r.requestId) continue; // exactly once
        if (isRequestIdAhead(r.requestId, timestampMs)) continue; // the request id window, as the registry applies it
        stateRoot = backend.sha256(stateRoot, utf8(r.clientId), u64be(r.requestId), r.payload);
        logRoot = backend.sha256(logRoot, stateRoot);
        logSize += 1n;
        const wanted = plan[Number(state.epoch) + 1];
        if (nextMembership === undefined && wanted !== undefined && decoder.decode(r.payload) === `epoch:${wanted.epoch}`) nextMembership = wanted;
        const reply = { clientId: r.clientId, requestId: r.requestId, result: concatBytes(utf8(`ok@${seq}:`), r.payload) };
        last ??= new Map(state.lastByClient);
        last.set(r.clientId, reply);
        replies.push(reply);
      }
      const epoch = nextMembership ? nextMembership.epoch : state.epoch;
      return { state: { stateRoot, logRoot, logSize, lastByClient: last ?? state.lastByClient, epoch }, stateRoot, logRoot, logSize, replies, ...(nextMembership ? { nextMembership } : {}) };
    },
    replyFor(state, clientId, requestId) {
      const last = state.lastByClient.get(clientId);
      if (last === undefined || last.requestId < requestId) return 'unknown';
      return last.requestId === requestId ? last : 'superseded';
    },
  };
}

export function isValidSimRequest(r: ClientRequest): boolean {
  return r.clientId.startsWith('c');
}
