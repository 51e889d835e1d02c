// GET /v1/witness/checkpoint[?size=N]: the C2SP checkpoint of a committed log
// size, cosigned by this replica (docs/witness.md). The answer carries the
// block's certificate, so a collector checks the checkpoint against the
// certified header before it counts the cosignature.

import type { Express } from 'express';
import { certificateToJson } from '@vcr/proofs';
import { z } from 'zod';
import type { ReplicaNode } from '../replica-node';
import { fail, sizeParam } from './query-params';
import { cosignedCheckpointToJson, WitnessCosigner } from './witness-cosigner';

const checkpointQuery = z.strictObject({ size: sizeParam.optional() });

export function witnessRoutes(app: Express, node: ReplicaNode): void {
  const cosigner = new WitnessCosigner(node);
  app.get('/v1/witness/checkpoint', (req, res) => {
    const q = checkpointQuery.safeParse(req.query);
    if (!q.success) return fail(res, 400, 'malformed', 'size must be a decimal log size below 2^63; no other query parameter');
    const answer = cosigner.checkpoint(q.data.size);
    if (!answer.ok) {
      if (answer.status === 429) res.setHeader('Retry-After', '1');
      return fail(res, answer.status, answer.code, answer.message);
    }
    res.json(cosignedCheckpointToJson(answer.value, certificateToJson(answer.value.certificate)));
  });
}
