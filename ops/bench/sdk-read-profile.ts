// The SDK cost rows of the bench (sdk-verify-cost.ts) on an in-process
// registry, without a cluster, to time and profile the read path on its own:
// `npx tsx ops/bench/sdk-read-profile.ts [--keys N] [--ms N] [--get-only |
// --cached-only] [--profile FILE]`. The map holds `--keys` keys (default
// 20,000: a proof about as deep as the bench's); `--profile` writes a V8 CPU
// profile of the measured loops only (not the set-up), for Chrome DevTools
// or speedscope.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { nodeBackend } from '@vcr/crypto-node';
import { FakeRegistry, fakeFetch, honest } from '../../packages/client-sdk/src/test-support/fake-registry';
import { measureAnswerCost } from './sdk-verify-cost';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const keyCount = Number(arg('--keys') ?? 20_000);
const budgetMs = Number(arg('--ms') ?? 2_000);
const profileFile = arg('--profile');
const only = process.argv.includes('--get-only') ? 'get' : process.argv.includes('--cached-only') ? 'cached' : undefined;

const reg = new FakeRegistry();
for (let i = 0; i < keyCount; i++) reg.map.set(`bench/w64/${i % 64}/${i}`, { value: new Uint8Array(100).fill(i & 0xff), revision: 1n });
reg.commit();
const key = 'bench/w64/5/69';
const fetchFn = fakeFetch({ 'http://r1': honest(reg) });

const session = new Session();
if (profileFile !== undefined) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const out = await measureAnswerCost(reg.cluster.membership, fetchFn, 'http://r1', key, budgetMs, [['node:crypto (native)', nodeBackend]], only);
if (profileFile !== undefined) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
  session.disconnect();
}
const us = (ms: number) => (Number.isNaN(ms) ? '-' : `${(ms * 1000).toFixed(1)} µs`);
for (const row of out) console.log(`${row.backend}: cold ${us(row.coldMs)}, cached ${us(row.cachedMs)}, get() ${us(row.getMs)}, map proof siblings ${row.proofSiblings}`);
