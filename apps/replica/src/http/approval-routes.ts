// What an auditor asks of the registry beyond keys (docs/replica.md,
// "Results, organizations and pending changes"), each answer with the proofs
// to check it without trusting this replica:
//
// - GET /v1/blocks/{height}/results: the log leaves of one block (each
//   request's certified result), with inclusion proofs against the block's
//   log root, and the previous header, whose hash the block names and whose
//   log size says where the block's leaves begin.
// - GET /v1/orgs?names=a,b: organization records from the certified state,
//   with map proofs (present or absent), so a client key can be named by its
//   organization.
// - GET /v1/pending: the pending changes recent blocks submitted
//   (pending-scan.ts), each with its record read from the certified state
//   (a proof of presence: still pending; of absence: applied or expired) and
//   the signed requests that submitted it, each as a history entry is proven.

import type { Express } from 'express';
import { z } from 'zod';
import { bytesToHex, headerToJson, logProofToJson, mapProofToJson } from '@vcr/proofs';
import { nodeBackend } from '@vcr/crypto-node';
import type { CommittedBlock } from '@vcr/consensus';
import type { ReplicaNode } from '../replica-node';
import { governanceLimits, orgKey } from '../registry';
import { clientRequestToJson } from '../wire';
import { certificateJsonOf } from './certificate-json';
import { fail, heightParam } from './query-params';
import { PendingScan, pendingScanLimits, type Submission } from './pending-scan';

const ORG_NAMES = /^[a-z0-9][a-z0-9-]{0,63}(?:,[a-z0-9][a-z0-9-]{0,63})*$/;
const orgsQuery = z.strictObject({ names: z.string().max(2_200).regex(ORG_NAMES) });

export function approvalRoutes(app: Express, node: ReplicaNode): void {
  const scan = new PendingScan(nodeBackend, node);

  app.get('/v1/blocks/:height/results', (req, res) => {
    const height = heightParam.safeParse(req.params.height);
    if (!height.success) return fail(res, 400, 'malformed', 'height must be a positive decimal integer');
    const latest = node.latestBlock();
    if (!latest || height.data > latest.header.height) return fail(res, 404, 'not-found', 'no block at that height');
    let block: CommittedBlock;
    let previous: CommittedBlock | undefined;
    try {
      block = node.loadCommittedBlock(height.data);
      previous = height.data > 1n ? node.loadCommittedBlock(height.data - 1n) : undefined;
    } catch {
      return fail(res, 404, 'not-found', 'that block is not kept here');
    }
    const leaves = node.store.leavesOfBlock(height.data);
    res.json({
      height: height.data.toString(),
      previousHeader: previous ? headerToJson(previous.header) : null,
      leaves: leaves.map((l) => ({ logIndex: l.index.toString(), leafData: bytesToHex(l.data), inclusionProof: logProofToJson(node.inclusionProof(l.index, block.header.logSize)) })),
    });
  });

  app.get('/v1/orgs', (req, res) => {
    const q = orgsQuery.safeParse(req.query);
    const names = q.success ? [...new Set(q.data.names.split(','))] : [];
    if (!q.success || names.length > governanceLimits.orgsPerListMax) return fail(res, 400, 'malformed', `names: 1..${governanceLimits.orgsPerListMax} organization ids, comma-separated`);
    const block = node.latestBlock();
    if (!block) return fail(res, 503, 'no-certified-state', 'no block committed yet');
    const state = node.committedState();
    res.json({
      certificate: certificateJsonOf(block),
      orgs: names.map((org) => {
        const { entry, proof } = state.map.read(orgKey(org));
        return { org, record: entry ? bytesToHex(entry.value) : null, revision: (entry?.revision ?? 0n).toString(), proof: mapProofToJson(proof) };
      }),
    });
  });

  app.get('/v1/pending', (req, res) => {
    if (Object.keys(req.query).length > 0) return fail(res, 400, 'malformed', 'no query parameters');
    const latest = node.latestBlock();
    if (!latest) return fail(res, 503, 'no-certified-state', 'no block committed yet');
    const state = node.committedState();
    const blocks = new Map<bigint, CommittedBlock>([[latest.header.height, latest]]);
    const blockAt = (h: bigint) => {
      let b = blocks.get(h);
      if (b === undefined) {
        b = node.loadCommittedBlock(h);
        blocks.set(h, b);
      }
      return b;
    };
    const submission = (s: Submission) => {
      const block = blockAt(s.height);
      const request = block.batch[s.batchIndex];
      const leaf = node.store.loadLeaf(s.logIndex);
      if (!request || !leaf) throw new Error(`submission at log index ${s.logIndex} missing`);
      return {
        height: s.height.toString(),
        logIndex: s.logIndex.toString(),
        request: clientRequestToJson(request),
        leafData: bytesToHex(leaf),
        inclusionProof: logProofToJson(node.inclusionProof(s.logIndex, block.header.logSize)),
        certificate: certificateJsonOf(block),
      };
    };
    // Newest first: the changes an auditor is waiting on.
    const changes = [...scan.scan(latest).entries()].reverse().slice(0, pendingScanLimits.changesMax);
    res.json({
      certificate: certificateJsonOf(latest),
      changes: changes.map(([key, subs]) => {
        const { entry, proof } = state.map.read(key);
        return {
          change: key.slice(key.lastIndexOf('/') + 1),
          record: entry ? bytesToHex(entry.value) : null,
          revision: (entry?.revision ?? 0n).toString(),
          proof: mapProofToJson(proof),
          submissions: subs.map(submission),
        };
      }),
    });
  });
}
