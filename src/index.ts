/**
 * jwe-auth-server: an Express authentication server issuing nested access tokens (a JWS signed by
 * the server, encrypted as a JWE to the client's own key) and accepting them back sealed to the
 * server's key.
 *
 * @packageDocumentation
 */
export {
  loadConfig,
  checkPassphrase,
  ConfigError,
  defaultLoginConcurrency,
  MIN_PASSPHRASE_LENGTH,
  DEFAULT_HASH_PRIORITY,
  type Config,
  type HashPriority,
} from './config/index.js';
export {
  combineEvents,
  NO_EVENTS,
  type AuditEventName,
  type AuditFields,
  type AuthEvents,
  type LoginOutcome,
  type RefreshOutcome,
} from './events.js';
export { auditLog } from './logging/audit.js';
export { accessLog, requestLog, REQUEST_ID_PATTERN, type AccessLogOptions } from './logging/access-log.js';
export { createMetrics, type Metrics } from './metrics/registry.js';
export { metricsEvents } from './metrics/events.js';
export { metricsServer, type MetricsSource } from './metrics/server.js';
export { listen, ListenError } from './http/listen.js';
export { buildRuntime, createLogger, type Runtime, type RuntimeOptions } from './boot.js';
export { createApp, type AppDependencies, type AppOptions } from './http/app.js';
export { BUSY_UTILIZATION, EventLoopLoad, HashingGate, LOAD_WINDOW_MS, QUEUE_PER_SLOT, type BusyPacing, type LoopTimes } from './http/hashing-gate.js';
export { errorHandler, notFound } from './http/error-handler.js';
export { requireAuth, principalOf } from './http/require-auth.js';
export { ERRORS, PROTECTED_ROUTE_STATUS, AuthError, HttpError, MigrationError, RateLimitedError, StoreUnavailableError, TokenRejectedError, DpopProofRejectedError, type ErrorCode } from './errors.js';
export { systemClock, type Clock } from './clock.js';
export { KeyManager, KeyLoadError, generateKeyFiles, rotateKeyFiles, type ServerKey } from './keys/index.js';
export { generateFreshKeys, type FreshKeys } from './keys/manager.js';
export { SessionService, type Principal, type TokenGrant, type SessionServiceOptions } from './sessions/service.js';
export type { Credentials, ProofPresentation } from './sessions/proofs.js';
export { rotateRefreshToken, decideRotation, MAX_ROTATION_ATTEMPTS, type RotateResult, type RotateOptions, type RotationDecision } from './sessions/rotation.js';
export * from './store/index.js';
export * from './tokens/index.js';
export * from './users/index.js';
export { openDatabase, migrateSqlite } from './db/sqlite.js';
export { PostgresDatabase, POSTGRES_POOL_OPTIONS } from './db/postgres.js';
export * from './client/index.js';
export { FileKeyStore } from './client/node.js';
