// `GET /v1/keys/{key}`'s answer (apps/replica/openapi.yaml, KeyRead), made in
// one place for both paths that serve it: the express route (server.ts) and
// the pre-router in front of express (fast-read.ts). The body without the
// consistency proof depends only on the latest block, the committed state and
// the key, so it is serialized once per (state, key) and kept in an
// AnswerCache; the certificate's JSON text inside it is made once per block
// (certificate-json.ts); the entry and its proof come from one walk of the
// map (MerkleMapSnapshot.read). A `?proveFrom=N` proof is added per request:
// it depends on the client's log size.

import { bytesToHex, logProofToJson, mapProofToJson } from '@vcr/proofs';
import type { ReplicaNode } from '../replica-node';
import { readEntry } from '../registry';
import { type AnswerCache, type CachedAnswer } from './answer-cache';
import { weakEtagOf } from './answer-etag';
import { certificateTextOf } from './certificate-json';
import type { ErrorCode } from './query-params';

export type ConsistencyJson = { from: string; to: string; proof: string[] };

/** The consistency proof from the client's log size `from` to `to`, when there is one to give (1 <= from < to <= log size). */
export function consistencyFor(node: ReplicaNode, from: bigint | undefined, to: bigint): ConsistencyJson | undefined {
  if (from === undefined || from < 1n || from >= to || to > node.logSize) return undefined;
  return { from: from.toString(), to: to.toString(), proof: logProofToJson(node.consistencyProof(from, to)) };
}

export type KeyReadAnswer = { ok: true; answer: CachedAnswer } | { ok: false; status: number; code: ErrorCode; message: string };

/** The answer for a key that passed the route's length check; refusals carry the route's error. */
export function keyReadAnswer(node: ReplicaNode, cache: AnswerCache, key: string, proveFrom: bigint | undefined): KeyReadAnswer {
  const block = node.latestBlock();
  if (!block) return { ok: false, status: 503, code: 'no-certified-state', message: 'no block committed yet' };
  const state = node.committedState();
  let answer = cache.get(block, state, key);
  if (answer === undefined) {
    const read = readEntry(state, key);
    if (!read.ok) return { ok: false, status: 400, code: 'malformed', message: `key refused: ${read.reason}` };
    // JSON.stringify of { key, entry, proof, certificate } in that order, with the certificate's text made once per block.
    const head = JSON.stringify({
      key,
      entry: read.entry ? { value: bytesToHex(read.entry.value), revision: read.entry.revision.toString() } : null,
      proof: mapProofToJson(read.proof),
    });
    const body = Buffer.from(`${head.slice(0, -1)},"certificate":${certificateTextOf(block)}}`);
    answer = { body, etag: weakEtagOf(body) };
    cache.set(block, state, key, answer);
  }
  const consistency = consistencyFor(node, proveFrom, block.header.logSize);
  return { ok: true, answer: consistency === undefined ? answer : withConsistency(answer, consistency) };
}

/** The cached body with `"consistency":{...}` as its last member (the order express's JSON had: it came last). */
function withConsistency(answer: CachedAnswer, consistency: ConsistencyJson): CachedAnswer {
  const body = Buffer.concat([answer.body.subarray(0, answer.body.length - 1), Buffer.from(`,"consistency":${JSON.stringify(consistency)}}`)]);
  return { body, etag: weakEtagOf(body) };
}
