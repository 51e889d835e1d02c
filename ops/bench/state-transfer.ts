// State transfer for a replica far behind: r4 is stopped and its store
// deleted; the other three commit more writes until the log holds the
// requested number of entries (everything the earlier phases wrote counts);
// then r4 starts empty and fetches every block from its peers, verifying
// each one (certificate, hash chain, batch hash, re-executed state and log
// roots) before applying it. Timed from r4 listening to r4 at the target
// height; the wait before its first fetched block (it learns it is behind
// from its peers' messages) is reported apart.

import { randomBytes } from 'node:crypto';
import { RegistryClient } from '@vcr/client-sdk';
import { createNodeSigner, nodeBackend } from '@vcr/crypto-node';
import { rssMiB } from './processes';
import { sleep } from './stats';
import { latestHeader, restart, stopAndWipe, type VcrCluster } from './vcr-cluster';
import { rotated, valueBytes } from './write-load';
import { benchFetch } from './transport';

export interface TransferResult {
  requestedEntries: number;
  /** Log entries (signed requests) r4 fetched and verified. */
  entries: number;
  blocks: number;
  seconds: number;
  entriesPerSecond: number;
  blocksPerSecond: number;
  /** From listening to the first block applied (it learns it is behind from its peers' messages). */
  firstBlockAfterS: number;
  /** Entries/s after the first fetched batch was applied: the fetch-verify-apply rate alone. */
  streamingEntriesPerSecond: number;
  /** Writes added with r4 down, and how fast the three others took them. */
  toppedUp: number;
  topUpPerSecond: number;
  laggardRssMiB: number;
}

const behindIndex = 3;

/**
 * Writes until the log has `entries` entries, with `clients` closed-loop clients spread over `live`
 * (replica URLs), each a signed put through the SDK with a verified receipt. Also builds the
 * history of the restart section (restart.ts).
 */
export async function writeUntil(cluster: VcrCluster, live: readonly string[], opts: { entries: number; clients: number; tag: string }): Promise<{ added: number; perSecond: number; firstKey: string | undefined }> {
  const have = Number((await latestHeader(live[0] as string)).logSize);
  const need = opts.entries - have;
  if (need <= 0) return { added: 0, perSecond: NaN, firstKey: undefined };
  let firstKey: string | undefined;
  let issued = 0;
  let done = 0;
  let failed = 0;
  const started = performance.now();
  let lastReport = started;
  await Promise.all(
    Array.from({ length: Math.min(opts.clients, need) }, async (_, worker) => {
      const client = await RegistryClient.create({ membership: cluster.membership, replicas: rotated(live, worker), signer: createNodeSigner(randomBytes(32)), backend: nodeBackend, fetch: benchFetch });
      while (issued < need) {
        const i = issued++;
        let receipt;
        try {
          receipt = await client.put(`bench/${opts.tag}/${worker}/${i}`, 'v'.repeat(valueBytes));
          firstKey ??= `bench/${opts.tag}/${worker}/${i}`;
        } catch (error) {
          // A busy machine times some answers out: the write is issued again (under a new index), up to a bound.
          failed++;
          if (failed > Math.max(100, need / 100)) throw new Error(`${opts.tag}: ${failed} writes failed, the last: ${error instanceof Error ? error.message : String(error)}`);
          issued--;
          await sleep(1_000);
          continue;
        }
        if (!receipt.result.ok) throw new Error(`${opts.tag}: a write failed: ${JSON.stringify(receipt.result)}`);
        done++;
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          process.stderr.write(`bench: ${opts.tag}: ${done} of ${need} writes\n`);
        }
      }
    }),
  );
  if (failed > 0) process.stderr.write(`bench: ${opts.tag}: ${failed} writes failed and were issued again\n`);
  return { added: done, perSecond: done / ((performance.now() - started) / 1000), firstKey };
}

export async function measureStateTransfer(cluster: VcrCluster, opts: { entries: number; clients: number }): Promise<TransferResult> {
  await stopAndWipe(cluster, behindIndex);
  const added = await writeUntil(cluster, cluster.urls.filter((_, i) => i !== behindIndex), { entries: opts.entries, clients: opts.clients, tag: 'transfer' });
  const target = await latestHeader(cluster.urls[0] as string);
  const url = cluster.urls[behindIndex] as string;
  const { listeningAtMs } = await restart(cluster, behindIndex);
  // A replica that makes no progress for a minute has failed, however many entries remain.
  let first: { atMs: number; logSize: number } | undefined;
  let lastProgressMs = performance.now();
  let last = -1n;
  for (;;) {
    const head = await latestHeader(url).catch(() => ({ height: -1n, logSize: 0n }));
    const now = performance.now();
    if (head.height > 0n && first === undefined) first = { atMs: now, logSize: Number(head.logSize) };
    if (head.height > last) {
      last = head.height;
      lastProgressMs = now;
    }
    if (head.height >= target.height) break;
    if (now - lastProgressMs > 60_000) throw new Error(`state transfer: r4 stuck at height ${head.height} of ${target.height}`);
    await sleep(20);
  }
  const doneMs = performance.now();
  const seconds = (doneMs - listeningAtMs) / 1000;
  const entries = Number(target.logSize);
  const blocks = Number(target.height);
  const firstAtMs = first?.atMs ?? doneMs;
  // The rate once blocks flow: entries after the first fetched batch over the time after it (NaN when one batch held everything).
  const streamed = entries - (first?.logSize ?? entries);
  const streamSeconds = (doneMs - firstAtMs) / 1000;
  return {
    requestedEntries: opts.entries,
    entries,
    blocks,
    seconds,
    entriesPerSecond: entries / seconds,
    blocksPerSecond: blocks / seconds,
    firstBlockAfterS: (firstAtMs - listeningAtMs) / 1000,
    streamingEntriesPerSecond: streamed > 0 && streamSeconds > 0 ? streamed / streamSeconds : NaN,
    toppedUp: added.added,
    topUpPerSecond: added.perSecond,
    laggardRssMiB: rssMiB(cluster.replicas[behindIndex]?.process.pid),
  };
}
