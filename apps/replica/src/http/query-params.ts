// zod schemas for query and path parameters shared by the route files, and
// the machine-readable error body every 4xx/5xx answer uses.

import type { Response } from 'express';
import { z } from 'zod';
import { isWellFormedText, utf8 } from '@vcr/proofs';
import { registryLimits } from '../registry';

export type ErrorCode =
  | 'malformed'
  | 'too-large'
  | 'bad-signature'
  | 'not-found'
  | 'no-certified-state'
  | 'timeout'
  | 'overloaded'
  | 'not-a-member'
  | 'read-only-mirror'
  | 'request-id-ahead'
  | 'request-id-superseded'
  | 'request-id-conflict'
  | 'not-indexed'
  | 'internal';

export function fail(res: Response, status: number, code: ErrorCode, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error: { code, message, ...extra } });
}

const U63 = 1n << 63n;
export const heightParam = z.string().regex(/^[1-9][0-9]{0,18}$/).transform(BigInt).refine((n) => n < U63, 'below 2^63');
export const sizeParam = z.string().regex(/^(?:0|[1-9][0-9]{0,18})$/).transform(BigInt).refine((n) => n < U63, 'below 2^63');

/** A page size 1..max as a decimal string. */
export function limitParam(max: number) {
  return z.string().regex(/^[1-9][0-9]{0,3}$/).transform(Number).refine((n) => n <= max, `at most ${max}`);
}

/** Key text from a query: well-formed UTF-8 within the key size limit (empty allowed for a prefix). */
export const keyTextParam = z
  .string()
  .max(registryLimits.keyBytesMax, { abort: true })
  .refine((s) => isWellFormedText(s) && utf8(s).length <= registryLimits.keyBytesMax, 'well-formed text of at most 256 UTF-8 bytes');

/** Long-poll wait: 0..30000 ms. */
export const waitParam = z.string().regex(/^(?:0|[1-9][0-9]{0,4})$/).transform(Number).refine((n) => n <= 30_000, 'at most 30000');
