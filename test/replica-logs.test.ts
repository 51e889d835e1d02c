// `npm start` keeps each replica's log in <data>/logs/<id>.log (ops/replica-logs.ts):
// a real replica process, its lines appended to the file as JSON with levels.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareLocalCluster, spawnReplica, waitHealthy, type RunningReplica } from '../ops/local-cluster';
import { replicaLogSink } from '../ops/replica-logs';

const dir = mkdtempSync(join(tmpdir(), 'vcr-logs-'));
let running: RunningReplica | undefined;

afterAll(() => {
  running?.process.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('replica log files', () => {
  it('a replica started the way npm start does writes JSON lines with a level to <data>/logs/<id>.log, appending across restarts', async () => {
    const layout = prepareLocalCluster({ dataDir: join(dir, 'data'), basePort: 40_000 + Math.floor(Math.random() * 1_000) * 4, n: 1, fastKdf: true });
    const echoed: string[] = [];
    const sink = replicaLogSink(layout.dataDir, 'r1', (line) => echoed.push(line));
    expect(sink.file).toBe(join(layout.dataDir, 'logs', 'r1.log'));
    running = spawnReplica(layout, 'r1', sink.write);
    await waitHealthy(layout.replicas[0]?.url ?? '', 60_000);
    const exited = new Promise((resolve) => running?.process.once('exit', resolve));
    running.process.kill('SIGTERM');
    await exited;
    running = undefined;
    sink.close();
    await new Promise((r) => setTimeout(r, 100));
    const lines = readFileSync(sink.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; event: string; replica: string });
    expect(lines.find((l) => l.event === 'listening')).toMatchObject({ level: 'info', replica: 'r1' });
    expect(lines.at(-1)).toMatchObject({ event: 'stopping', level: 'info' });
    expect(echoed.length).toBe(lines.length);
    // A second start appends: nothing of the first run is lost.
    const again = replicaLogSink(layout.dataDir, 'r1');
    again.write('{"level":"info","event":"marker"}');
    again.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(sink.file, 'utf8').trim().split('\n')).toHaveLength(lines.length + 1);
  }, 90_000);
});
