import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Latency buckets of HTTP requests, in seconds: a few ms (a warm bearer) to an argon2 login under load. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Latency buckets of store operations, in seconds: an embedded SQLite read to a stalled network store. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * The server's Prometheus series, in a registry of their own (nothing global), named by the
 * Prometheus conventions: `jwe_auth_` prefix, `_total` for counters, `_seconds` for durations.
 * Process and Node.js runtime series keep their standard names (`process_*`, `nodejs_*`), so
 * existing dashboards for them work as they are.
 */
export interface Metrics {
  /** Everything below, as `GET /metrics` serves it. */
  readonly registry: Registry;
  /** `jwe_auth_http_requests_total{method, route, status}`: `route` is the route pattern, never the raw path. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /** `jwe_auth_http_request_duration_seconds{method, route, status}`. */
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** `jwe_auth_logins_total{outcome}`. */
  readonly logins: Counter<'outcome'>;
  /** `jwe_auth_refreshes_total{outcome}`: `rotated`, `duplicate`, `reuse_revoked` or `invalid`. */
  readonly refreshes: Counter<'outcome'>;
  /** `jwe_auth_tokens_refused_total{reason}`. */
  readonly tokensRefused: Counter<'reason'>;
  /** `jwe_auth_audit_events_total{event}`: one per audit log line. */
  readonly auditEvents: Counter<'event'>;
  /** `jwe_auth_store_operation_duration_seconds{operation}`: every session store call, failed ones included. */
  readonly storeDuration: Histogram<'operation'>;
  /** `jwe_auth_store_errors_total{operation}`: store calls that rejected (the store could not answer). */
  readonly storeErrors: Counter<'operation'>;
}

/**
 * Creates the registry and its series.
 *
 * @param options.processMetrics - Also collect the process and runtime series (CPU, memory, event
 *   loop lag, GC, handles). On by default; tests that make many registries turn it off.
 * @example
 * const metrics = createMetrics();
 * metrics.logins.inc({ outcome: 'succeeded' });
 * console.log(await metrics.registry.metrics());
 */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });
  const request = ['method', 'route', 'status'] as const;
  return {
    registry,
    httpRequests: counter('jwe_auth_http_requests_total', 'HTTP requests answered, by method, route pattern and status', request),
    httpDuration: histogram(
      'jwe_auth_http_request_duration_seconds',
      'Time from receiving a request to the end of its response, by method, route pattern and status',
      request,
      HTTP_BUCKETS,
    ),
    logins: counter('jwe_auth_logins_total', 'Login attempts, by outcome', ['outcome']),
    refreshes: counter('jwe_auth_refreshes_total', 'Refresh token presentations, by outcome (rotated, duplicate, reuse_revoked, invalid)', ['outcome']),
    tokensRefused: counter('jwe_auth_tokens_refused_total', 'Access tokens (or their proofs) refused, by internal reason', ['reason']),
    auditEvents: counter('jwe_auth_audit_events_total', 'Audit events logged, by event', ['event']),
    storeDuration: histogram('jwe_auth_store_operation_duration_seconds', 'Session store calls, by operation, failed ones included', ['operation'], STORE_BUCKETS),
    storeErrors: counter('jwe_auth_store_errors_total', 'Session store calls that failed (the store could not answer), by operation', ['operation']),
  };
}
