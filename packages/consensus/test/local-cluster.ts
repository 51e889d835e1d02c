// A lossless, synchronous 4-replica cluster for targeted core tests: every
// effect is applied immediately, FIFO, with a clock the test moves by hand.
import { type Signer, signInDomain } from '@vcr/proofs';
import { testCluster, testSeed } from '@vcr/proofs/testing';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { PbftCore } from '../src/core';
import { requestSigningMessage } from '../src/messages';
import type { ClientRequest, CommittedBlock, Effect, PeerMessage } from '../src/types';
import { genesisState, type SimState, simExecutor } from './sim/app';
import { simConfig } from './sim/simulator';

export class LocalCluster {
  readonly cluster = testCluster({ chainId: 'vcr-sim' });
  readonly cores = new Map<string, PbftCore<SimState>>();
  readonly effects = new Map<string, Effect[]>();
  readonly commits = new Map<string, CommittedBlock[]>();
  readonly applied: string[] = [];
  now = 1_000;
  private readonly queue: { to: string; message: PeerMessage }[] = [];
  readonly client: Signer = createNodeSigner(testSeed('sim-client-0'));
  /** Drop filter for messages in flight (return true to drop). */
  dropIf: (from: string, to: string, m: PeerMessage) => boolean = () => false;

  constructor() {
    const executor = simExecutor(nodeBackend);
    const counting = {
      apply: (state: SimState, input: Parameters<typeof executor.apply>[1]) => {
        for (const r of input.batch) this.applied.push(`${r.clientId}/${r.requestId}`);
        return executor.apply(state, input);
      },
      replyFor: executor.replyFor,
    };
    for (const r of this.cluster.membership.replicas) {
      const core = new PbftCore<SimState>(
        { config: simConfig(r.id), membership: this.cluster.membership, backend: nodeBackend, signer: createNodeSigner(testSeed(`replica-${r.id}`)), executor: counting, validateRequest: () => true },
        { committedHeader: undefined, committedState: genesisState(nodeBackend), nowMs: this.now },
      );
      this.cores.set(r.id, core);
      this.effects.set(r.id, []);
      this.commits.set(r.id, []);
    }
  }

  request(requestId: bigint, clientId = 'c0'): ClientRequest {
    const unsigned = { clientId, requestId, payload: new TextEncoder().encode(`op ${requestId}`) };
    return { ...unsigned, signature: signInDomain(this.client, { kind: 'client-request', chainId: 'vcr-sim', epoch: 0n }, requestSigningMessage(unsigned)) };
  }

  core(id: string): PbftCore<SimState> {
    return this.cores.get(id) as PbftCore<SimState>;
  }

  handle(id: string, event: Parameters<PbftCore<SimState>['handle']>[0]): Effect[] {
    const effects = this.core(id).handle(event);
    (this.effects.get(id) as Effect[]).push(...effects);
    for (const e of effects) {
      if (e.type === 'broadcast') for (const to of this.cores.keys()) if (to !== id && !this.dropIf(id, to, e.message)) this.queue.push({ to, message: e.message });
      if (e.type === 'send' && !this.dropIf(id, e.to, e.message)) this.queue.push({ to: e.to, message: e.message });
      if (e.type === 'commit') (this.commits.get(id) as CommittedBlock[]).push(e.block);
    }
    return effects;
  }

  /** Delivers until quiet. */
  settle(): void {
    for (let guard = 0; this.queue.length > 0 && guard < 100_000; guard++) {
      const { to, message } = this.queue.shift() as { to: string; message: PeerMessage };
      this.handle(to, { type: 'message', message });
    }
  }

  /** Moves the clock and ticks everyone, delivering as it goes. */
  advance(ms: number, stepMs = 10): void {
    for (let t = 0; t < ms; t += stepMs) {
      this.now += stepMs;
      for (const id of this.cores.keys()) this.handle(id, { type: 'tick', nowMs: this.now });
      this.settle();
    }
  }

  submitToAll(request: ClientRequest): void {
    for (const id of this.cores.keys()) this.handle(id, { type: 'request', request });
    this.settle();
  }
}
