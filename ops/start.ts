// `npm start`: the local 4-replica cluster on embedded SQLite under ./data
// (VCR_DATA_DIR and VCR_BASE_PORT override), seeded with a small demo
// namespace, with the audit console on the port below the first replica's
// (7000 by default). Ctrl-C stops everything cleanly; starting again resumes
// from disk. `npm start -- --mirrors N` also starts N read-only mirrors
// (docs/mirror.md) following the replicas, on the ports from base + 100.

import { type TypedValue, encodeTypedValue } from '@vcr/registry';
import { RegistryClient } from '@vcr/client-sdk';
import { nodeBackend } from '@vcr/crypto-node';
import { loadGenesis } from '../apps/replica/src/genesis';
import { buildConsoleIfStale, spawnConsole, waitForConsole } from './console';
import { bootstrapDemoRegistry, clientSeedSigner, DEMO_NAMESPACES } from './demo-registry';
import { prepareLocalCluster, prepareMirror, type RunningReplica, spawnReplica, waitHealthy } from './local-cluster';
import { replicaLogSink } from './replica-logs';

const dataDir = process.env.VCR_DATA_DIR ?? 'data';
const basePort = Number(process.env.VCR_BASE_PORT ?? 7001);

const DAY_MS = 24 * 60 * 60 * 1000;
const MIRRORS_MAX = 8;

/** `--mirrors N` (0 by default): read-only mirrors to start beside the replicas. */
function mirrorsWanted(argv: readonly string[]): number {
  const i = argv.indexOf('--mirrors');
  if (i < 0) return 0;
  const text = argv[i + 1] ?? '';
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n > MIRRORS_MAX) throw new Error(`--mirrors takes a count from 0 to ${MIRRORS_MAX}, not ${JSON.stringify(text)}`);
  return n;
}

/**
 * The demo namespace, as typed values (docs/values.md): the replicas refuse a
 * malformed one, so these are built and checked with the shared schemas.
 * The pin set expires 180 days after the first seeding.
 */
const CRITICAL_KEY = 'demo/flags/critical/payments-kill-switch';
const CRITICAL_VALUE: TypedValue = { type: 'flag', description: 'Stops all payments when on.', variants: { on: true, off: false }, defaultVariant: 'off' };

function demoValues(nowMs: number): [string, TypedValue][] {
  return [
    [
      'demo/flags/new-checkout',
      {
        type: 'flag',
        description: 'The new checkout flow: internal users first, then 10% of users.',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        rules: [{ id: 'internal', when: [{ attribute: 'plan', op: 'equals', value: 'internal' }], serve: { variant: 'on' } }],
        rollout: { by: 'userId', salt: 'new-checkout-1', weights: [{ variant: 'on', weight: 1000 }, { variant: 'off', weight: 9000 }] },
      },
    ],
    ['demo/flags/dark-mode', { type: 'flag', variants: { on: true, off: false }, defaultVariant: 'on' }],
    [
      'demo/pins/api.example.com',
      {
        type: 'pins',
        pins: ['47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='],
        backupPins: ['LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ='],
        expiresAtMs: nowMs + 180 * DAY_MS,
        hostnames: ['api.example.com'],
      },
    ],
    ['demo/endpoints/ledger-eu', { type: 'endpoint', url: 'https://ledger.eu.example.internal', region: 'eu', weight: 3 }],
    ['demo/endpoints/ledger-us', { type: 'endpoint', url: 'https://ledger.us.example.internal', region: 'us', weight: 1 }],
  ];
}

async function main(): Promise<void> {
  const mirrorCount = mirrorsWanted(process.argv.slice(2));
  const layout = prepareLocalCluster({ dataDir, basePort });
  // Each process's log goes to <data>/logs/<id>.log; VCR_VERBOSE=1 also prints it here.
  const echo = (id: string) => (process.env.VCR_VERBOSE ? (line: string) => console.log(`[${id}] ${line}`) : undefined);
  const logFiles: { id: string; file: string }[] = [];
  const running: RunningReplica[] = layout.replicas.map((r) => {
    const sink = replicaLogSink(layout.dataDir, r.id, echo(r.id));
    logFiles.push({ id: r.id, file: sink.file });
    return spawnReplica(layout, r.id, sink.write);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping replicas...');
    for (const r of running) r.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2_500).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  for (const r of running) {
    r.process.on('exit', (code) => {
      if (!stopping) console.log(`replica ${r.id} exited with code ${code}`);
    });
  }
  await Promise.all(layout.replicas.map((r) => waitHealthy(r.url, 60_000)));

  const membership = loadGenesis(layout.genesisFile);
  const client = await RegistryClient.create({ membership, replicas: layout.replicas.map((r) => r.url), signer: clientSeedSigner(layout, 'demo-client'), backend: nodeBackend });
  const demo = demoValues(Date.now());
  // Right after a restart the newest certified header may be old: staleness does not matter for this check.
  const first = await client.get(demo[0]![0], { allowStale: true });
  if (first.entry === undefined) {
    try {
      await bootstrapDemoRegistry(layout, membership);
      console.log(`created organizations org1..org${membership.replicas.length} and namespaces ${DEMO_NAMESPACES.map((n) => n.prefix).join(', ')}`);
    } catch (error) {
      console.log(`registry bootstrap failed (${error instanceof Error ? error.message : String(error)}); a data folder from an older version has no registry policy: delete it to start over`);
    }
    // encodeTypedValue refuses (throws) a value the replicas would refuse.
    const written = await client.transaction(demo.map(([key, value]) => ({ op: 'put' as const, key, value: encodeTypedValue(value) })));
    if (!written.result.ok) console.log(`seeding refused by the registry: ${written.result.error}${written.result.detail === undefined ? '' : `: ${written.result.detail}`}`);
    else console.log(`seeded ${demo.length} demo keys at height ${written.height} (receipt verified)`);
    // A change to a critical flag: org1 proposes it; it applies once a second organization submits the same change.
    const proposal = await client.put(CRITICAL_KEY, encodeTypedValue(CRITICAL_VALUE));
    console.log(`proposed ${CRITICAL_KEY} as org1: ${proposal.result.ok ? 'applied' : `${proposal.result.error}${proposal.result.detail === undefined ? '' : ` (${proposal.result.detail})`}`}`);
  }

  // Read-only mirrors (docs/mirror.md): no keys, no vote; each follows the replicas and verifies every block.
  const mirrors: { id: string; url: string }[] = [];
  for (let i = 1; i <= mirrorCount; i++) {
    const id = `mirror-${i}`;
    const mirror = prepareMirror(layout, id, basePort + 99 + i, layout.replicas.map((r) => r.url));
    const sink = replicaLogSink(layout.dataDir, id, echo(id));
    logFiles.push({ id, file: sink.file });
    running.push(spawnReplica(mirror.layout, id, sink.write));
    mirrors.push({ id, url: mirror.url });
  }
  await Promise.all(mirrors.map((m) => waitHealthy(m.url, 60_000)));

  const consoleUrl = `http://127.0.0.1:${basePort - 1}`;
  let consoleLine = `Audit console: ${consoleUrl}`;
  try {
    buildConsoleIfStale((line) => console.log(line));
    const web = spawnConsole({ port: basePort - 1, genesisFile: layout.genesisFile, replicaUrls: layout.replicas.map((r) => r.url) });
    running.push({ id: 'console', url: consoleUrl, process: web });
    await waitForConsole(consoleUrl, 60_000);
  } catch (error) {
    consoleLine = `The audit console did not start: ${error instanceof Error ? error.message : String(error)}`;
  }

  console.log('\nLocal cluster is up (4 replicas, PBFT, f = 1):');
  for (const r of layout.replicas) console.log(`  ${r.id}  ${r.url}   (health ${r.url}/healthz, ready ${r.url}/readyz, metrics ${r.url}/metrics)`);
  for (const m of mirrors) console.log(`  ${m.id}  ${m.url}   (read-only mirror: verified reads, no writes; health ${m.url}/healthz)`);
  console.log(`\nData and keys: ${layout.dataDir} (delete it to start from a new genesis)`);
  console.log(`Logs (JSON lines with levels; VCR_VERBOSE=1 also prints them here, VCR_LOG_LEVEL=debug|info|warn sets the level):`);
  for (const l of logFiles) console.log(`  ${l.id}  ${l.file}`);
  console.log('Try:  npm run cli -- get demo/flags/new-checkout');
  console.log('      npm run cli -- put demo/flags/dark-mode \'{"type":"flag","variants":{"on":true,"off":false},"defaultVariant":"off"}\'');
  console.log('      (typed values: docs/values.md; a malformed flag, pin set or endpoint is refused with invalid-value and the field, e.g. "invalid-value: variants: required")');
  console.log(`      npm run cli -- put ${CRITICAL_KEY} '${new TextDecoder().decode(encodeTypedValue(CRITICAL_VALUE))}' --as org2`);
  console.log('      (demo/flags/critical/ needs 2 of org1..org3: org1 proposed this change, org2 approves it by submitting the same change)');
  console.log(`\n${consoleLine}  (verifies everything in the browser against ${layout.genesisFile})`);
  console.log('Ctrl-C stops the cluster and the console.');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
