// The host around the pure PBFT core: it owns the clock (a tick timer), the
// disk (ReplicaStore), the key (a keystore handle) and the network (peer
// HTTP), and applies the core's effects in their documented order: persist,
// then send; commit durably, then reply.

import { bytesToHex, hashLeaf, type Membership, MerkleLog, verifyInDomain, tryHexToBytes } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import {
  type ClientReply,
  type ClientRequest,
  type CommittedBlock,
  type CoreRestore,
  defaultCoreConfig,
  type Effect,
  PbftCore,
  type PeerMessage,
  type PreparedCertificate,
  requestSigningMessage,
  type VoteRecord,
} from '@vcr/consensus';
import { createGuardedSigner, type JournalEntry, type KeyHandle, SignerRefusal } from './keystore';
import { genesisRegistryState, keyChangesOfBlock, leafForRequest, leafRequestKey, leafResult, type RegistryState, registryExecutor } from './registry';
import { auditRowOf, evidenceRowOf } from './audit-record';
import type { RegistryPolicy } from '@vcr/registry';
import { type ReplicaStore } from './storage/replica-store';
import { clientRequestToJson, committedBlockToJson, parseClientRequestJson, parseCommittedBlockJson, parsePeerMessageJson, peerMessageToJson } from './wire';
import type { Server } from 'node:http';
import { BlockFetcher } from './block-fetcher';
import { VerifiedRequests } from './verified-requests';
import { PeerTransport, type PeerTlsOptions } from './transport';
import { Metrics } from './metrics';

export interface Receipt {
  block: CommittedBlock;
  reply: ClientReply;
  logIndex: bigint;
  leafData: Uint8Array;
  inclusionProof: Uint8Array[];
}

interface Waiter {
  resolve: (receipt: Receipt) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ReplicaNodeOptions {
  membership: Membership;
  replicaId: string;
  key: KeyHandle;
  store: ReplicaStore;
  tickMs: number;
  /** The genesis registry policy (docs/registry.md); default: open root, no registry admins. */
  registryPolicy?: RegistryPolicy;
  log?: (line: Record<string, unknown>) => void;
  /** Called when the replica must stop (the double-sign guard refused); the process should exit. */
  onFatal?: (error: Error) => void;
  /** How https:// peers are verified, for the peer links and state transfer (config `tls.ca`); default: the system roots. */
  peerTls?: PeerTlsOptions;
}

const RECEIPT_TIMEOUT_MS = 10_000;
const AUDIT_FLUSH_MS = 1_000;
/** Client requests waiting for their receipt at this replica; past this, 429 with a retry hint. */
const WAITING_REQUESTS_MAX = 4_096;
const WAITING_PER_CLIENT_MAX = 8;
const WAITING_PER_REQUEST_MAX = 4;

/** Client ids are the hex of the client's Ed25519 public key, so a request authenticates itself. */
export function clientPublicKey(clientId: string): Uint8Array | undefined {
  const key = /^[0-9a-f]{64}$/.test(clientId) ? tryHexToBytes(clientId) : undefined;
  return key;
}

export class ReplicaNode {
  readonly metrics = new Metrics();
  private readonly core: PbftCore<RegistryState>;
  private readonly peers: PeerTransport;
  private readonly fetcher: BlockFetcher;
  private readonly log: MerkleLog;
  private readonly executor: ReturnType<typeof registryExecutor>;
  private readonly waiters = new Map<string, Waiter[]>();
  private waitingCount = 0;
  private readonly waitingClients = new Map<string, number>();
  private readonly receipts = new Map<string, { height: bigint; logIndex: bigint }>();
  private latest: CommittedBlock | undefined;
  private timer: NodeJS.Timeout | undefined;
  private auditTimer: NodeJS.Timeout | undefined;
  /** Sends and replies held until the current group transaction is durable (see dispatch). */
  private outbox: (() => void)[] = [];
  private flushScheduled = false;
  private stopped = false;
  /** Called after each durable commit (long-polling watchers). */
  private readonly commitListeners = new Set<() => void>();
  private fatal: Error | undefined;
  private readonly emitLog: (line: Record<string, unknown>) => void;

  constructor(private readonly opts: ReplicaNodeOptions) {
    const { membership, replicaId, key, store } = opts;
    this.emitLog = opts.log ?? (() => undefined);
    this.executor = registryExecutor(nodeBackend, opts.registryPolicy);
    if (!membership.replicas.some((r) => r.id === replicaId && bytesToHex(r.publicKey) === bytesToHex(key.publicKey))) {
      throw new Error(`key ${key.label} is not replica ${replicaId}'s key in the genesis membership`);
    }
    // DESIGN section 6: every signature goes through the double-sign guard, journaled in this replica's store.
    const signer = createGuardedSigner(key, store, { chainId: membership.chainId, backend: nodeBackend });
    this.peers = new PeerTransport({
      selfId: replicaId,
      chainId: membership.chainId,
      epoch: membership.epoch,
      replicas: membership.replicas,
      signer,
      backend: nodeBackend,
      metrics: this.metrics,
      onFrame: (from, frame) => (frame.kind === 'message' ? this.onPeerMessage(from, frame.payload) : this.onRelayedRequest(frame.payload)),
      log: this.emitLog,
      tls: opts.peerTls,
    });
    this.fetcher = new BlockFetcher(membership.replicas.filter((r) => r.id !== replicaId), this.metrics, opts.peerTls);
    this.log = new MerkleLog(nodeBackend);
    const restore = this.recover();
    this.core = new PbftCore<RegistryState>(
      {
        config: { ...defaultCoreConfig, chainId: membership.chainId, replicaId },
        membership,
        backend: nodeBackend,
        signer,
        executor: this.executor,
        validateRequest: (r) => this.validateRequest(r),
      },
      restore,
    );
  }

  /** Rebuilds state from this replica's own disk: blocks re-executed in order must reproduce their certified roots. */
  private recover(): CoreRestore<RegistryState> {
    const store = this.opts.store;
    let state = genesisRegistryState(nodeBackend);
    let last: CommittedBlock | undefined;
    for (let from = 1n; ; ) {
      const page = store.loadBlocks(from, 256);
      if (page.length === 0) break;
      for (const json of page) {
        const parsed = parseCommittedBlockJson(JSON.parse(json));
        if (!parsed.ok) throw new Error(`stored block at ${from} does not parse: ${parsed.issues.join('; ')}`);
        const block = parsed.value;
        const exec = this.executor.apply(state, { seq: block.header.height, batch: block.batch, timestampMs: block.header.timestampMs });
        if (bytesToHex(exec.stateRoot) !== bytesToHex(block.header.stateRoot)) throw new Error(`stored block ${block.header.height} does not re-execute to its state root`);
        state = exec.state;
        last = block;
        from = block.header.height + 1n;
      }
    }
    for (const leaf of store.iterateLeaves()) {
      this.log.appendLeafHash(hashLeaf(nodeBackend, leaf.data));
      this.indexLeaf(leaf.data, leaf.height, leaf.index);
    }
    this.rebuildKeyIndex(last?.header.height ?? 0n);
    this.latest = last;
    const viewText = store.getMeta('view');
    const nvText = store.getMeta('newView');
    const nv = nvText ? parsePeerMessageJson(JSON.parse(nvText)) : undefined;
    const stableText = store.getMeta('stable');
    const stable = stableText ? parseStable(stableText) : undefined;
    const committedSeq = last?.header.height ?? 0n;
    return {
      committedHeader: last?.header,
      committedState: state,
      ...(stable ? { stableCheckpoint: stable } : {}),
      // The guard journals a vote before the core's own records are written: a crash in between must
      // not leave the core unaware of a vote (it would try to sign a conflicting one and be refused forever).
      view: maxBig(viewText ? BigInt(viewText) : 0n, store.highestVote()?.view ?? 0n),
      ...(nv?.ok && nv.value.type === 'new-view' ? { newView: nv.value } : {}),
      votes: [...store.loadVotes(committedSeq), ...store.journalVotes(committedSeq)].map((v) => ({ phase: v.phase as VoteRecord['phase'], view: v.view, seq: v.seq, headerHash: v.hash })),
      prepared: store
        .loadPrepared(committedSeq)
        .map((j) => parsePeerMessageJson(JSON.parse(j)))
        .flatMap((p) => (p.ok && p.value.type === 'view-change' ? p.value.prepared : [])),
      nowMs: Date.now(),
    };
  }

  /** A store written before the key index existed: index its blocks from their stored leaves. */
  private rebuildKeyIndex(lastHeight: bigint): void {
    const store = this.opts.store;
    for (let h = store.keyIndexHeight() + 1n; h <= lastHeight; h++) {
      store.indexStoredBlock(h, keyChangesOfBlock(this.loadCommittedBlock(h), store.leavesOfBlock(h)));
    }
  }

  /** Accepts peer connections on the replica's HTTP server (WebSocket upgrade at /v1/peer/ws). */
  attach(server: Server): void {
    this.peers.attach(server);
  }

  start(): void {
    this.peers.start();
    this.timer = setInterval(() => this.dispatch({ type: 'tick', nowMs: Date.now() }), this.opts.tickMs);
    // Audit rows ride with blocks; when no block commits (a view change), they are written on this timer.
    this.auditTimer = setInterval(() => this.opts.store.audit.flush(), AUDIT_FLUSH_MS);
  }

  stop(): void {
    // What this turn wrote is kept (a signature journaled but never sent is harmless); nothing more is sent.
    this.outbox = [];
    this.stopped = true;
    this.opts.store.commitGroup();
    if (this.timer) clearInterval(this.timer);
    if (this.auditTimer) clearInterval(this.auditTimer);
    void this.peers.close();
    for (const listener of this.commitListeners) listener();
    this.commitListeners.clear();
    for (const list of this.waiters.values()) for (const w of list) w.reject(new Error('replica stopping'));
    this.waiters.clear();
    this.waitingClients.clear();
    this.waitingCount = 0;
  }

  get status(): { replicaId: string; status: string; view: number; committed: number } & Record<string, string | number> {
    const d = this.core.diagnostics;
    return { ...d, replicaId: this.opts.replicaId, status: String(d.status), view: Number(d.view), committed: Number(d.committed) };
  }

  latestBlock(): CommittedBlock | undefined {
    return this.latest;
  }

  committedState(): RegistryState {
    return this.core.committedState;
  }

  blocksFrom(height: bigint, limit: number): string[] {
    return this.opts.store.loadBlocks(height, limit);
  }

  block(height: bigint): string | undefined {
    return this.opts.store.loadBlock(height);
  }

  get store(): ReplicaStore {
    return this.opts.store;
  }

  /** Resolves at the next durable commit or after `ms`, whichever is first (long-polling reads). */
  nextCommit(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.commitListeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.commitListeners.add(done);
    });
  }

  /** The double-sign guard's journal from `fromIndex`, at most `limit` entries (GET /v1/audit/signatures). */
  signatureJournal(fromIndex: bigint, limit: number): JournalEntry[] {
    return this.opts.store.list(fromIndex, limit);
  }

  inclusionProof(index: bigint, size: bigint): Uint8Array[] {
    return this.log.inclusionProof(index, size);
  }

  consistencyProof(size1: bigint, size2: bigint): Uint8Array[] {
    return this.log.consistencyProof(size1, size2);
  }

  get logSize(): bigint {
    return this.log.size;
  }

  /** Peers with an authenticated outbound connection now. */
  connectedPeers(): string[] {
    return this.peers.connectedPeers();
  }

  /**
   * A peer message from the authenticated connection of `from`. Cheap checks first (shape, and that
   * it speaks for the peer that sent it); the core then checks the signature.
   */
  private onPeerMessage(from: string, untrusted: unknown): void {
    const parsed = parsePeerMessageJson(untrusted);
    if (!parsed.ok) return this.metrics.rejected('malformed');
    // The core only ever sends messages it signed itself (a NEW-VIEW is re-sent by its own primary).
    if (parsed.value.from !== from) return this.metrics.rejected('sender-mismatch');
    this.dispatch({ type: 'message', message: parsed.value });
  }

  /** Submits a client request and resolves with its receipt once committed. */
  submit(request: ClientRequest): Promise<Receipt> {
    const key = `${request.clientId}/${request.requestId}`;
    const known = this.receipts.get(key);
    if (known) return Promise.resolve(this.receiptFor(key, known));
    // Admission control before any signature work: bounded waiting clients, in total and per client.
    if (this.waitingCount >= WAITING_REQUESTS_MAX || (this.waiters.get(key)?.length ?? 0) >= WAITING_PER_REQUEST_MAX || this.waitingClients.get(request.clientId) === WAITING_PER_CLIENT_MAX) {
      this.metrics.rejected('overloaded');
      return Promise.reject(new Error('overloaded'));
    }
    // Cheap to refuse here with a clear error; the core checks again before ordering it.
    if (!this.validateRequest(request)) return Promise.reject(new Error('bad-signature'));
    return new Promise<Receipt>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.dropWaiter(key, waiter);
        reject(new Error('not committed in time'));
      }, RECEIPT_TIMEOUT_MS);
      const waiter: Waiter = { resolve, reject, timer };
      const list = this.waiters.get(key) ?? [];
      list.push(waiter);
      this.waiters.set(key, list);
      this.countWaiting(request.clientId, +1);
      this.dispatch({ type: 'request', request });
      // PBFT 4.1: the request must reach the primary; relaying it to every peer also lets
      // backups time out a primary that ignores it.
      this.peers.relayRequest(clientRequestToJson(request));
    });
  }

  /** A client request relayed by a peer: untrusted, checked like any other. */
  private onRelayedRequest(untrusted: unknown): void {
    const parsed = parseClientRequestJson(untrusted);
    if (!parsed.ok) return this.metrics.rejected('malformed-request');
    this.dispatch({ type: 'request', request: parsed.value });
  }

  private countWaiting(clientId: string, delta: number): void {
    this.waitingCount += delta;
    const n = (this.waitingClients.get(clientId) ?? 0) + delta;
    if (n > 0) this.waitingClients.set(clientId, n);
    else this.waitingClients.delete(clientId);
  }

  private dropWaiter(key: string, waiter: Waiter): void {
    this.countWaiting(key.slice(0, key.indexOf('/')), -1);
    const list = (this.waiters.get(key) ?? []).filter((w) => w !== waiter);
    if (list.length === 0) this.waiters.delete(key);
    else this.waiters.set(key, list);
  }

  private readonly verifiedRequests = new VerifiedRequests((r) => {
    const key = clientPublicKey(r.clientId);
    if (key === undefined) return false;
    return verifyInDomain(nodeBackend, key, { kind: 'client-request', chainId: this.opts.membership.chainId, epoch: this.opts.membership.epoch }, requestSigningMessage(r), r.signature);
  });

  private validateRequest(r: ClientRequest): boolean {
    return this.verifiedRequests.check(r);
  }

  /**
   * Group commit: every event handled in one turn of the event loop shares one
   * SQLite transaction (the signer journal, votes, prepared certificates,
   * blocks). Network sends and client replies wait in the outbox until that
   * transaction is durable, so "persist, then send" and "commit, then reply"
   * hold with one fsync per turn instead of one per write.
   */
  private dispatch(event: Parameters<PbftCore<RegistryState>['handle']>[0]): void {
    if (this.fatal || this.stopped) return;
    this.opts.store.beginGroup();
    this.scheduleFlush();
    let effects: Effect[];
    try {
      effects = this.core.handle(event);
    } catch (error) {
      // The guard refused to sign: the core is mid-step and must not go on. Stop, never equivocate.
      if (error instanceof SignerRefusal) {
        this.fatal = error;
        this.outbox = [];
        this.stop();
        this.emitLog({ event: 'fatal', error: error.message });
        (this.opts.onFatal ?? ((e: Error) => { throw e; }))(error);
        return;
      }
      throw error;
    }
    for (const effect of effects) this.apply(effect);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Makes the turn's writes durable, then lets its messages and replies out. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped) return;
    this.opts.store.commitGroup();
    const out = this.outbox;
    this.outbox = [];
    for (const release of out) release();
  }

  private apply(effect: Effect): void {
    const store = this.opts.store;
    switch (effect.type) {
      case 'persist-view':
        store.setMeta('view', effect.view.toString());
        if (effect.newView) store.setMeta('newView', JSON.stringify(peerMessageToJson(effect.newView)));
        else store.deleteMeta('newView');
        return;
      case 'persist-vote':
        store.saveVote({ phase: effect.vote.phase, view: effect.vote.view, seq: effect.vote.seq, hash: effect.vote.headerHash });
        return;
      case 'persist-prepared':
        store.savePrepared(effect.certificate.prePrepare.seq, effect.certificate.prePrepare.view, JSON.stringify(peerMessageToJson(preparedCarrier(effect.certificate))));
        return;
      case 'stable-checkpoint':
        store.setMeta('stable', JSON.stringify({ seq: effect.checkpoint.seq.toString(), headerHash: bytesToHex(effect.checkpoint.headerHash), proof: effect.checkpoint.proof.map(peerMessageToJson) }));
        store.pruneAtOrBelow(effect.checkpoint.seq);
        return;
      case 'commit':
        this.onCommit(effect.block, effect.replies);
        return;
      case 'reply':
        return;
      case 'broadcast': {
        this.recordOwn(effect.message);
        const json = peerMessageToJson(effect.message);
        this.outbox.push(() => this.peers.broadcast(json));
        return;
      }
      case 'send': {
        this.recordOwn(effect.message);
        const json = peerMessageToJson(effect.message);
        const to = effect.to;
        this.outbox.push(() => this.peers.send(to, json));
        return;
      }
      case 'verified':
        store.audit.recordMessage(auditRowOf(effect.message, Date.now()));
        return;
      case 'fetch-blocks':
        void this.fetchBlocks(effect.fromSeq);
        return;
      case 'evidence':
        store.audit.recordEvidence(evidenceRowOf(effect.evidence, Date.now()));
        this.metrics.evidence();
        this.emitLog({ event: 'equivocation', replica: effect.evidence.replicaId, seq: effect.evidence.seq.toString(), phase: effect.evidence.phase });
        return;
      case 'view-change-started':
        this.metrics.viewChange();
        this.emitLog({ event: 'view-change', view: effect.view.toString(), reason: effect.reason });
        return;
      case 'view-entered':
        this.emitLog({ event: 'view-entered', view: effect.view.toString() });
        return;
      case 'rejected':
        this.metrics.rejected(effect.reason);
        return;
    }
  }

  /** What this replica itself signed and sent joins the audit record too (retransmissions collapse into one row). */
  private recordOwn(message: PeerMessage): void {
    if (message.from === this.opts.replicaId) this.opts.store.audit.recordMessage(auditRowOf(message, Date.now()));
  }

  private onCommit(block: CommittedBlock, replies: readonly ClientReply[]): void {
    const height = block.header.height;
    const byRequest = new Map(block.batch.map((r) => [`${r.clientId}/${r.requestId}`, r]));
    const leaves = replies.map((reply) => {
      const request = byRequest.get(`${reply.clientId}/${reply.requestId}`) as ClientRequest;
      return leafForRequest(nodeBackend, { seq: height, request, result: reply.result });
    });
    // Durable first: the block, its certificate, its leaves and its key changes in one transaction.
    const firstIndex = this.log.size;
    const changes = keyChangesOfBlock(block, leaves.map((data, i) => ({ index: firstIndex + BigInt(i), data })));
    this.opts.store.saveBlock(height, JSON.stringify(committedBlockToJson(block)), leaves, changes);
    leaves.forEach((leaf, i) => {
      this.log.appendLeafHash(hashLeaf(nodeBackend, leaf));
      this.indexLeaf(leaf, height, firstIndex + BigInt(i));
    });
    this.latest = block;
    this.metrics.committed(block.batch.length);
    this.outbox.push(() => {
      for (const listener of [...this.commitListeners]) listener();
    });
    for (const reply of replies) {
      const key = `${reply.clientId}/${reply.requestId}`;
      const known = this.receipts.get(key);
      const list = this.waiters.get(key);
      if (!known || !list) continue;
      this.waiters.delete(key);
      const receipt = this.receiptFor(key, known, block);
      for (const w of list) {
        clearTimeout(w.timer);
        this.countWaiting(reply.clientId, -1);
        this.outbox.push(() => w.resolve(receipt));
      }
    }
  }

  private indexLeaf(leaf: Uint8Array, height: bigint, logIndex: bigint): void {
    const key = leafRequestKey(leaf);
    if (key) this.receipts.set(key, { height, logIndex });
  }

  private receiptFor(key: string, at: { height: bigint; logIndex: bigint }, committed?: CommittedBlock): Receipt {
    const block = committed ?? this.loadCommittedBlock(at.height);
    const leafData = this.leafAt(at.logIndex);
    const [clientId, requestId] = key.split('/') as [string, string];
    return {
      block,
      reply: { clientId, requestId: BigInt(requestId), result: leafResult(leafData) },
      logIndex: at.logIndex,
      leafData,
      inclusionProof: this.log.inclusionProof(at.logIndex, block.header.logSize),
    };
  }

  /** A block from our own store; it was verified before it was stored, so a failure here is corruption. */
  loadCommittedBlock(height: bigint): CommittedBlock {
    const json = this.opts.store.loadBlock(height);
    const parsed = json ? parseCommittedBlockJson(JSON.parse(json)) : undefined;
    if (!parsed?.ok) throw new Error(`stored block ${height} missing or unreadable`);
    return parsed.value;
  }

  private leafAt(index: bigint): Uint8Array {
    const leaf = this.opts.store.loadLeaf(index);
    if (!leaf) throw new Error(`leaf ${index} missing`);
    return leaf;
  }

  private async fetchBlocks(fromSeq: bigint): Promise<void> {
    const answer = await this.fetcher.fetchBlocks(fromSeq);
    if (answer === undefined) return;
    const blocks: CommittedBlock[] = [];
    for (const item of answer) {
      const parsed = parseCommittedBlockJson(item);
      if (!parsed.ok) {
        this.metrics.rejected('malformed-block');
        return;
      }
      blocks.push(parsed.value);
    }
    this.dispatch({ type: 'blocks', blocks });
  }
}

/** Prepared certificates are stored inside a VIEW-CHANGE-shaped carrier so one codec serves both. */
function preparedCarrier(certificate: PreparedCertificate): PeerMessage {
  return { type: 'view-change', epoch: certificate.prePrepare.epoch, from: certificate.prePrepare.from, newView: certificate.prePrepare.view + 1n, checkpoint: { seq: 0n, headerHash: new Uint8Array(32), proof: [] }, prepared: [certificate], signature: new Uint8Array(64) };
}

function parseStable(text: string) {
  const raw = JSON.parse(text) as { seq: string; headerHash: string; proof: unknown[] };
  const proof = raw.proof.map((p) => parsePeerMessageJson(p)).flatMap((p) => (p.ok && p.value.type === 'checkpoint' ? [p.value] : []));
  const headerHash = tryHexToBytes(raw.headerHash);
  if (!headerHash) return undefined;
  return { seq: BigInt(raw.seq), headerHash, proof };
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
