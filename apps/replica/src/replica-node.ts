// The host around the pure PBFT core: it owns the clock (a tick timer), the
// disk (ReplicaStore), the key (a keystore handle) and the network (peer
// HTTP), and applies the core's effects in their documented order: persist,
// then send; commit durably, then reply.

import {
  assert,
  bytesToHex,
  epochLinkToJson,
  EpochWalk,
  equalBytes,
  headerHash,
  hashLeaf,
  type Membership,
  membershipHash,
  membershipToJson,
  MerkleLog,
  parseMembershipJson,
  runEpochWalk,
  type Signer,
  TrustedEpochs,
  tryHexToBytes,
  verifyOrderedClientRequest,
} from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import {
  type ClientReply,
  type ClientRequest,
  type CommittedBlock,
  type CoreRestore,
  defaultCoreConfig,
  type Effect,
  type ExecutedLeaf,
  PbftCore,
  type PeerMessage,
  type PreparedCertificate,
  type VoteRecord,
} from '@vcr/consensus';
import { createGuardedSigner, type JournalEntry, type KeyHandle, SignerRefusal } from './keystore';
import { genesisRegistryState, keyChangesOfBlock, keyChangesOfExecuted, lastExecutedRequestId, decodeLeaf, leafResult, type RegistryState, registryExecutor } from './registry';
import { conflictWith, orderedRequest, requestIdRefusal } from './request-intake';
import { auditRowOf, evidenceRowOf } from './audit-record';
import type { RegistryPolicy } from '@vcr/registry';
import { type ReplicaStore } from './storage/replica-store';
import { clientRequestToJson, committedBlockToJson, parseClientRequestJson, parseCommittedBlockJson, parsePeerMessageJson, peerMessageToJson } from './wire';
import type { Server } from 'node:http';
import { BlockFetcher, type UpstreamState } from './block-fetcher';
import { VerifiedRequests } from './verified-requests';
import { RequestRelay } from './request-relay';
import { PeerTransport, type PeerTlsOptions } from './transport';
import { Metrics } from './metrics';
import { PhaseTimer } from './phase-timer';
import { recordRemoval, reportRecordedRemoval } from './removal';
import { ReceiptIndex, receiptIndexLimits } from './receipt-index';
import { type EpochStart, type LoadedSnapshot, loadVerifiedSnapshot, type SnapshotSchedule, SnapshotWriter } from './state-snapshot';

export interface Receipt {
  block: CommittedBlock;
  reply: ClientReply;
  logIndex: bigint;
  leafData: Uint8Array;
  inclusionProof: Uint8Array[];
}

interface Waiter {
  /** The request as this client sent it: a receipt for another operation under its id is refused (request-intake.ts). */
  request: ClientRequest;
  resolve: (receipt: Receipt) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ReplicaNodeOptions {
  /** The genesis membership (epoch 0); later epochs are replayed from the replica's own blocks. */
  membership: Membership;
  replicaId: string;
  /** The configured key: this replica's key in the current membership, or (a replica that has not joined yet) the key it will join with. Absent only for a mirror. */
  key?: KeyHandle;
  /** A read-only mirror (docs/mirror.md): no key, never signs, follows these upstream URLs by state transfer and refuses writes. */
  mirror?: { upstream: readonly string[] };
  /**
   * Another key of this keystore by public key (key rotation: the new key is generated in the
   * keystore before the change is approved, and found here when the epoch that names it starts).
   */
  keyFor?: (publicKey: Uint8Array) => KeyHandle | undefined;
  store: ReplicaStore;
  tickMs: number;
  /** The genesis registry policy (docs/registry.md); default: open root, no registry admins. */
  registryPolicy?: RegistryPolicy;
  log?: (line: Record<string, unknown>) => void;
  /** Called when the replica must stop (the double-sign guard refused); the process should exit. */
  onFatal?: (error: Error) => void;
  /** Called once the removal of this replica is durable (at start, if recorded before): config `onRemoval` 'exit' stops the process (removal.ts). */
  onRemoved?: (epoch: bigint) => void;
  /** When to write a state snapshot (default: snapshotLimits); tests snapshot after every block. */
  snapshotEvery?: SnapshotSchedule;
  /** How https:// peers are verified, for the peer links and state transfer (config `tls.ca`); default: the system roots. */
  peerTls?: PeerTlsOptions;
  /**
   * Fault injection for the fault suite's Byzantine replica process (test/faults/byzantine-replica.ts)
   * and nothing else: the replica's entry point (main.ts) never sets it.
   */
  faultInjection?: OutboundFaults;
}

/** A Byzantine strategy's hold on a replica's peer traffic (test-only; see ReplicaNodeOptions.faultInjection). */
export interface OutboundFaults {
  /** What to send in place of `message` (addressed to `targets`): to whom, what, and how much later. */
  outbound(message: PeerMessage, targets: readonly string[]): { to: string; message: PeerMessage; extraDelayMs?: number }[];
  /** Each well-formed inbound peer message (replay attacks draw from these). */
  inbound?(message: PeerMessage): void;
  /** Drop client requests forwarded by peers (a primary that censors what reaches it through backups). */
  ignoreForwardedRequests?: boolean;
}

const RECEIPT_TIMEOUT_MS = 10_000;
const AUDIT_FLUSH_MS = 1_000;
/** Client requests waiting for their receipt at this replica; past this, 429 with a retry hint. */
const WAITING_REQUESTS_MAX = 4_096;
const WAITING_PER_CLIENT_MAX = 8;
const WAITING_PER_REQUEST_MAX = 4;

/** Client ids are the hex of the client's Ed25519 public key, so a request authenticates itself (the rule lives in @vcr/proofs). */
export { clientPublicKey } from '@vcr/proofs';

export class ReplicaNode {
  readonly metrics = new Metrics();
  private readonly phases = new PhaseTimer(this.metrics);
  private readonly core: PbftCore<RegistryState>;
  /** Links to the current membership's other replicas; none while this replica has no vote (it follows by state transfer). */
  private peers: PeerTransport | undefined;
  private server: Server | undefined;
  private started = false;
  private readonly signers = new Map<string, Signer>();
  private readonly fetcher: BlockFetcher;
  private readonly log: MerkleLog;
  private readonly executor: ReturnType<typeof registryExecutor>;
  private readonly waiters = new Map<string, Waiter[]>();
  private waitingCount = 0;
  private readonly waitingClients = new Map<string, number>();
  /** Where recent receipts, and each client's last, are on disk (bounded: receipt-index.ts). */
  private readonly receipts = new ReceiptIndex();
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
  /** Writes state snapshots (none for a store in memory). */
  private snapshots: SnapshotWriter | undefined;
  /** Where the current epoch began (undefined in the genesis epoch): a snapshot records it. */
  private epochStart: EpochStart | undefined;
  /** The membership of the epoch the committed state is in. */
  private epochMembership: Membership;

  constructor(private readonly opts: ReplicaNodeOptions) {
    const { membership: genesis, replicaId, key } = opts;
    if ((key === undefined) !== (opts.mirror !== undefined)) throw new Error(opts.mirror ? 'a read-only mirror has no key' : `replica ${replicaId} needs a key (only a mirror runs without one)`);
    this.emitLog = opts.log ?? (() => undefined);
    this.executor = registryExecutor(nodeBackend, opts.registryPolicy);
    this.log = new MerkleLog(nodeBackend);
    this.epochMembership = genesis;
    const restore = this.recover();
    const current = restore.membership;
    const own = current.replicas.find((r) => r.id === replicaId);
    const signer = own === undefined ? undefined : this.signerFor(own.publicKey);
    if (own !== undefined && signer === undefined) {
      throw new Error(`key ${key?.label} is not replica ${replicaId}'s key in epoch ${current.epoch}, and the keystore has no key ${bytesToHex(own.publicKey)}`);
    }
    if (own === undefined) this.emitLog({ event: 'not-a-member', epoch: current.epoch.toString(), note: 'following the chain by state transfer until an epoch lists this replica' });
    if (opts.mirror !== undefined) this.emitLog({ event: 'mirror', upstream: opts.mirror.upstream, note: 'read-only: follows upstream by state transfer, verifying every block; never signs' });
    this.fetcher = new BlockFetcher(current.replicas.filter((r) => r.id !== replicaId), this.metrics, opts.peerTls, opts.mirror?.upstream);
    this.peers = signer === undefined ? undefined : this.createTransport(current, signer);
    this.core = new PbftCore<RegistryState>(
      {
        config: { ...defaultCoreConfig, chainId: genesis.chainId, replicaId },
        membership: current,
        backend: nodeBackend,
        signer,
        signerFor: (publicKey) => this.signerFor(publicKey),
        executor: this.executor,
        validateRequest: (r, epoch) => this.validateRequest(r, epoch),
      },
      restore.core,
    );
  }

  /**
   * The guarded signer for one of this replica's keys (DESIGN section 6: every signature goes
   * through the double-sign guard, journaled in this replica's store), or undefined when the
   * keystore has no such key.
   */
  private signerFor(publicKey: Uint8Array): Signer | undefined {
    const hex = bytesToHex(publicKey);
    const known = this.signers.get(hex);
    if (known !== undefined) return known;
    // A mirror's id in a membership would make it a voter; it has no key and must never sign (docs/mirror.md).
    if (this.opts.mirror !== undefined) throw new Error(`read-only mirror ${this.opts.replicaId} is listed as a replica in the membership: a mirror never signs; give it an id no replica has`);
    const handle = this.opts.key !== undefined && equalBytes(this.opts.key.publicKey, publicKey) ? this.opts.key : this.opts.keyFor?.(publicKey);
    if (handle === undefined || !equalBytes(handle.publicKey, publicKey)) return undefined;
    const signer = createGuardedSigner(handle, this.opts.store, { chainId: this.opts.membership.chainId, backend: nodeBackend });
    this.signers.set(hex, signer);
    this.emitLog({ event: 'key-opened', label: handle.label, publicKey: hex });
    return signer;
  }

  private createTransport(m: Membership, signer: Signer): PeerTransport {
    return new PeerTransport({
      selfId: this.opts.replicaId,
      chainId: m.chainId,
      epoch: m.epoch,
      replicas: m.replicas,
      signer,
      backend: nodeBackend,
      metrics: this.metrics,
      onFrame: (from, frame) => (frame.kind === 'message' ? this.onPeerMessage(from, frame.payload) : this.onRelayedRequest(frame.payload)),
      log: this.emitLog,
      tls: this.opts.peerTls,
    });
  }

  /**
   * A new epoch: links to the new membership (handshakes are in the new epoch's domain, with this
   * replica's key of that epoch), state transfer from its replicas. What the old links still
   * carry (this turn's last votes of the old epoch) goes out before they close.
   */
  private enterEpoch(m: Membership, member: boolean): void {
    const old = this.peers;
    if (old !== undefined) {
      old.detach();
      setTimeout(() => void old.close(), 2_000).unref();
    }
    this.fetcher.setPeers(m.replicas.filter((r) => r.id !== this.opts.replicaId));
    const own = m.replicas.find((r) => r.id === this.opts.replicaId);
    const signer = member && own !== undefined ? this.signerFor(own.publicKey) : undefined;
    this.peers = signer === undefined ? undefined : this.createTransport(m, signer);
    if (this.peers !== undefined) {
      if (this.server !== undefined) this.peers.attach(this.server);
      if (this.started) this.peers.start();
    }
    this.emitLog({ event: 'epoch-entered', epoch: m.epoch.toString(), member, replicas: m.replicas.map((r) => r.id), f: m.f });
  }

  private syncingLinks = false;
  private lastLinkSyncMs = 0;

  /**
   * Epochs whose link this replica does not hold (it had no vote when they started, so no
   * EPOCH-ACCEPT reached it): fetched from peers, and kept only if the link verifies from the
   * previous epoch's membership and names the membership this replica's own blocks made.
   */
  private async syncEpochLinks(): Promise<void> {
    if (this.syncingLinks || this.stopped) return;
    this.syncingLinks = true;
    try {
      let previous = this.opts.membership;
      for (const row of this.opts.store.listEpochs(0n, 4_096)) {
        const parsedMembership = parseMembershipJson(JSON.parse(row.membership));
        if (!parsedMembership.ok) return;
        if (row.link === null) {
          const link = await this.fetchVerifiedLink(previous, parsedMembership.value);
          if (link === undefined) return;
          this.opts.store.saveEpochLink(row.epoch, link);
          this.emitLog({ event: 'epoch-link-fetched', epoch: row.epoch.toString() });
        }
        previous = parsedMembership.value;
      }
    } finally {
      this.syncingLinks = false;
    }
  }

  private async fetchVerifiedLink(previous: Membership, next: Membership): Promise<string | undefined> {
    for (const fetchPage of this.fetcher.epochsPageSources()) {
      // The proofs' EpochWalk, one link long: the link into `next`'s epoch, verified from `previous`.
      const walk = new EpochWalk(nodeBackend, TrustedEpochs.pin(previous), { target: next.epoch, linksMax: 1, pageLinks: 1 });
      const outcome = await runEpochWalk(walk, fetchPage);
      const link = walk.chain.linkInto(next.epoch);
      if (outcome.ok && link !== undefined && equalBytes(membershipHash(nodeBackend, link.nextMembership), membershipHash(nodeBackend, next))) return JSON.stringify(epochLinkToJson(link));
      if (outcome.ok || outcome.reason === 'link-refused' || outcome.reason === 'conflicting-link') this.metrics.rejected('bad-epoch-link');
    }
    return undefined;
  }

  /** Complete epoch links from `afterEpoch + 1` on, in order, stopping at the first epoch whose link is not complete yet. */
  epochLinks(afterEpoch: bigint, limit: number): { links: string[]; current: bigint } {
    const links: string[] = [];
    let expected = afterEpoch + 1n;
    for (const row of this.opts.store.listEpochs(afterEpoch, limit)) {
      if (row.epoch !== expected || row.link === null) break;
      links.push(row.link);
      expected++;
    }
    return { links, current: this.core.currentEpoch };
  }

  get currentMembership(): Membership {
    return this.core.currentMembership;
  }

  /**
   * This replica's key of the current epoch as a C2SP cosigner (docs/witness.md), or undefined
   * when it has no vote. It signs "cosignature/v1\n..." messages only: their first byte ("c") is
   * never the first byte of a vcr/v1 domain-separated message (a tag length, 13..26), so nothing
   * it signs can count as a vote, and the double-sign guard, which parses only those, is not asked.
   */
  cosigner(): { epoch: bigint; replicaId: string; publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array } | undefined {
    const m = this.core.currentMembership;
    const own = m.replicas.find((r) => r.id === this.opts.replicaId);
    if (own === undefined) return undefined;
    const handle = this.opts.key !== undefined && equalBytes(this.opts.key.publicKey, own.publicKey) ? this.opts.key : this.opts.keyFor?.(own.publicKey);
    if (handle === undefined || !equalBytes(handle.publicKey, own.publicKey)) return undefined;
    const prefix = new TextEncoder().encode('cosignature/v1\n');
    const sign = (message: Uint8Array): Uint8Array => {
      if (message.length <= prefix.length || !equalBytes(message.subarray(0, prefix.length), prefix)) throw new Error('the cosigner signs cosignature/v1 messages only');
      return handle.sign(message);
    };
    return { epoch: m.epoch, replicaId: own.id, publicKey: own.publicKey.slice(), sign };
  }

  /**
   * Rebuilds state from this replica's own disk: the newest snapshot, if it reproduces the roots
   * of the certified header it belongs to (state-snapshot.ts), then the blocks after it,
   * re-executed in order, each of which must reproduce its certified roots.
   */
  private recover(): { core: CoreRestore<RegistryState>; membership: Membership } {
    const store = this.opts.store;
    const snapshot = this.loadSnapshot();
    let state = snapshot?.state ?? genesisRegistryState(nodeBackend, this.opts.membership);
    let last: CommittedBlock | undefined = snapshot?.block;
    // The last block that ended an epoch, and the membership before it: the current epoch's start.
    let epochEnd: EpochStart | undefined = snapshot?.epochStart;
    let replayed = 0;
    for (let from = (last?.header.height ?? 0n) + 1n; ; ) {
      const page = store.loadBlocks(from, 256);
      if (page.length === 0) break;
      for (const json of page) {
        const parsed = parseCommittedBlockJson(JSON.parse(json));
        if (!parsed.ok) throw new Error(`stored block at ${from} does not parse: ${parsed.issues.join('; ')}`);
        const block = parsed.value;
        const exec = this.executor.apply(state, { seq: block.header.height, batch: block.batch, timestampMs: block.header.timestampMs });
        if (bytesToHex(exec.stateRoot) !== bytesToHex(block.header.stateRoot)) throw new Error(`stored block ${block.header.height} does not re-execute to its state root`);
        if ((exec.nextMembership === undefined) !== (block.header.nextMembershipHash === null)) throw new Error(`stored block ${block.header.height} does not re-execute to its epoch boundary`);
        if (exec.nextMembership !== undefined) epochEnd = { block, previous: state.membership };
        state = exec.state;
        last = block;
        replayed++;
        from = block.header.height + 1n;
      }
    }
    this.epochStart = epochEnd;
    this.epochMembership = state.membership;
    this.emitLog({ event: 'recovered', height: (last?.header.height ?? 0n).toString(), fromSnapshot: snapshot === undefined ? null : snapshot.block.header.height.toString(), snapshotEntries: snapshot?.entries ?? 0, blocksReplayed: replayed });
    // Every leaf's hash is needed for proofs; only the recent ones are decoded for receipts.
    const indexFrom = (last?.header.logSize ?? 0n) - BigInt(receiptIndexLimits.reindexedAtStartMax);
    for (const leaf of store.iterateLeaves()) {
      this.log.appendLeafHash(hashLeaf(nodeBackend, leaf.data));
      if (leaf.index >= indexFrom) this.indexLeaf(leaf.data, leaf.height, leaf.index);
    }
    // The entry log serves every inclusion proof: it must be the log the last certified header names.
    const certifiedLog = last === undefined ? { size: 0n, root: this.log.root() } : { size: last.header.logSize, root: last.header.logRoot };
    if (this.log.size !== certifiedLog.size || !equalBytes(this.log.root(), certifiedLog.root)) {
      throw new Error(`the stored log leaves (${this.log.size}) do not give the log root of the last certified header (size ${certifiedLog.size}): the store is damaged`);
    }
    this.rebuildKeyIndex(last?.header.height ?? 0n);
    this.latest = last;
    const viewText = store.getMeta('view');
    const nvText = store.getMeta('newView');
    const nv = nvText ? parsePeerMessageJson(JSON.parse(nvText)) : undefined;
    const stableText = store.getMeta('stable');
    const stable = stableText ? parseStable(stableText) : undefined;
    const committedSeq = last?.header.height ?? 0n;
    const membership = state.membership;
    const epochRow = store.listEpochs(membership.epoch - 1n, 1)[0];
    const linkKept = epochRow !== undefined && epochRow.epoch === membership.epoch && epochRow.link !== null;
    const highest = store.highestVote();
    const epochFields =
      epochEnd === undefined
        ? {}
        : {
            epochStart: { seq: epochEnd.block.header.height, hash: headerHash(nodeBackend, epochEnd.block.header) },
            previousMembership: epochEnd.previous,
            ...(linkKept
              ? {}
              : { pendingLink: { lastHeader: epochEnd.block.header, oldCommitView: epochEnd.block.certificate.commitView, oldSignatures: epochEnd.block.certificate.signatures, nextMembership: membership } }),
          };
    const core: CoreRestore<RegistryState> = {
      committedHeader: last?.header,
      committedState: state,
      ...epochFields,
      ...(stable ? { stableCheckpoint: stable } : {}),
      // The guard journals a vote before the core's own records are written: a crash in between must
      // not leave the core unaware of a vote (it would try to sign a conflicting one and be refused forever).
      // Views start again at 0 in each epoch: only this epoch's votes count here.
      view: maxBig(viewText ? BigInt(viewText) : 0n, highest !== undefined && highest.epoch === membership.epoch ? highest.view : 0n),
      ...(nv?.ok && nv.value.type === 'new-view' ? { newView: nv.value } : {}),
      votes: [...store.loadVotes(committedSeq), ...store.journalVotes(committedSeq)].map((v) => ({ phase: v.phase as VoteRecord['phase'], view: v.view, seq: v.seq, headerHash: v.hash })),
      prepared: store
        .loadPrepared(committedSeq)
        .map((j) => parsePeerMessageJson(JSON.parse(j)))
        .flatMap((p) => (p.ok && p.value.type === 'view-change' ? p.value.prepared : [])),
      nowMs: Date.now(),
    };
    return { core, membership };
  }

  /** The newest verified snapshot (none in memory); a snapshot that disagrees with its certified header throws SnapshotRefused. */
  private loadSnapshot(): LoadedSnapshot | undefined {
    const store = this.opts.store;
    const path = store.snapshotPath;
    if (path === undefined) return undefined;
    const loaded = loadVerifiedSnapshot({
      path,
      backend: nodeBackend,
      genesis: this.opts.membership,
      lastHeight: store.lastHeight(),
      loadBlock: (height) => (store.loadBlock(height) === undefined ? undefined : this.loadCommittedBlock(height)),
      log: this.emitLog,
    });
    this.snapshots = new SnapshotWriter(path, nodeBackend, this.emitLog, this.opts.snapshotEvery, loaded === undefined ? undefined : { height: loaded.block.header.height, logSize: loaded.block.header.logSize });
    return loaded;
  }

  /**
   * After a turn's events: a snapshot of the committed state when one is due. It starts from the
   * outbox, so only once the block it belongs to is durable, and is written off the critical path.
   */
  private maybeSnapshot(): void {
    const block = this.latest;
    if (this.snapshots === undefined || block === undefined || !this.snapshots.due(block.header.height, block.header.logSize)) return;
    const state = this.core.committedState;
    // The core's committed state after a turn is that of its last committed block.
    if (!equalBytes(state.map.root, block.header.stateRoot)) return;
    const writer = this.snapshots;
    const epochStart = this.epochStart;
    this.outbox.push(() => writer.write(state, block, epochStart));
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
    this.server = server;
    this.peers?.attach(server);
  }

  start(): void {
    this.started = true;
    const removed = reportRecordedRemoval({ store: this.opts.store, metrics: this.metrics, log: this.emitLog });
    if (removed !== undefined) this.opts.onRemoved?.(removed);
    this.peers?.start();
    this.timer = setInterval(() => {
      this.dispatch({ type: 'tick', nowMs: Date.now() });
      this.relayOverdueRequests(Date.now());
      // Links of epochs this replica entered without a vote come from peers (a few seconds apart; cheap when none is missing).
      if (Date.now() - this.lastLinkSyncMs > 2_000) {
        this.lastLinkSyncMs = Date.now();
        if (this.opts.store.epochsWithoutLink() > 0) void this.syncEpochLinks();
      }
    }, this.opts.tickMs);
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
    void this.peers?.close();
    for (const listener of this.commitListeners) listener();
    this.commitListeners.clear();
    for (const list of this.waiters.values()) for (const w of list) w.reject(new Error('replica stopping'));
    this.waiters.clear();
    this.relay.clear();
    this.waitingClients.clear();
    this.waitingCount = 0;
  }

  get status(): { replicaId: string; status: string; view: number; committed: number } & Record<string, string | number> {
    const d = this.core.diagnostics;
    return { ...d, replicaId: this.opts.replicaId, status: String(d.status), view: Number(d.view), committed: Number(d.committed) };
  }

  /** Segments of the prefix index the genesis policy keeps (docs/merkle-map.md section 8). */
  get prefixIndexDepth(): number {
    return this.opts.registryPolicy?.prefixIndexDepth ?? 0;
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

  /** A mirror's upstream URLs and what each last claimed (GET /healthz); undefined for a replica. */
  get mirrorUpstream(): UpstreamState[] | undefined {
    return this.fetcher.upstreamStates();
  }

  /** Peers with an authenticated outbound connection now. */
  connectedPeers(): string[] {
    return this.peers?.connectedPeers() ?? [];
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
    this.opts.faultInjection?.inbound?.(parsed.value);
    this.dispatch({ type: 'message', message: parsed.value });
  }

  /** Submits a client request and resolves with its receipt once committed. */
  submit(request: ClientRequest): Promise<Receipt> {
    const key = `${request.clientId}/${request.requestId}`;
    const known = this.receipts.get(request.clientId, request.requestId);
    if (known) {
      const receipt = this.receiptFor(key, known);
      const conflict = conflictWith(request, orderedRequest(receipt.block, request.clientId, request.requestId));
      return conflict ? Promise.reject(conflict) : Promise.resolve(receipt);
    }
    // Admission control before any signature work: bounded waiting clients, in total and per client.
    if (this.waitingCount >= WAITING_REQUESTS_MAX || (this.waiters.get(key)?.length ?? 0) >= WAITING_PER_REQUEST_MAX || this.waitingClients.get(request.clientId) === WAITING_PER_CLIENT_MAX) {
      this.metrics.rejected('overloaded');
      return Promise.reject(new Error('overloaded'));
    }
    if (this.opts.mirror !== undefined) return Promise.reject(new Error('read-only-mirror'));
    // A replica without a vote cannot order anything: say so at once rather than time out.
    if (!this.core.isMember) return Promise.reject(new Error('not-a-member'));
    const refused = requestIdRefusal(request, { nowMs: Date.now(), lastExecutedId: lastExecutedRequestId(this.committedState(), request.clientId) });
    if (refused) return Promise.reject(refused);
    // Cheap to refuse here with a clear error; the core checks again before ordering it.
    if (!this.validateRequest(request, this.core.currentEpoch)) return Promise.reject(new Error('bad-signature'));
    return new Promise<Receipt>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.dropWaiter(key, waiter);
        reject(new Error('not committed in time'));
      }, RECEIPT_TIMEOUT_MS);
      const waiter: Waiter = { request, resolve, reject, timer };
      const list = this.waiters.get(key) ?? [];
      list.push(waiter);
      this.waiters.set(key, list);
      this.countWaiting(request.clientId, +1);
      this.dispatch({ type: 'request', request });
      this.forwardRequest(key, request);
    });
  }

  /** Requests taken in here until they commit, and when they go to every peer (request-relay.ts). */
  private readonly relay = new RequestRelay();

  /**
   * PBFT 4.1: the request must reach the primary. A backup forwards it to the primary only (the
   * other backups verify it from the PRE-PREPARE's batch, which spares every replica a relayed
   * copy of every request). RequestRelay says when it goes to every peer.
   */
  private forwardRequest(key: string, request: ClientRequest): void {
    const json = clientRequestToJson(request);
    const primary = this.core.primary;
    if (primary !== this.opts.replicaId && this.peers !== undefined) {
      this.peers.relayRequest(json, primary);
      this.metrics.requestForwarded('primary');
    }
    this.relay.taken(key, request, json, Date.now(), primary);
  }

  private relayOverdueRequests(nowMs: number): void {
    const due = this.relay.due(nowMs, {
      self: this.opts.replicaId,
      primary: this.core.primary,
      isWaiting: (key) => this.waiters.has(key),
      isProposed: (r) => this.core.isProposed(r.clientId, r.requestId),
    });
    if (this.peers === undefined) return;
    for (const json of due) {
      this.peers.relayRequest(json);
      this.metrics.requestForwarded('all');
    }
  }

  /** A client request relayed by a peer: untrusted, checked like any other. */
  private onRelayedRequest(untrusted: unknown): void {
    if (this.opts.faultInjection?.ignoreForwardedRequests === true) return;
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

  /**
   * A client request is signed for an epoch requestSigningEpochs admits (the one it is ordered
   * in, or the one before), the same rule the SDK verifies history and watch by (docs/protocol.md, "Epochs").
   */
  private readonly verifiedRequests = new VerifiedRequests((r, epoch) => verifyOrderedClientRequest(nodeBackend, { chainId: this.opts.membership.chainId, blockEpoch: epoch }, r).ok);

  private validateRequest(r: ClientRequest, epoch: bigint): boolean {
    return this.verifiedRequests.check(r, epoch);
  }

  /**
   * Group commit: every event handled in one turn of the event loop shares one
   * SQLite transaction (the signer journal, votes, prepared certificates,
   * blocks), opened only if the turn writes. Network sends and client replies
   * wait in the outbox until that transaction is durable, so "persist, then
   * send" and "commit, then reply" hold; the fdatasync runs on the thread pool,
   * and turns that commit while one is in flight share the next
   * (storage/group-commit.ts).
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
    this.maybeSnapshot();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits the turn's writes, and lets its messages and replies out once they are durable. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped) return;
    const out = this.outbox;
    this.outbox = [];
    this.opts.store.whenDurable(() => {
      if (this.stopped) return;
      // One write per peer for all of this turn's frames to it.
      const release = () => {
        for (const r of out) r();
      };
      if (this.peers === undefined) release();
      else this.peers.batch(release);
    });
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
        this.onCommit(effect.block, effect.replies, effect.leaves);
        return;
      case 'reply':
        return;
      case 'broadcast': {
        this.recordOwn(effect.message);
        if (this.opts.faultInjection !== undefined) return this.sendFaulty(this.opts.faultInjection, effect.message, undefined);
        const json = peerMessageToJson(effect.message);
        // The links of the epoch the message was made in (an epoch change later in this turn swaps them).
        const peers = this.peers;
        this.outbox.push(() => peers?.broadcast(json));
        return;
      }
      case 'send': {
        this.recordOwn(effect.message);
        if (this.opts.faultInjection !== undefined) return this.sendFaulty(this.opts.faultInjection, effect.message, effect.to);
        const json = peerMessageToJson(effect.message);
        const to = effect.to;
        const peers = this.peers;
        this.outbox.push(() => peers?.send(to, json));
        return;
      }
      case 'epoch-entered':
        this.epochStart = { block: this.latest?.header.height === effect.startSeq ? this.latest : this.loadCommittedBlock(effect.startSeq), previous: this.epochMembership };
        this.epochMembership = effect.membership;
        store.saveEpoch(effect.membership.epoch, effect.startSeq, JSON.stringify(membershipToJson(effect.membership)));
        this.enterEpoch(effect.membership, effect.member);
        if (effect.removed && recordRemoval({ store, metrics: this.metrics, log: this.emitLog }, effect.membership.epoch)) {
          const epoch = effect.membership.epoch;
          // Once the record is durable (the outbox waits for the sync), never before.
          this.outbox.push(() => this.opts.onRemoved?.(epoch));
        }
        return;
      case 'epoch-link':
        store.saveEpochLink(effect.link.nextMembership.epoch, JSON.stringify(epochLinkToJson(effect.link)));
        this.emitLog({ event: 'epoch-link', epoch: effect.link.nextMembership.epoch.toString(), oldSigners: effect.link.oldSignatures.map((x) => x.replicaId), newSigners: effect.link.newSignatures.map((x) => x.replicaId) });
        return;
      case 'verified':
        store.audit.recordMessage(auditRowOf(effect.message, Date.now()));
        this.phases.onMessage(effect.message, false);
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

  /** The Byzantine replica's send path (fault suite only): its strategy decides what goes to whom, and when. */
  private sendFaulty(faults: OutboundFaults, message: PeerMessage, to: string | undefined): void {
    const peers = this.peers;
    if (peers === undefined) return;
    const targets = to !== undefined ? [to] : this.core.currentMembership.replicas.map((r) => r.id).filter((id) => id !== this.opts.replicaId);
    for (const d of faults.outbound(message, targets)) {
      const json = peerMessageToJson(d.message);
      const send = () => peers.send(d.to, json);
      const delay = d.extraDelayMs ?? 0;
      this.outbox.push(delay > 0 ? () => void setTimeout(send, delay).unref() : send);
    }
  }

  /** What this replica itself signed and sent joins the audit record too (retransmissions collapse into one row). */
  private recordOwn(message: PeerMessage): void {
    if (message.from !== this.opts.replicaId) return;
    this.opts.store.audit.recordMessage(auditRowOf(message, Date.now()));
    this.phases.onMessage(message, true);
  }

  /**
   * A committed block: stored durably (with its leaves and key changes) in this turn's group,
   * appended to the log, its waiters answered after the sync. The leaves and their hashes are the
   * ones execution made (ExecutionResult.leaves), not rebuilt.
   */
  private onCommit(block: CommittedBlock, replies: readonly ClientReply[], executedLeaves: readonly ExecutedLeaf[] | undefined): void {
    const height = block.header.height;
    const byRequest = new Map(block.batch.map((r) => [`${r.clientId}/${r.requestId}`, r]));
    const firstIndex = this.log.size;
    // The registry executor always hands over the leaves it made (ExecutionResult.leaves).
    assert(executedLeaves !== undefined && executedLeaves.length === replies.length, 'execution made one leaf per reply');
    const executed = replies.map((reply, i) => {
      const request = byRequest.get(`${reply.clientId}/${reply.requestId}`);
      if (request === undefined) throw new Error(`invariant: block ${height} has a reply for a request not in its batch`);
      return { request, result: reply.result, logIndex: firstIndex + BigInt(i), leaf: executedLeaves[i] as ExecutedLeaf };
    });
    // Durable first: the block, its certificate, its leaves and its key changes in one transaction.
    this.opts.store.saveBlock(
      height,
      JSON.stringify(committedBlockToJson(block)),
      executed.map((e) => e.leaf.data),
      keyChangesOfExecuted(height, executed),
    );
    for (const e of executed) {
      this.log.appendLeafHash(e.leaf.hash);
      this.receipts.set(e.request.clientId, e.request.requestId, { height, logIndex: e.logIndex });
    }
    this.latest = block;
    this.metrics.committed(block.batch.length);
    this.phases.onCommitted(height);
    this.outbox.push(() => {
      for (const listener of [...this.commitListeners]) listener();
    });
    for (const reply of replies) {
      const key = `${reply.clientId}/${reply.requestId}`;
      const known = this.receipts.get(reply.clientId, reply.requestId);
      const list = this.waiters.get(key);
      if (!known || !list) continue;
      this.waiters.delete(key);
      this.relay.committed();
      const receipt = this.receiptFor(key, known, block);
      for (const w of list) {
        clearTimeout(w.timer);
        this.countWaiting(reply.clientId, -1);
        // Two operations sent under one id: only the one that was ordered gets this receipt.
        const conflict = conflictWith(w.request, byRequest.get(key));
        this.outbox.push(() => (conflict ? w.reject(conflict) : w.resolve(receipt)));
      }
    }
  }

  private indexLeaf(leaf: Uint8Array, height: bigint, logIndex: bigint): void {
    const decoded = decodeLeaf(leaf);
    if (decoded) this.receipts.set(decoded.clientId, decoded.requestId, { height, logIndex });
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
