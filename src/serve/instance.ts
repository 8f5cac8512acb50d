import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { buildRuntime } from '../boot.js';
import type { Config } from '../config/index.js';
import { createApp } from '../http/app.js';
import { GracefulServer, type DrainOutcome } from '../http/drain.js';
import { browsableUrl, listen } from '../http/listen.js';
import type { FreshKeys } from '../keys/manager.js';
import { shareMetricsWithPrimary } from '../metrics/cluster.js';
import { METRICS_PATH, metricsServer } from '../metrics/server.js';

/** How long closing the stores may take after a drain before the process exits anyway. */
const CLOSE_STORES_MS = 2000;

/**
 * Calls `handler` once, on the first SIGTERM or SIGINT; later ones are ignored (a terminal's Ctrl-C
 * reaches every process of a cluster, and the primary forwards the signal too).
 */
export function onShutdownSignal(handler: (signal: NodeJS.Signals) => void): void {
  let received = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (received) return;
      received = true;
      handler(signal);
    });
  }
}

/** The log line of a drain cut short: what was cut, never a header or a body. */
function describeCut(outcome: DrainOutcome, timeoutMs: number): string {
  const requests = outcome.cut.length > 0 ? ` (${outcome.cut.join(', ')})` : '';
  return `shutdown timed out after ${timeoutMs} ms: cut ${outcome.cut.length} unanswered request(s)${requests} and ${outcome.idleCut} idle connection(s)`;
}

/**
 * Runs one server process: builds the runtime, listens with request timeouts, and on SIGTERM/SIGINT
 * drains (see {@link GracefulServer}), closes the stores and exits 0, or exits 1 past
 * `SHUTDOWN_TIMEOUT` with a log line saying what it cut. Serves `METRICS_PORT` too, unless it is a
 * cluster worker: then the primary serves it, summing what every worker answers.
 *
 * @param freshKeys - The keys a cluster worker got from its primary.
 * @throws {import('../http/listen.js').ListenError} when a port cannot be listened on (one line naming
 *   it); the runtime's boot errors otherwise.
 */
export async function serveInstance(config: Config, logger: Logger, freshKeys?: FreshKeys): Promise<void> {
  let serving: ((signal: NodeJS.Signals) => void) | undefined;
  // Installed first: a signal while booting ends the process at once, as nothing was received yet.
  onShutdownSignal((signal) => (serving ? serving(signal) : process.exit(0)));
  // A worker of our own primary (WORKERS > 1), not of a foreign cluster manager: the primary serves the metrics.
  const worker = config.workers > 1 && cluster.isWorker && config.metricsPort !== undefined;
  if (worker) shareMetricsWithPrimary();
  const runtime = await buildRuntime(config, logger, { freshKeys });
  if (worker && runtime.metrics) shareMetricsWithPrimary(runtime.metrics.registry);
  // The app asks the server whether it is draining; requests reach the app only once both exist.
  const http = new GracefulServer((req, res) => app(req, res), { requestTimeoutMs: config.requestTimeout, shutdownTimeoutMs: config.shutdownTimeout });
  const app = createApp(runtime, { isShuttingDown: () => http.draining });
  const metrics = runtime.metrics && config.metricsPort !== undefined && !worker ? metricsServer(runtime.metrics) : undefined;
  let port: number;
  let metricsUrl: string | undefined;
  try {
    if (metrics && config.metricsPort !== undefined) {
      metricsUrl = `${browsableUrl(config.metricsHost, await listen(metrics, config.metricsPort, config.metricsHost, 'METRICS_PORT'))}${METRICS_PATH}`;
    }
    port = await listen(http.server, config.port, config.host, 'PORT');
  } catch (error) {
    metrics?.close();
    await runtime.close();
    throw error;
  }
  const home = browsableUrl(config.host, port);
  logger.info(
    {
      port,
      store: config.store,
      throttle: runtime.throttle.kind,
      preserveSessions: config.preserveSessions,
      signing: `${runtime.keys.signing.alg} ${runtime.keys.signing.kid}`,
      encryption: `${runtime.keys.encryption.alg} ${runtime.keys.encryption.kid}`,
      demo: `${home}/demo`,
      docs: `${home}/docs`,
      jwks: `${home}/.well-known/jwks.json`,
      ...(metricsUrl ? { metrics: metricsUrl } : {}),
    },
    `jwe-auth-server listening on http://${config.host}:${port}; open ${home}/ (demo /demo, API reference /docs, JWKS /.well-known/jwks.json)`,
  );
  serving = (signal) => {
    logger.info({ signal }, 'draining: readiness is 503, no new connections, answering the requests received');
    // Scrapes may go on while the public port drains; the metrics listener closes with the process.
    void http.drain().then(async (outcome) => {
      if (outcome.drained) logger.info({ elapsedMs: outcome.elapsedMs }, 'drained');
      else logger.error({ cut: outcome.cut, idleConnections: outcome.idleCut }, describeCut(outcome, config.shutdownTimeout));
      await Promise.race([runtime.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, CLOSE_STORES_MS).unref())]);
      process.exit(outcome.drained ? 0 : 1);
    });
  };
}
