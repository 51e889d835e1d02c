// One read-only mirror process (docs/mirror.md), from a config file with a
// `mirror` section: loads the config and genesis, checks that its id is no
// replica's, opens its SQLite store, recovers from disk (re-executing every
// stored block), then follows its upstream URLs by state transfer and serves
// the read API until SIGINT/SIGTERM. No keystore is opened, no peer link is
// made, every WebSocket upgrade is refused, and writes get read-only-mirror.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkMirrorId, ConfigError, loadCaBundle, loadNodeConfig, loadTlsMaterial } from './config';
import { loadGenesis, loadGenesisRegistry } from './genesis';
import { refusePeerUpgrades } from './http/mirror-routes';
import { createListener } from './http/server';
import { ReplicaNode } from './replica-node';
import { log, startOrExit, stopOnSignals } from './process-lifecycle';
import { ReplicaStore } from './storage/replica-store';

function configPathOf(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--config');
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * Whether the config file named by `--config` has a `mirror` section. Only a
 * peek to choose the process: an unreadable file answers false, and the
 * replica process then reports why it cannot load it.
 */
export function isMirrorConfig(argv: readonly string[]): boolean {
  const path = configPathOf(argv);
  if (path === undefined) return false;
  try {
    const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof raw === 'object' && raw !== null && 'mirror' in raw;
  } catch {
    return false;
  }
}

export function runMirrorProcess(argv: readonly string[]): void {
  const configPath = configPathOf(argv);
  if (!configPath) throw new ConfigError('usage: main.ts --config <mirror config file>');
  const config = loadNodeConfig(configPath);
  if (config.mode !== 'mirror') throw new ConfigError(`invalid config ${configPath}: mirror: missing (this is a replica's config)`);
  const membership = loadGenesis(config.genesisFile);
  checkMirrorId(config, membership, configPath);
  const registryPolicy = loadGenesisRegistry(config.genesisFile);
  const tls = config.tls === undefined ? undefined : loadTlsMaterial(config.tls, configPath);
  const scheme = tls === undefined ? 'http' : 'https';
  const upstream = config.mirror.upstream;
  const upstreamCa = tls?.ca ?? (config.mirror.ca === undefined ? undefined : loadCaBundle(config.mirror.ca, 'mirror.ca', configPath));
  mkdirSync(config.dataDir, { recursive: true });
  const store = new ReplicaStore(join(config.dataDir, 'replica.sqlite'));
  const node = new ReplicaNode({
    membership,
    replicaId: config.replicaId,
    mirror: { upstream },
    store,
    tickMs: config.tickMs,
    registryPolicy,
    log: (l) => log({ replica: config.replicaId, ...l }),
    onFatal: () => process.exit(70),
    // https:// upstreams are verified against tls.ca (or mirror.ca for a plain-HTTP mirror), or the system roots.
    peerTls: upstreamCa === undefined ? {} : { ca: upstreamCa },
  });
  // One node per process: the process and Node.js metrics (CPU, memory, event loop, GC) describe it.
  node.metrics.collectProcessMetrics();
  const server = createListener(node, tls);
  // No node.attach(server): a mirror takes no peer connections, and says so to anyone who tries.
  refusePeerUpgrades(server, upstream);
  server.listen(config.port, config.host, () => {
    log({ replica: config.replicaId, event: 'listening', mode: 'mirror', url: `${scheme}://${config.host}:${config.port}`, height: String(node.status.committed), upstream });
    node.start();
  });
  stopOnSignals(config.replicaId, node, server, () => store.close());
}

/** Runs the mirror, or logs why it cannot start and exits 1. */
export function runMirrorOrExit(argv: readonly string[]): void {
  startOrExit(() => runMirrorProcess(argv));
}
