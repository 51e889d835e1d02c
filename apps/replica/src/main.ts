// The replica process: `tsx apps/replica/src/main.ts --config <file>`.
// Loads and validates the config and genesis, opens the keystore and the
// SQLite store, recovers from disk, and serves HTTP until SIGINT/SIGTERM.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadTlsMaterial } from './config';
import { loadGenesis, loadGenesisRegistry } from './genesis';
import { createListener, createServer } from './http/server';
import { openConfiguredKey } from './keystore';
import { ReplicaNode } from './replica-node';
import { ReplicaStore } from './storage/replica-store';

function log(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...line }) + '\n');
}

function main(): void {
  const i = process.argv.indexOf('--config');
  const configPath = i >= 0 ? process.argv[i + 1] : undefined;
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
  const store = new ReplicaStore(join(config.dataDir, 'replica.sqlite'));
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
    // https:// peers (peer links and state transfer) are verified against tls.ca, or the system roots.
    peerTls: tls?.ca === undefined ? {} : { ca: tls.ca },
  });
  const server = createListener(createServer(node), tls).listen(config.port, config.host, () => {
    log({ replica: config.replicaId, event: 'listening', url: `${scheme}://${config.host}:${config.port}`, height: String(node.status.committed) });
    node.start();
  });
  // Peers connect over WebSocket on the same port, with the same TLS (docs/peer-transport.md).
  node.attach(server);
  const shutdown = (signal: string) => {
    log({ replica: config.replicaId, event: 'stopping', signal });
    node.stop();
    server.close(() => {
      store.close();
      try {
        closeKeyStore();
      } catch (error) {
        log({ replica: config.replicaId, event: 'keystore-close-failed', error: error instanceof Error ? error.message : String(error) });
      }
      process.exit(0);
    });
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Started by a launcher with an IPC channel (ops/local-cluster.ts): stop when it goes away.
  if (process.send) process.on('disconnect', () => shutdown('launcher-exit'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

try {
  main();
} catch (error) {
  log({ event: 'fatal', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
}
