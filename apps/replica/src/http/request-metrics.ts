// Times every HTTP request into vcr_http_request_duration_seconds, labelled
// by the route pattern express matched (`/v1/keys/:key`), so a scan of random
// URLs cannot grow the label set: anything unmatched is `unmatched`. One
// clock read at the start and a `finish` listener per request; the rest is
// prom-client's.

import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '../metrics';

export function requestMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const startMs = performance.now();
    res.once('finish', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      metrics.httpRequest(typeof route === 'string' ? route : 'unmatched', req.method, res.statusCode, (performance.now() - startMs) / 1000);
    });
    next();
  };
}
