// The deterministic simulator: real cores, real Ed25519 signatures (node
// backend), a seeded network that drops, duplicates, reorders, delays and
// partitions, crash-restart from what each replica persisted, Byzantine
// strategies and twins. One seed gives one run, bit for bit.

import { bytesToHex, equalBytes, headerHash, type Membership, membershipHash, requestSigningEpochs, type Signer, signInDomain, verifyCertificate, verifyEpochChain, verifyInDomain } from '@vcr/proofs';
import { testCluster, testSeed } from '@vcr/proofs/testing';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { PbftCore, type CoreRestore } from '../../src/core';
import { defaultCoreConfig, type CoreConfig } from '../../src/limits';
import { requestSigningMessage, signMessage, type SigningContext } from '../../src/messages';
import type { CheckpointProof, ClientRequest, Commit, CommittedBlock, Effect, NewView, PeerMessage, PreparedCertificate, VoteRecord } from '../../src/types';
import { applyStrategy, type Delivery, type StrategyName } from './adversary';
import { genesisState, type SimState, simExecutor } from './app';
import { buildEpochPlan, type EpochPlan, type MembershipStep } from './epochs';
import { Rng } from './rng';

export interface SimOptions {
  seed: number;
  n?: number;
  durationMs?: number;
  /** Network and crash faults stop here; liveness is judged on what was submitted by then. */
  healAtMs?: number;
  clients?: number;
  requestsPerClient?: number;
  dropRate?: number;
  duplicateRate?: number;
  delayMaxMs?: number;
  partitions?: boolean;
  crashes?: boolean;
  byzantine?: StrategyName | 'twins' | undefined;
  /** Which replica is Byzantine (default: drawn from the seed); scripted scenarios pin it, e.g. twins of the primary. */
  byzantineId?: string;
  /** Negative control: weakened thresholds on every honest replica. */
  unsafeThresholds?: { prepared: number; committed: number };
  /** Membership changes, one epoch each, submitted by an admin client at `epochChangeAtMs[i]`. */
  epochSteps?: MembershipStep[];
  epochChangeAtMs?: number[];
  /** Crash the primary as it proposes the last block of an epoch and drop that block's commits for a while: the block must finish in a view change. */
  viewChangeAtEpochEnd?: boolean;
  /** An attacker holding a rotated-out key keeps voting with it in the new epoch. */
  retiredKeyVoter?: boolean;
  /**
   * What an honest replica does once it has verified its own removal (docs/protocol.md,
   * "Removed while behind"): stop for good, or stay as a read-only follower. Either way it never
   * signs again. Default 'mirror', as the replica's config.
   */
  onRemoval?: 'exit' | 'mirror';
  /** Negative control: peers serve no blocks to these replicas (as if they treated them as outsiders). */
  refuseTransferTo?: readonly string[];
}

export interface SimResult {
  seed: number;
  safetyViolations: string[];
  livenessFailures: string[];
  committedBlocks: number;
  requestsCommitted: number;
  requestsSubmitted: number;
  viewChanges: number;
  faults: Record<string, number>;
  evidence: number;
  rejected: Record<string, number>;
  maxFootprint: number;
  /** Highest epoch every honest replica reached, and epoch links verified from genesis. */
  epoch: number;
  epochLinks: number;
  /** Honest replicas that verified their own removal: `r4 removed at epoch 3 (exit)`. */
  removed: string[];
}

interface Disk {
  blocks: CommittedBlock[];
  states: SimState[];
  stable?: CheckpointProof;
  view: bigint;
  newView?: NewView;
  votes: VoteRecord[];
  prepared: PreparedCertificate[];
  /** Whether the current epoch's link was completed and kept (otherwise the restart resumes collecting it). */
  linkKept?: boolean;
  /** The epoch that removed this replica, once it verified that (a replica keeps it with its blocks). */
  removedAt?: bigint;
}

interface Node {
  id: string;
  /** A twin shares the id and key of another node. */
  instance: string;
  core: PbftCore<SimState> | undefined;
  disk: Disk;
  honest: boolean;
  strategy: StrategyName | undefined;
  seen: PeerMessage[];
  downUntilMs: number;
  /** Stopped for good after verifying its removal (onRemoval 'exit'); never restarted. */
  exited: boolean;
}

type Event =
  | { at: number; order: number; kind: 'deliver'; to: string; message: PeerMessage }
  | { at: number; order: number; kind: 'tick'; instance: string }
  | { at: number; order: number; kind: 'client'; client: number }
  | { at: number; order: number; kind: 'blocks'; instance: string; blocks: CommittedBlock[] };

const CHAIN = 'vcr-sim';
const TRACE = typeof process !== 'undefined' && process.env.SIM_TRACE === '1';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function simConfig(replicaId: string): CoreConfig {
  return { ...defaultCoreConfig, chainId: CHAIN, replicaId, checkpointInterval: 8, watermarkWindow: 32, heartbeatIntervalMs: 400, viewChangeTimeoutMs: 800, timestampWindowMs: 2_000, fetchRetryMs: 300, batchRequestsMax: 16 };
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

class Simulation {
  private readonly rng: Rng;
  private readonly netRng: Rng;
  private readonly advRng: Rng;
  private readonly n: number;
  private readonly durationMs: number;
  private readonly healAtMs: number;
  private readonly membership: Membership;
  private readonly plan: EpochPlan;
  private latestEpoch = 0n;
  private readonly signers: Map<string, Signer>;
  private readonly clientSigners: Signer[] = [];
  private readonly clientKeys = new Map<string, Uint8Array>();
  private readonly nodes: Node[] = [];
  private readonly queue: Event[] = [];
  private order = 0;
  private now = 0;
  private partition: Set<string> | undefined;
  private readonly result: SimResult;
  private readonly committedAt = new Map<bigint, { hash: string; by: string }>();
  private readonly submitted = new Map<string, { at: number }>();
  private readonly committedRequests = new Set<string>();
  private readonly clientNext: bigint[] = [];
  private readonly executor: ReturnType<typeof simExecutor>;
  private readonly adminSigner = createNodeSigner(testSeed('sim-admin'));
  private epochEndTriggered = false;
  private dropCommits: { seq: bigint; untilMs: number } | undefined;
  private readonly signing: SigningContext = { backend: nodeBackend, chainId: CHAIN };

  constructor(private readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.netRng = this.rng.fork(1);
    this.advRng = this.rng.fork(2);
    this.n = opts.n ?? 4;
    this.durationMs = opts.durationMs ?? 20_000;
    this.healAtMs = opts.healAtMs ?? 8_000;
    const cluster = testCluster({ n: this.n, chainId: CHAIN });
    this.membership = cluster.membership;
    // Same keys as the fixtures, signed through node:crypto for speed.
    this.signers = new Map([...cluster.signers.keys()].map((id) => [id, createNodeSigner(testSeed(`replica-${id}`))]));
    this.plan = buildEpochPlan(this.membership, this.signers, opts.epochSteps ?? []);
    this.executor = simExecutor(nodeBackend, this.plan.memberships);
    this.clientKeys.set('cadmin', this.adminSigner.publicKey);
    this.result = { seed: opts.seed, safetyViolations: [], livenessFailures: [], committedBlocks: 0, requestsCommitted: 0, requestsSubmitted: 0, viewChanges: 0, faults: {}, evidence: 0, rejected: {}, maxFootprint: 0, epoch: 0, epochLinks: 0, removed: [] };
    for (let c = 0; c < (opts.clients ?? 3); c++) {
      const signer = createNodeSigner(testSeed(`sim-client-${c}`));
      this.clientSigners.push(signer);
      this.clientKeys.set(`c${c}`, signer.publicKey);
      this.clientNext.push(1n);
    }
    const drawn = `r${this.rng.int(1, this.n)}`;
    const byzantineId = opts.byzantine ? (opts.byzantineId ?? drawn) : undefined;
    for (const r of this.membership.replicas) {
      const isByz = r.id === byzantineId;
      const strategy = isByz && opts.byzantine !== 'twins' ? opts.byzantine : undefined;
      this.addNode(r.id, r.id, !isByz, strategy);
      if (isByz && opts.byzantine === 'twins') this.addNode(r.id, `${r.id}-twin`, false, undefined);
    }
    // Replicas that join later start now, with no vote: they follow the chain by state transfer.
    for (const id of this.plan.keys.keys()) if (!this.nodes.some((x) => x.id === id)) this.addNode(id, id, true, undefined);
  }

  private addNode(id: string, instance: string, honest: boolean, strategy: StrategyName | undefined): void {
    const node: Node = { id, instance, core: undefined, disk: { blocks: [], states: [], view: 0n, votes: [], prepared: [] }, honest, strategy, seen: [], downUntilMs: 0, exited: false };
    node.core = this.boot(node);
    this.nodes.push(node);
  }

  private boot(node: Node): PbftCore<SimState> {
    const d = node.disk;
    // The epoch the disk is in: after the last block that ended one, as a replica derives it on restart.
    const end = [...d.blocks].reverse().find((b) => b.header.nextMembershipHash !== null);
    const epoch = end ? end.header.epoch + 1n : 0n;
    const membership = this.plan.memberships[Number(epoch)] as Membership;
    const keyring = this.refusingAfterRemoval(node, this.plan.keys.get(node.id) ?? new Map<string, Signer>());
    const own = membership.replicas.find((r) => r.id === node.id);
    const restore: CoreRestore<SimState> = {
      committedHeader: d.blocks.at(-1)?.header,
      committedState: d.states.at(-1) ?? genesisState(nodeBackend),
      ...(end
        ? {
            epochStart: { seq: end.header.height, hash: headerHash(nodeBackend, end.header) },
            previousMembership: this.plan.memberships[Number(epoch) - 1] as Membership,
            ...(d.linkKept ? {} : { pendingLink: { lastHeader: end.header, oldCommitView: end.certificate.commitView, oldSignatures: end.certificate.signatures, nextMembership: membership } }),
          }
        : {}),
      ...(d.stable ? { stableCheckpoint: d.stable } : {}),
      view: d.view,
      ...(d.newView ? { newView: d.newView } : {}),
      votes: d.votes,
      prepared: d.prepared,
      nowMs: this.now,
    };
    return new PbftCore<SimState>(
      {
        config: simConfig(node.id),
        membership,
        backend: nodeBackend,
        signer: own ? keyring.get(bytesToHex(own.publicKey)) : undefined,
        signerFor: (publicKey) => keyring.get(bytesToHex(publicKey)),
        executor: this.executor,
        validateRequest: (r, epoch) => this.validateRequest(r, epoch),
        ...(node.honest && this.opts.unsafeThresholds ? { unsafeThresholds: this.opts.unsafeThresholds } : {}),
      },
      restore,
    );
  }

  /**
   * The replica's keys behind a guard that refuses to sign once the replica knows it was
   * removed, as the replica's double-sign guard does: a signature attempt then throws, and the
   * run fails as crashed.
   */
  private refusingAfterRemoval(node: Node, keyring: Map<string, Signer>): Map<string, Signer> {
    const guarded = new Map<string, Signer>();
    for (const [hex, inner] of keyring) {
      guarded.set(hex, {
        publicKey: inner.publicKey,
        sign: (message) => {
          if (node.honest && node.disk.removedAt !== undefined) throw new Error(`${node.id} was removed at epoch ${node.disk.removedAt}: its signer refuses`);
          return inner.sign(message);
        },
      });
    }
    return guarded;
  }

  /** Signed for an epoch requestSigningEpochs admits, as a replica admits requests (sim client ids are names, so the key comes from the map). */
  private validateRequest(r: ClientRequest, epoch: bigint): boolean {
    const key = this.clientKeys.get(r.clientId);
    if (key === undefined) return false;
    return requestSigningEpochs(epoch).some((e) => verifyInDomain(nodeBackend, key, { kind: 'client-request', chainId: CHAIN, epoch: e }, requestSigningMessage(r), r.signature));
  }

  private push(e: DistributiveOmit<Event, 'order'>): void {
    const event = { ...e, order: this.order++ } as Event;
    // Binary insertion keeps (at, order) order: ties resolve by insertion, deterministically.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.queue[mid] as Event;
      if (m.at < event.at || (m.at === event.at && m.order < event.order)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, event);
  }

  private count(kind: string): void {
    this.result.faults[kind] = (this.result.faults[kind] ?? 0) + 1;
  }

  run(): SimResult {
    for (const node of this.nodes) this.push({ at: this.rng.int(0, 9), kind: 'tick', instance: node.instance });
    if (this.opts.byzantine === 'twins') this.count('twins');
    if (TRACE) console.log(`byzantine: ${this.nodes.filter((x) => !x.honest).map((x) => x.instance).join(', ') || 'none'}`);
    for (let c = 0; c < this.clientSigners.length; c++) this.push({ at: this.rng.int(50, 500), kind: 'client', client: c });
    (this.opts.epochSteps ?? []).forEach((_step, i) => {
      const at = this.opts.epochChangeAtMs?.[i] ?? 1_000 + i * 2_500;
      this.timer(at, () => this.adminStep(BigInt(i + 1)));
    });
    this.scheduleFaults();
    while (this.queue.length > 0) {
      const e = this.queue.shift() as Event;
      if (e.at > this.durationMs) break;
      this.now = e.at;
      this.dispatch(e);
    }
    this.checkLiveness();
    return this.result;
  }

  private scheduleFaults(): void {
    if (this.opts.partitions) {
      for (let t = this.rng.int(500, 2000); t < this.healAtMs; t += this.rng.int(1500, 4000)) {
        const at = t;
        const size = this.rng.int(1, Math.floor((this.n - 1) / 2) + 1);
        const cut = new Set<string>();
        while (cut.size < size) cut.add(`r${this.rng.int(1, this.n)}`);
        const end = Math.min(this.healAtMs, at + this.rng.int(300, 2000));
        this.timer(at, () => {
          this.partition = cut;
          this.count('partition');
        });
        this.timer(end, () => (this.partition = undefined));
      }
      this.timer(this.healAtMs, () => (this.partition = undefined));
    }
    if (this.opts.byzantine === 'twins') {
      // A compromised replica that forgets: its twin reboots with an empty disk, votes and all.
      for (let t = this.rng.int(1000, 3000); t < this.healAtMs; t += this.rng.int(1500, 3000)) {
        this.timer(t, () => {
          const twin = this.nodes.find((x) => x.instance.endsWith('-twin'));
          if (!twin) return;
          twin.disk = { blocks: [], states: [], view: 0n, votes: [], prepared: [] };
          twin.core = this.boot(twin);
          this.count('twin-amnesia');
        });
      }
    }
    if (this.opts.crashes) {
      const honest = this.nodes.filter((x) => x.honest);
      for (let k = 0; k < 2; k++) {
        const victim = this.rng.pick(honest);
        const at = this.rng.int(500, this.healAtMs - 1500);
        const downMs = this.rng.int(200, 1500);
        this.timer(at, () => this.crash(victim, at + downMs));
      }
    }
  }

  /** Timers ride on client events with a negative client index. */
  private readonly timers = new Map<number, () => void>();
  private timer(at: number, fn: () => void): void {
    const id = -(this.timers.size + 1);
    this.timers.set(id, fn);
    this.push({ at, kind: 'client', client: id });
  }

  private crash(node: Node, restartAt: number): void {
    if (node.core === undefined) return;
    if (TRACE) console.log(`${String(this.now).padStart(6)} ${node.instance.padEnd(8)} CRASH until ${restartAt}`);
    this.count('crash');
    node.core = undefined;
    node.downUntilMs = restartAt;
    this.timer(restartAt, () => {
      node.core = this.boot(node);
      this.count('restart');
    });
  }

  private dispatch(e: Event): void {
    switch (e.kind) {
      case 'tick': {
        const node = this.instance(e.instance);
        if (TRACE && this.now % 500 < 10 && node.core) console.log(`${String(this.now).padStart(6)} ${node.instance.padEnd(8)} ${JSON.stringify(node.core.diagnostics)}`);
        if (node.core) this.apply(node, node.core.handle({ type: 'tick', nowMs: this.now }));
        this.push({ at: this.now + 10, kind: 'tick', instance: e.instance });
        return;
      }
      case 'client':
        if (e.client < 0) return (this.timers.get(e.client) as () => void)();
        return this.clientStep(e.client);
      case 'deliver': {
        const twins = this.nodes.filter((x) => x.id === e.to).length > 1;
        for (const node of this.nodes) {
          if (node.id !== e.to || !node.core) continue;
          // Twins share an identity but not an inbox: each hears a different part of the traffic, so they diverge.
          if (twins && this.advRng.chance(0.35)) continue;
          if (node.seen.length < 200) node.seen.push(e.message);
          this.apply(node, node.core.handle({ type: 'message', message: e.message }));
        }
        return;
      }
      case 'blocks': {
        const node = this.instance(e.instance);
        if (node.core) this.apply(node, node.core.handle({ type: 'blocks', blocks: e.blocks }));
        return;
      }
    }
  }

  private instance(instance: string): Node {
    return this.nodes.find((x) => x.instance === instance) as Node;
  }

  private clientStep(c: number): void {
    const clientId = `c${c}`;
    const requestId = this.clientNext[c] as bigint;
    const key = `${clientId}/${requestId}`;
    if (this.committedRequests.has(key)) {
      this.clientNext[c] = requestId + 1n;
      if (requestId >= BigInt(this.opts.requestsPerClient ?? 10)) return;
      return this.push({ at: this.now + this.rng.int(20, 300), kind: 'client', client: c });
    }
    if (!this.submitted.has(key)) {
      if (this.now > this.healAtMs) return; // liveness is judged on requests submitted before the heal
      this.submitted.set(key, { at: this.now });
      this.result.requestsSubmitted++;
    }
    const unsigned = { clientId, requestId, payload: new TextEncoder().encode(`set ${clientId}=${requestId}`) };
    this.sendRequest(this.clientSigners[c] as Signer, unsigned);
    this.push({ at: this.now + 500, kind: 'client', client: c });
  }

  /** The admin client asks for epoch `epoch`, retransmitting until it commits (its request id is the epoch). */
  private adminStep(epoch: bigint): void {
    const key = `cadmin/${epoch}`;
    if (this.committedRequests.has(key)) return;
    // One request at a time, as a client does: a higher id would supersede the pending one (exactly once).
    if (epoch > 1n && !this.committedRequests.has(`cadmin/${epoch - 1n}`)) {
      this.timer(this.now + 500, () => this.adminStep(epoch));
      return;
    }
    if (!this.submitted.has(key)) {
      this.submitted.set(key, { at: this.now });
      this.result.requestsSubmitted++;
    }
    this.sendRequest(this.adminSigner, { clientId: 'cadmin', requestId: epoch, payload: new TextEncoder().encode(`epoch:${epoch}`) });
    this.timer(this.now + 500, () => this.adminStep(epoch));
  }

  /** Clients sign for the newest epoch they know of (an SDK walks the chain to learn it). */
  private sendRequest(signer: Signer, unsigned: Omit<ClientRequest, 'signature'>): void {
    const signature = signInDomain(signer, { kind: 'client-request', chainId: CHAIN, epoch: this.latestEpoch }, requestSigningMessage(unsigned));
    const request: ClientRequest = { ...unsigned, signature };
    // Clients send to every replica (PBFT 4.1 retransmission); replicas dedupe.
    for (const node of this.nodes) if (node.core) this.apply(node, node.core.handle({ type: 'request', request }));
  }

  private apply(node: Node, effects: Effect[]): void {
    if (TRACE) this.trace(node, effects);
    for (const effect of effects) {
      switch (effect.type) {
        case 'broadcast':
          this.sendFrom(node, effect.message, this.peersOf(node));
          break;
        case 'send':
          this.sendFrom(node, effect.message, [effect.to]);
          break;
        case 'persist-view':
          node.disk.view = effect.view;
          if (effect.newView) node.disk.newView = effect.newView;
          else delete node.disk.newView;
          break;
        case 'view-entered':
          this.result.viewChanges += node.honest ? 1 : 0;
          break;
        case 'persist-vote':
          node.disk.votes.push(effect.vote);
          break;
        case 'persist-prepared':
          node.disk.prepared.push(effect.certificate);
          break;
        case 'stable-checkpoint':
          node.disk.stable = effect.checkpoint;
          // What the checkpoint covers is settled: the disk may forget it, as a replica's log would.
          node.disk.prepared = node.disk.prepared.filter((c) => c.prePrepare.seq > effect.checkpoint.seq);
          node.disk.votes = node.disk.votes.filter((v) => v.seq > effect.checkpoint.seq);
          break;
        case 'commit':
          this.onCommit(node, effect.block);
          break;
        case 'fetch-blocks':
          this.serveBlocks(node, effect.fromSeq);
          break;
        case 'evidence':
          this.result.evidence++;
          if (node.honest && this.nodes.some((x) => x.id === effect.evidence.replicaId && x.honest)) {
            this.result.safetyViolations.push(`honest ${node.id} framed honest ${effect.evidence.replicaId}`);
          }
          break;
        case 'rejected':
          this.result.rejected[effect.reason] = (this.result.rejected[effect.reason] ?? 0) + 1;
          break;
        case 'epoch-entered':
          if (effect.membership.epoch > this.latestEpoch) this.latestEpoch = effect.membership.epoch;
          node.disk.linkKept = false;
          if (effect.removed) this.onRemoved(node, effect.membership);
          if (node.honest && !equalBytes(membershipHash(nodeBackend, effect.membership), membershipHash(nodeBackend, this.plan.memberships[Number(effect.membership.epoch)] as Membership))) {
            this.result.safetyViolations.push(`${node.id} entered epoch ${effect.membership.epoch} with a membership nobody approved`);
          }
          break;
        case 'epoch-link': {
          node.disk.linkKept = true;
          if (!node.honest) break;
          // A client pinned to the previous epoch must be able to walk this link.
          const from = this.plan.memberships[Number(effect.link.nextMembership.epoch) - 1] as Membership;
          const walked = verifyEpochChain(nodeBackend, from, [effect.link]);
          if (walked.ok) this.result.epochLinks++;
          else this.result.safetyViolations.push(`${node.id} kept an epoch link into ${effect.link.nextMembership.epoch} that does not verify (${walked.reason})`);
          break;
        }
        case 'reply':
        case 'view-change-started':
        case 'verified':
          break;
      }
    }
    if (node.honest && node.disk.removedAt !== undefined && (this.opts.onRemoval ?? 'mirror') === 'exit' && !node.exited) {
      node.exited = true;
      node.core = undefined;
      this.count('removed-exit');
      return;
    }
    if (node.core && node.honest) {
      const fp = Object.values(node.core.footprint).reduce((a, b) => a + b, 0);
      if (fp > this.result.maxFootprint) this.result.maxFootprint = fp;
    }
  }

  /**
   * The core committed the certified block that ended an epoch listing this replica, into one that
   * does not. It must be a removal the plan made (the certificate and re-execution were checked
   * by the core; this checks the core's conclusion), and from here on the replica signs nothing.
   */
  private onRemoved(node: Node, membership: Membership): void {
    const epoch = membership.epoch;
    const before = this.plan.memberships[Number(epoch) - 1];
    const planned = before?.replicas.some((r) => r.id === node.id) === true && !(this.plan.memberships[Number(epoch)] as Membership).replicas.some((r) => r.id === node.id);
    if (!node.honest) return;
    if (!planned) this.result.safetyViolations.push(`${node.id} took itself for removed at epoch ${epoch}, which the plan does not remove it in`);
    if (node.disk.removedAt !== undefined) return;
    node.disk.removedAt = epoch;
    this.result.removed.push(`${node.id} removed at epoch ${epoch} (${this.opts.onRemoval ?? 'mirror'})`);
    this.count('removed');
  }

  private trace(node: Node, effects: Effect[]): void {
    for (const e of effects) {
      const what =
        e.type === 'view-change-started' ? `view-change -> ${e.view} (${e.reason})`
        : e.type === 'view-entered' ? `entered view ${e.view}`
        : e.type === 'commit' ? `commit ${e.block.header.height} (${e.block.batch.map((r) => `${r.clientId}/${r.requestId}`).join(' ')}) epoch ${e.block.header.epoch} next ${e.block.header.nextMembershipHash !== null}`
        : e.type === 'fetch-blocks' ? `fetch from ${e.fromSeq}`
        : e.type === 'rejected' ? `rejected ${e.reason} from ${e.from}`
        : e.type === 'broadcast' && (e.message.type === 'new-view' || e.message.type === 'view-change') ? `send ${e.message.type} ${e.message.type === 'new-view' ? e.message.view : e.message.newView}`
        : undefined;
      if (what) console.log(`${String(this.now).padStart(6)} ${node.instance.padEnd(8)} ${what}`);
    }
  }

  private onCommit(node: Node, block: CommittedBlock): void {
    const seq = block.header.height;
    const disk = node.disk;
    const state = this.executor.apply(disk.states.at(-1) ?? genesisState(nodeBackend), { seq, batch: block.batch, timestampMs: block.header.timestampMs }).state;
    disk.blocks.push(block);
    disk.states.push(state);
    if (!node.honest) return;
    // Every commit is backed by a valid quorum certificate of its epoch's membership over exactly this header.
    const prev = disk.blocks.at(-2)?.header;
    const expectedEpoch = prev === undefined ? 0n : prev.nextMembershipHash !== null ? prev.epoch + 1n : prev.epoch;
    if (block.header.epoch !== expectedEpoch) this.result.safetyViolations.push(`${node.id} committed seq ${seq} in epoch ${block.header.epoch}, expected ${expectedEpoch}`);
    const epochMembership = this.plan.memberships[Number(block.header.epoch)] ?? this.membership;
    const cert = verifyCertificate(nodeBackend, epochMembership, block.certificate);
    if (block.header.nextMembershipHash !== null) {
      const next = this.plan.memberships[Number(block.header.epoch) + 1];
      if (next === undefined || !equalBytes(block.header.nextMembershipHash, membershipHash(nodeBackend, next))) this.result.safetyViolations.push(`${node.id} committed seq ${seq} ending the epoch into an unplanned membership`);
    }
    if (!cert.ok) this.result.safetyViolations.push(`${node.id} committed seq ${seq} without a valid certificate (${cert.reason})`);
    if (!equalBytes(state.stateRoot, block.header.stateRoot)) this.result.safetyViolations.push(`${node.id} seq ${seq} state root differs from re-execution`);
    const hash = bytesToHex(cert.ok ? cert.headerHash : block.header.prevHash);
    const first = this.committedAt.get(seq);
    if (first === undefined) {
      this.committedAt.set(seq, { hash, by: node.id });
      this.result.committedBlocks++;
    } else if (first.hash !== hash) {
      this.result.safetyViolations.push(`seq ${seq}: ${first.by} committed ${first.hash.slice(0, 12)} but ${node.id} committed ${hash.slice(0, 12)}`);
    }
    if (disk.blocks.length !== Number(seq)) this.result.safetyViolations.push(`${node.id} committed seq ${seq} out of order`);
    for (const r of block.batch) {
      const key = `${r.clientId}/${r.requestId}`;
      if (!this.committedRequests.has(key)) {
        this.committedRequests.add(key);
        if (this.submitted.has(key)) this.result.requestsCommitted++;
      }
    }
  }

  private serveBlocks(node: Node, fromSeq: bigint): void {
    if (this.opts.refuseTransferTo?.includes(node.id)) return this.count('transfer-refused');
    const peers = this.nodes.filter((x) => x.id !== node.id && x.core);
    if (peers.length === 0) return;
    const peer = this.netRng.pick(peers);
    const start = Number(fromSeq) - 1;
    let blocks = peer.disk.blocks.slice(start, start + 64);
    if (!peer.honest && blocks.length > 0 && this.advRng.chance(0.5)) {
      // A Byzantine peer serves a tampered block: the certificate check must catch it.
      const b = blocks[0] as CommittedBlock;
      blocks = [{ ...b, header: { ...b.header, stateRoot: this.advRng.bytes(32) } }, ...blocks.slice(1)];
      this.count('tampered-transfer');
    }
    this.push({ at: this.now + this.netRng.int(5, 60), kind: 'blocks', instance: node.instance, blocks });
  }

  /** The key a node votes with now (its newest after a rotation): what a Byzantine strategy signs with. */
  private currentKey(node: Node): Signer {
    const own = node.core?.currentMembership.replicas.find((r) => r.id === node.id);
    return (own && this.plan.keys.get(node.id)?.get(bytesToHex(own.publicKey))) ?? (this.signers.get(node.id) as Signer);
  }

  /** The other members of the sender's current epoch. */
  private peersOf(node: Node): string[] {
    const m = node.core?.currentMembership ?? this.membership;
    return m.replicas.map((r) => r.id).filter((id) => id !== node.id);
  }

  private sendFrom(node: Node, message: PeerMessage, targets: string[]): void {
    if (node.honest && node.disk.removedAt !== undefined) this.result.safetyViolations.push(`${node.id}, removed at epoch ${node.disk.removedAt}, sent a signed ${message.type} of epoch ${message.epoch}`);
    let deliveries: Delivery[] = targets.map((to) => ({ to, message }));
    if (node.strategy) {
      deliveries = applyStrategy(node.strategy, { self: node.id, peers: this.peersOf(node), signer: this.currentKey(node), signing: this.signing, rng: this.advRng, seen: node.seen }, message, targets);
    }
    if (this.opts.viewChangeAtEpochEnd && !this.epochEndTriggered && node.honest && message.type === 'pre-prepare' && message.header.nextMembershipHash !== null && message.header.view === message.view) {
      // The primary dies right after proposing the last block of the epoch, and that block's commits are lost for a while.
      this.epochEndTriggered = true;
      this.dropCommits = { seq: message.seq, untilMs: this.now + 1_500 };
      this.timer(this.now, () => this.crash(node, this.now + 2_000));
      this.count('epoch-end-primary-crash');
    }
    for (const d of deliveries) this.transmit(node.id, d.to, d.message, d.extraDelayMs ?? 0);
    if (this.opts.retiredKeyVoter) this.voteWithRetiredKey(node, message, targets);
  }

  /** Whoever holds a rotated-out key signs conflicting commits with it in the new epoch: they must count for nothing. */
  private voteWithRetiredKey(node: Node, message: PeerMessage, targets: string[]): void {
    if (message.type !== 'commit' && message.type !== 'prepare') return;
    const retired = this.plan.retired.find((r) => r.id === node.id && message.epoch >= r.epoch);
    if (!retired) return;
    const forged = signMessage<Commit>(this.signing, retired.signer, { type: 'commit', epoch: message.epoch, from: node.id, view: message.view, seq: message.seq, headerHash: this.advRng.bytes(32) });
    this.count('retired-key-vote');
    for (const to of targets) this.transmit(node.id, to, forged, this.advRng.int(0, 20));
  }

  private transmit(from: string, to: string, message: PeerMessage, extraDelayMs: number): void {
    if (this.dropCommits && this.now < this.dropCommits.untilMs && message.type === 'commit' && message.seq === this.dropCommits.seq) return this.count('epoch-end-commit-drop');
    const faulty = this.now < this.healAtMs;
    if (faulty && this.partition && this.partition.has(from) !== this.partition.has(to)) return this.count('partition-drop');
    if (faulty && this.netRng.chance(this.opts.dropRate ?? 0)) return this.count('drop');
    const delayMax = faulty ? (this.opts.delayMaxMs ?? 30) : 30;
    const copies = faulty && this.netRng.chance(this.opts.duplicateRate ?? 0) ? 2 : 1;
    if (copies === 2) this.count('duplicate');
    for (let i = 0; i < copies; i++) this.push({ at: this.now + 1 + this.netRng.int(0, delayMax) + extraDelayMs, kind: 'deliver', to, message });
  }

  private checkLiveness(): void {
    for (const [key] of this.submitted) {
      if (!this.committedRequests.has(key)) this.result.livenessFailures.push(`request ${key} never committed`);
    }
    // After the heal every honest replica must have caught up with the highest commit.
    const highest = this.committedAt.size === 0 ? 0n : [...this.committedAt.keys()].reduce((a, b) => (a > b ? a : b));
    // A replica that verified its own removal and stopped is done; every other honest replica,
    // removed ones that stay as followers included, must have caught up.
    for (const node of this.nodes) {
      if (!node.honest || node.exited || !node.core) continue;
      if (node.core.committedSeq + 8n < highest) this.result.livenessFailures.push(`${node.id} stuck at ${node.core.committedSeq}, cluster at ${highest}`);
    }
    if (this.committedAt.size === 0) this.result.livenessFailures.push('nothing committed');
    // Every planned membership change took effect everywhere, including on replicas that joined or left.
    const finalEpoch = BigInt(this.plan.memberships.length - 1);
    const reached = this.nodes.filter((x) => x.honest && x.core).map((x) => (x.core as PbftCore<SimState>).currentEpoch);
    this.result.epoch = Number(reached.reduce((a, b) => (a < b ? a : b), finalEpoch));
    for (const node of this.nodes) {
      if (node.honest && !node.exited && node.core && node.core.currentEpoch !== finalEpoch) this.result.livenessFailures.push(`${node.id} in epoch ${node.core.currentEpoch}, expected ${finalEpoch}`);
    }
  }
}
