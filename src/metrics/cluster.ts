import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsSource } from './server.js';

/**
 * In a cluster worker: answers the primary's scrapes (prom-client's cluster messages) with the
 * series of `registry`, or with none while the worker boots, so that a scrape during a worker's
 * start does not wait for it. The worker itself binds no metrics port.
 *
 * @example shareMetricsWithPrimary(); const runtime = await buildRuntime(...); shareMetricsWithPrimary(runtime.metrics.registry);
 */
export function shareMetricsWithPrimary(registry?: Registry): void {
  AggregatorRegistry.setRegistries(registry ? [registry] : []);
  // Constructing one installs the worker's listener (once; later constructions are no-ops).
  new AggregatorRegistry();
}

/**
 * In the cluster primary: a source whose every read asks each live worker for its series and sums
 * them (histogram buckets and counters alike; gauges such as the heap size are summed or averaged by
 * prom-client's rules). A worker that does not answer within 5 s fails the scrape.
 *
 * @example metricsServer(clusterMetrics());
 */
export function clusterMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}
