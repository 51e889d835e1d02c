// One replica process, from its config file: loads and validates the config
// and genesis, opens the keystore and the SQLite store, recovers from disk,
// and serves HTTP until SIGINT/SIGTERM. main.ts runs it as is; the fault
// suite's Byzantine replica (test/faults/byzantine-replica.ts) runs it with a
// strategy added through `extend`.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadTlsMaterial } from './config';
import { loadGenesis, loadGenesisRegistry } from './genesis';
import { createListener } from './http/server';
import { type KeyHandle, openConfiguredKey } from './keystore';
import { ReplicaNode, type ReplicaNodeOptions } from './replica-node';
import type { Membership } from '@vcr/proofs';
import { ReplicaStore } from './storage/replica-store';
import { log, startOrExit, stopOnSignals } from './process-lifecycle';

/** What a test harness may add to the node's options (main.ts adds nothing). */
export type ReplicaExtension = (ctx: { replicaId: string; membership: Membership; key: KeyHandle }) => Partial<ReplicaNodeOptions>;

export function runReplicaProcess(argv: readonly string[], extend?: ReplicaExtension): void {
  const i = argv.indexOf('--config');
  const configPath = i >= 0 ? argv[i + 1] : undefined;
  if (!configPath) throw new ConfigError('usage: main.ts --config <replica config file>');
  const config = loadConfig(configPath);
  const membership = loadGenesis(config.genesisFile);
  const registryPolicy = loadGenesisRegistry(config.genesisFile);
  const tls = config.tls === undefined ? undefined : loadTlsMaterial(config.tls, configPath);
  const scheme = tls === undefined ? 'http' : 'https';
  // Peers dial the genesis address: a scheme other than what this replica serves works only behind a proxy that translates.
  const ownAddress = membership.replicas.find((r) => r.id === config.replicaId)?.address;
  if (ownAddress !== undefined && !ownAddress.startsWith(`${scheme}:`)) {
    log({ replica: config.replicaId, event: 'tls-address-mismatch', serving: scheme, genesisAddress: ownAddress, note: 'peers dial the genesis address; without a proxy in between they will not connect' });
  }
  // The key is the configured backend's handle: for PKCS#11 it signs on the token, and this process never holds the private key.
  const { key, keyFor, close: closeKeyStore } = openConfiguredKey(config.keystore, process.env);
  log({ replica: config.replicaId, event: 'keystore-opened', kind: config.keystore.kind, label: key.label });
  mkdirSync(config.dataDir, { recursive: true });
  // A failed fdatasync leaves the page cache in doubt: nothing that waited on it may go out, so stop.
  const store = new ReplicaStore(join(config.dataDir, 'replica.sqlite'), (error) => {
    log({ replica: config.replicaId, event: 'fatal', error: `${error.message}: ${String(error.cause)}` });
    process.exit(74);
  });
  // Config onRemoval 'exit': once this replica's removal is durable, stop with status 0 (docs/replica.md, "Removal").
  let exitOnRemoval: ((epoch: bigint) => void) | undefined;
  const node = new ReplicaNode({
    membership,
    replicaId: config.replicaId,
    key,
    keyFor,
    store,
    tickMs: config.tickMs,
    registryPolicy,
    log: (l) => log({ replica: config.replicaId, ...l }),
    // The double-sign guard refused: exit at once; the journal and the store hold what it knew.
    onFatal: () => process.exit(70),
    onRemoved: (epoch) => exitOnRemoval?.(epoch),
    // https:// peers (peer links and state transfer) are verified against tls.ca, or the system roots.
    peerTls: tls?.ca === undefined ? {} : { ca: tls.ca },
    ...extend?.({ replicaId: config.replicaId, membership, key }),
  });
  // One node per process: the process and Node.js metrics (CPU, memory, event loop, GC) describe it.
  node.metrics.collectProcessMetrics();
  const server = createListener(node, tls).listen(config.port, config.host, () => {
    log({ replica: config.replicaId, event: 'listening', url: `${scheme}://${config.host}:${config.port}`, height: String(node.status.committed) });
    node.start();
  });
  // Peers connect over WebSocket on the same port, with the same TLS (docs/peer-transport.md).
  node.attach(server);
  const shutdown = stopOnSignals(config.replicaId, node, server, () => {
    store.close();
    try {
      closeKeyStore();
    } catch (error) {
      log({ replica: config.replicaId, event: 'keystore-close-failed', error: error instanceof Error ? error.message : String(error) });
    }
  });
  if (config.onRemoval === 'exit') {
    exitOnRemoval = (epoch) => {
      log({ replica: config.replicaId, event: 'exiting', reason: 'removed', epoch: epoch.toString(), note: 'onRemoval is exit: this replica was removed from the membership and stops; set onRemoval to mirror to keep serving verified reads' });
      shutdown('removed');
    };
  }
}

/** Runs the process, or logs why it cannot start and exits 1. */
export function runOrExit(argv: readonly string[], extend?: ReplicaExtension): void {
  startOrExit(() => runReplicaProcess(argv, extend));
}
