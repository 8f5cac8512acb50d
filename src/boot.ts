import type Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import type { Config } from './config/index.js';
import { openDatabase } from './db/sqlite.js';
import { KeyManager } from './keys/manager.js';
import { SessionService } from './sessions/service.js';
import { createStore } from './store/index.js';
import type { SessionStore } from './store/types.js';
import { UserRepository } from './users/repository.js';
import type { AppDependencies } from './http/app.js';

/** Everything a running server holds, with one way to release it. */
export interface Runtime extends AppDependencies {
  /** The users in the SQLite database at `SQLITE_PATH`. */
  readonly users: UserRepository;
  /** The SQLite database of users (and of sessions with `STORE=sqlite`). */
  readonly db: Database.Database;
  /** Stops timers and closes the database and store connections. */
  close(): Promise<void>;
}

/** Paths and fields never written to logs. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  'current_password',
  'new_password',
  'refresh_token',
  'access_token',
];

/** Creates the process logger (JSON lines on stdout) with secrets redacted. */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } });
}

/** How often expired sessions are purged. */
const PURGE_INTERVAL_MS = 10 * 60_000;

/**
 * Builds every dependency of the app from the configuration: keys (generated or loaded), the
 * SQLite database for users, the session store, and the session service.
 *
 * @throws {import('./keys/pem.js').KeyLoadError} when keys cannot be loaded.
 */
export async function buildRuntime(config: Config, logger: Logger = createLogger(config)): Promise<Runtime> {
  const keys = await KeyManager.create(config);
  const db = openDatabase(config.sqlitePath);
  let store: SessionStore;
  try {
    store = await createStore(config, db);
  } catch (error) {
    db.close();
    throw error;
  }
  const users = new UserRepository(db);
  const sessions = new SessionService(config, keys, store, users);
  const timers = [
    setInterval(() => void store.purgeExpired(Date.now()).catch(() => undefined), PURGE_INTERVAL_MS),
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
    async close() {
      for (const timer of timers) clearInterval(timer);
      await store.close();
      if (db.open) db.close();
    },
  };
}
