import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { browsableUrl, listen } from '../http/listen.js';
import { generateFreshKeys, type FreshKeys } from '../keys/manager.js';
import { clusterMetrics } from '../metrics/cluster.js';
import { METRICS_PATH, metricsServer } from '../metrics/server.js';
import { onShutdownSignal } from './instance.js';

/** The IPC messages between the primary and a worker. */
const KEYS_REQUEST = 'jwe-auth:keys?';
const KEYS_REPLY = 'jwe-auth:keys';

/** How long a worker waits for its keys from the primary. */
const KEYS_TIMEOUT_MS = 10_000;
/** A worker that dies sooner than this after its start is restarted only after {@link RESTART_DELAY_MS}. */
const CRASH_LOOP_MS = 5000;
const RESTART_DELAY_MS = 1000;
/** Beyond `SHUTDOWN_TIMEOUT`, how long the primary waits for its workers before killing them. */
const SHUTDOWN_MARGIN_MS = 5000;

/**
 * In a cluster worker of a server that does not preserve keys: asks the primary for the keys every
 * worker shares (a worker making its own would refuse the tokens of the others).
 *
 * @returns `undefined` when keys are preserved (every worker loads the same files).
 */
export function receiveKeys(config: Pick<Config, 'preserveSessions'>): Promise<FreshKeys | undefined> {
  if (config.preserveSessions) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no keys from the cluster primary within ${KEYS_TIMEOUT_MS} ms`)), KEYS_TIMEOUT_MS);
    const onMessage = (message: { type?: string; keys?: FreshKeys }) => {
      if (message?.type !== KEYS_REPLY) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(message.keys);
    };
    process.on('message', onMessage);
    process.send?.({ type: KEYS_REQUEST });
  });
}

/**
 * Runs the cluster's primary: forks `WORKERS` server processes that share the port (Node's
 * round-robin), hands each the keys made once here when they are not preserved, restarts a worker
 * that crashes, and on SIGTERM/SIGINT has every worker drain, then exits 0 when they all exited 0.
 *
 * The first worker boots alone: a boot error (keys, store, port) is reported once, by it, and the
 * primary exits 1 without forking the others.
 *
 * With `METRICS_PORT`, the primary alone listens there, and each scrape sums the series of every
 * worker (the workers bind no metrics port: through the cluster they would share it, and a scrape
 * would read one worker at random).
 *
 * @throws {import('../http/listen.js').ListenError} when `METRICS_PORT` cannot be listened on, before
 *   any worker starts.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  let metricsUrl: string | undefined;
  if (config.metricsPort !== undefined) {
    const port = await listen(metricsServer(clusterMetrics()), config.metricsPort, config.metricsHost, 'METRICS_PORT');
    metricsUrl = `${browsableUrl(config.metricsHost, port)}${METRICS_PATH}`;
  }
  const keys = config.preserveSessions ? undefined : generateFreshKeys(config);
  const startedAt = new Map<number, number>();
  const exitCodes: (number | null)[] = [];
  let listening = 0;
  let stopping = false;

  const fork = (): Worker => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    return worker;
  };
  const live = () => Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);

  cluster.on('message', (worker, message: { type?: string }) => {
    if (message?.type === KEYS_REQUEST) worker.send({ type: KEYS_REPLY, keys });
  });
  cluster.on('listening', (_worker, address) => {
    listening++;
    if (listening === 1) for (let i = 1; i < config.workers; i++) fork();
    if (listening === config.workers) {
      logger.info({ workers: config.workers, port: address.port, ...(metricsUrl ? { metrics: metricsUrl } : {}) }, `jwe-auth-server cluster of ${config.workers} workers listening`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping || code === 0) {
      // Asked to stop (by the primary, or by a signal of its own): not replaced.
      exitCodes.push(code);
      if (live().length === 0) process.exit(exitCodes.every((c) => c === 0) ? 0 : 1);
      return;
    }
    if (listening === 0) {
      // The first worker could not boot and said why; the others would fail alike.
      process.exit(1);
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, lived < CRASH_LOOP_MS ? RESTART_DELAY_MS : 0);
  });

  onShutdownSignal((signal) => {
    stopping = true;
    logger.info({ signal, workers: live().length }, 'draining every worker');
    // Not worker.kill(): it disconnects first, and a disconnected worker closes its idle connections at once.
    for (const worker of live()) worker.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ workers: live().map((worker) => worker.process.pid) }, 'workers still running past SHUTDOWN_TIMEOUT; killing them');
      for (const worker of live()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownTimeout + SHUTDOWN_MARGIN_MS).unref();
  });

  fork();
}
