// `audit compare`: walks two archives' blocks side by side and finds the first
// height whose header hash differs, or where one archive stops. It compares
// what the archives say and verifies nothing: run `audit verify` on each
// first, so a difference means two certified histories (a fork: at least f+1
// replicas signed both) or a replica serving a forged one.

import { bytesToHex, headerHash } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import { parseCommittedBlockJson } from '@vcr/consensus';
import { archivePath, readNdjson } from './archive';

export type Comparison =
  | { kind: 'agree'; height: bigint }
  | { kind: 'differ'; height: bigint; a: string; b: string }
  | { kind: 'one-stops'; height: bigint; shorter: 'a' | 'b'; longerHeight: bigint }
  | { kind: 'unreadable'; archive: 'a' | 'b'; line: number; reason: string };

type Side = { height: bigint; hash: string } | { error: string; line: number } | undefined;

async function* headerHashes(dir: string): AsyncGenerator<Side> {
  for await (const row of readNdjson(archivePath(dir, 'blocks'))) {
    if ('error' in row) {
      yield { error: row.error, line: row.line };
      return;
    }
    const parsed = parseCommittedBlockJson(row.value);
    if (!parsed.ok) {
      yield { error: `block malformed: ${parsed.issues.join('; ')}`, line: row.line };
      return;
    }
    yield { height: parsed.value.header.height, hash: bytesToHex(headerHash(nodeBackend, parsed.value.header)) };
  }
}

export async function compareArchives(dirA: string, dirB: string): Promise<Comparison> {
  const a = headerHashes(dirA);
  const b = headerHashes(dirB);
  let agreed = 0n;
  for (let line = 1; ; line++) {
    const x = (await a.next()).value as Side;
    const y = (await b.next()).value as Side;
    if (x !== undefined && 'error' in x) return { kind: 'unreadable', archive: 'a', line: x.line, reason: x.error };
    if (y !== undefined && 'error' in y) return { kind: 'unreadable', archive: 'b', line: y.line, reason: y.error };
    if (x === undefined && y === undefined) return { kind: 'agree', height: agreed };
    if (x === undefined || y === undefined) {
      const shorter = x === undefined ? 'a' : 'b';
      let longerHeight = (x ?? y)?.height ?? agreed;
      for await (const rest of shorter === 'a' ? b : a) if (rest !== undefined && !('error' in rest)) longerHeight = rest.height;
      return { kind: 'one-stops', height: agreed, shorter, longerHeight };
    }
    if (x.height !== y.height || x.height !== BigInt(line)) return { kind: 'differ', height: BigInt(line), a: `height ${x.height}, header ${x.hash}`, b: `height ${y.height}, header ${y.hash}` };
    if (x.hash !== y.hash) return { kind: 'differ', height: x.height, a: x.hash, b: y.hash };
    agreed = x.height;
  }
}
