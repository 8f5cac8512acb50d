import { createServer, type Server } from 'node:http';
import type { Metrics } from './registry.js';

/** The one path the metrics listener answers. */
export const METRICS_PATH = '/metrics';

/** Where a scrape reads its text: one process's registry, or the sum of a cluster's workers. */
export interface MetricsSource {
  /** The Prometheus text exposition. */
  metrics(): Promise<string>;
  /** Its `Content-Type`. */
  readonly contentType: string;
}

/**
 * The metrics listener: `GET /metrics` (Prometheus text format) on a server of its own, apart from
 * the public port, so the series are reachable only where `METRICS_HOST` binds (loopback by
 * default). Any other path is 404, any other method 405. Not listening yet: see `listen()`.
 *
 * @param metrics - The process's series, or a {@link MetricsSource} such as a cluster's sum.
 * @example await listen(metricsServer(metrics), config.metricsPort, config.metricsHost, 'METRICS_PORT');
 */
export function metricsServer(metrics: Pick<Metrics, 'registry'> | MetricsSource): Server {
  const source: MetricsSource = 'registry' in metrics ? metrics.registry : metrics;
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    source.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': source.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics could not be collected\n'),
    );
  });
}
