import type { RequestHandler } from 'express';
import { routePatternOf } from '../http/route-pattern.js';
import type { Metrics } from './registry.js';

/**
 * Counts and times every request into `jwe_auth_http_requests_total` and
 * `jwe_auth_http_request_duration_seconds`, labelled by method, route pattern and status. A request
 * whose connection closed before its response ended is labelled `status="aborted"`. Route patterns come from
 * `captureRoutePatterns(app)`.
 *
 * @example captureRoutePatterns(app); app.use(requestMetrics(metrics));
 */
export function requestMetrics(metrics: Pick<Metrics, 'httpRequests' | 'httpDuration'>): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // 'close' follows 'finish' on a completed response, and is the only event of an aborted one.
    res.once('close', () => {
      const labels = { method: req.method, route: routePatternOf(req, res), status: res.writableFinished ? String(res.statusCode) : 'aborted' };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
