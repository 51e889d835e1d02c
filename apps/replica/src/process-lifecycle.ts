// What the replica and the mirror processes share around their node: JSON
// log lines on stdout (pino, with levels: logger.ts), stopping cleanly on SIGINT/SIGTERM or when the
// launcher goes away, and exiting 1 with the reason when they cannot start.

import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createLogger, logEvent } from './logger';
import type { ReplicaNode } from './replica-node';

let logger: Logger | undefined;

/** One JSON log line on stdout through pino, at the level of its event (logger.ts). */
export function log(line: Record<string, unknown>): void {
  logger ??= createLogger();
  logEvent(logger, line);
}

/**
 * On a signal (or the launcher's exit): stop the node, close the server, then `closeResources`
 * (store, keystore), exit 0. Returns the same shutdown, for a stop the process decides itself
 * (a removed replica configured to exit).
 */
export function stopOnSignals(replicaId: string, node: ReplicaNode, server: Server, closeResources: () => void): (why: string) => void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ replica: replicaId, event: 'stopping', signal });
    node.stop();
    server.close(() => {
      closeResources();
      process.exit(0);
    });
    // Long-polling watchers would hold server.close open.
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Started by a launcher with an IPC channel (ops/local-cluster.ts): stop when it goes away.
  if (process.send) process.on('disconnect', () => shutdown('launcher-exit'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return shutdown;
}

/** Runs `start`, or logs why it could not and exits 1. */
export function startOrExit(start: () => void): void {
  try {
    start();
  } catch (error) {
    log({ event: 'fatal', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.exit(1);
  }
}
