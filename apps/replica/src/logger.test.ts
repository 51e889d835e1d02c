import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, levelOfEvent, logEvent } from './logger';

function capture(env: NodeJS.ProcessEnv) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(env, sink), lines };
}

describe('replica logs (pino)', () => {
  it('each event is a JSON line with its level by name, an ISO time and its fields', () => {
    const { logger, lines } = capture({});
    logEvent(logger, { replica: 'r1', event: 'listening', url: 'http://x' });
    logEvent(logger, { replica: 'r1', event: 'view-change', view: '3' });
    logEvent(logger, { replica: 'r1', event: 'equivocation', seq: '9' });
    expect(lines.map((l) => [l.level, l.event])).toEqual([['info', 'listening'], ['warn', 'view-change'], ['error', 'equivocation']]);
    expect(lines[0]).toMatchObject({ replica: 'r1', url: 'http://x', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect(levelOfEvent('fatal')).toBe('fatal');
    expect(levelOfEvent(undefined)).toBe('info');
  });

  it('VCR_LOG_LEVEL sets the threshold, and a level it does not know is an error naming the choices', () => {
    const { logger, lines } = capture({ VCR_LOG_LEVEL: 'warn' });
    logEvent(logger, { event: 'listening' });
    logEvent(logger, { event: 'peer-connect-failed' });
    expect(lines.map((l) => l.event)).toEqual(['peer-connect-failed']);
    expect(() => capture({ VCR_LOG_LEVEL: 'loud' })).toThrow(/VCR_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent/);
  });
});
