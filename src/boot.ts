import type Database from 'better-sqlite3';
import { pino, type DestinationStream, type Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/index.js';
import { PostgresDatabase } from './db/postgres.js';
import { openDatabase } from './db/sqlite.js';
import { combineEvents, type AuthEvents } from './events.js';
import { KeyManager, type FreshKeys } from './keys/manager.js';
import { auditLog } from './logging/audit.js';
import { metricsEvents } from './metrics/events.js';
import { createMetrics, type Metrics } from './metrics/registry.js';
import { SessionService } from './sessions/service.js';
import { createStore } from './store/index.js';
import { instrumentStore } from './store/instrumented.js';
import { LoginThrottle } from './throttle/index.js';
import type { SessionStore } from './store/types.js';
import type { UserDirectory } from './users/directory.js';
import { openUserDirectory } from './users/index.js';
import type { AppDependencies } from './http/app.js';
import { closePasswordHashing, configurePasswordHashing } from './users/password.js';

/** Everything a running server holds, with one way to release it. */
export interface Runtime extends AppDependencies {
  /** The user directory: PostgreSQL at `DATABASE_URL`, else SQLite at `SQLITE_PATH`. */
  readonly users: UserDirectory;
  /**
   * The SQLite file at `SQLITE_PATH` when this configuration uses one (sessions with
   * `STORE=sqlite`, users without `DATABASE_URL`); `undefined` otherwise (a fleet shares no file).
   */
  readonly db: Database.Database | undefined;
  /** The Prometheus series, or `null` when `METRICS_PORT` is unset. `server.ts` serves them. */
  readonly metrics: Metrics | null;
  /** Where the domain and the HTTP layer report: the audit log, the metrics when they are on, and `RuntimeOptions.events`. */
  readonly events: AuthEvents;
  /** Stops timers and closes the database and store connections. */
  close(): Promise<void>;
}

/** What {@link buildRuntime} takes besides the configuration and the logger. */
export interface RuntimeOptions {
  /** Where the time comes from; tests pass a fake one. Default: the system clock. */
  readonly clock?: Clock;
  /** A sink that receives every audit event and outcome too (tests record them); the audit log and the metrics always do. */
  readonly events?: AuthEvents;
  /**
   * Without preservation, the keys to use instead of new ones: a cluster worker gets them from its
   * primary, so that every worker accepts the tokens of the others.
   */
  readonly freshKeys?: FreshKeys;
}

/**
 * Paths and fields never written to logs: a safety net, as no log call is given a header, a body or a
 * secret (the access log writes none of them).
 */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.dpop',
  'res.headers["set-cookie"]',
  'password',
  'current_password',
  'new_password',
  'refresh_token',
  'access_token',
];

/**
 * Creates the process logger (JSON lines on stdout, or on `destination`) with secrets redacted.
 *
 * @example const logger = createLogger(config, pino.destination(2)); // standard error
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  return pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } }, destination);
}

/** How often expired sessions are purged. */
const PURGE_INTERVAL_MS = 10 * 60_000;

/**
 * Builds every dependency of the app from the configuration: keys (generated or loaded), the
 * databases this configuration uses (the SQLite file, a PostgreSQL pool), the user directory and
 * the session store (each migrating its own tables), and the session service.
 *
 * @throws {import('./keys/pem.js').KeyLoadError} when keys cannot be loaded.
 * @throws {import('./errors.js').StoreUnavailableError} when a database or Redis does not answer.
 * @throws {import('./errors.js').MigrationError} when a schema cannot be brought up to date.
 */
export async function buildRuntime(config: Config, logger: Logger = createLogger(config), options: RuntimeOptions = {}): Promise<Runtime> {
  const keys = await KeyManager.create(config, options.freshKeys);
  await configurePasswordHashing({ threads: config.loginConcurrency, priority: config.hashPriority });
  const clock = options.clock ?? systemClock;
  const needsSqlite = config.store === 'sqlite' || config.databaseUrl === undefined;
  const opened: Array<() => Promise<void> | void> = [];
  const release = async () => {
    for (const close of opened.reverse()) await close();
  };
  let db: Database.Database | undefined;
  let postgres: PostgresDatabase | undefined;
  const metrics = config.metricsPort === undefined ? null : createMetrics();
  let store: SessionStore;
  let users: UserDirectory;
  let throttle: LoginThrottle;
  try {
    db = needsSqlite ? openDatabase(config.sqlitePath) : undefined;
    const sqlite = db;
    if (sqlite) opened.push(() => void (sqlite.open && sqlite.close()));
    const pool = config.databaseUrl === undefined ? undefined : await PostgresDatabase.connect(config.databaseUrl);
    postgres = pool;
    if (pool) opened.push(() => pool.close());
    users = await openUserDirectory(config, { postgres, sqlite });
    store = await createStore(config, { postgres, sqlite });
  } catch (error) {
    await release();
    throw error;
  }
  try {
    throttle = await LoginThrottle.open(config, { postgres, sqlite: db });
  } catch (error) {
    await store.close();
    await release();
    throw error;
  }
  if (metrics) store = instrumentStore(store, metrics);
  const events = combineEvents(auditLog(logger), ...(metrics ? [metricsEvents(metrics)] : []), ...(options.events ? [options.events] : []));
  const sessions = new SessionService(config, keys, store, users, { clock, events });
  const timers = [
    setInterval(() => void store.purgeExpired(clock()).catch(() => undefined), PURGE_INTERVAL_MS),
    ...(config.preserveSessions && config.keyReloadInterval > 0
      ? [
          setInterval(() => {
            keys.reload().then(
              (changed) => changed && logger.info({ signing: keys.signing.kid, encryption: keys.encryption.kid }, 'keys reloaded'),
              (error: Error) => logger.error({ reason: error.message }, 'key reload failed; keeping the keys in use'),
            );
          }, config.keyReloadInterval),
        ]
      : []),
  ];
  for (const timer of timers) timer.unref();
  return {
    config,
    keys,
    store,
    users,
    db,
    sessions,
    logger,
    throttle,
    metrics,
    events,
    async close() {
      for (const timer of timers) clearInterval(timer);
      await throttle.close();
      await store.close();
      await users.close();
      await release();
      await closePasswordHashing();
    },
  };
}
