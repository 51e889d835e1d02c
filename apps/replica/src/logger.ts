// The replica's log (docs/runbook.md "Logs"): JSON lines through pino, one
// object per event with `level` (a name: trace..fatal), `time` (ISO 8601)
// and the event's fields. The level comes from the event name here, in one
// table, so the node and the transport keep emitting plain
// `{ event, ... }` objects. VCR_LOG_LEVEL (default info) sets the threshold.

import { pino, type Level, type Logger } from 'pino';

/** Events that are not `info`; anything unlisted is info. */
const EVENT_LEVELS: Readonly<Record<string, Level>> = {
  fatal: 'fatal',
  'signer-refused': 'fatal',
  equivocation: 'error',
  'peer-sign-failed': 'error',
  'peer-frame-handler-failed': 'error',
  'keystore-close-failed': 'error',
  'view-change': 'warn',
  'not-a-member': 'warn',
  'tls-address-mismatch': 'warn',
  'peer-connect-failed': 'warn',
  'peer-address-lookup-failed': 'warn',
  'peer-frame-too-large': 'warn',
  'peer-disconnected': 'warn',
  'snapshot-failed': 'warn',
  'snapshot-set-aside': 'warn',
  'peer-inbound-disconnected': 'info',
};

export function levelOfEvent(event: unknown): Level {
  return (typeof event === 'string' ? EVENT_LEVELS[event] : undefined) ?? 'info';
}

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A pino logger on stdout, synchronous so a line written just before process.exit is not lost. */
export function createLogger(env: NodeJS.ProcessEnv = process.env, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  const wanted = env.VCR_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(wanted)) throw new Error(`VCR_LOG_LEVEL must be one of ${LEVELS.join(', ')}, not ${JSON.stringify(wanted)}`);
  return pino(
    {
      level: wanted,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Writes one event at the level its name has. */
export function logEvent(logger: Logger, line: Record<string, unknown>): void {
  logger[levelOfEvent(line.event)](line);
}
