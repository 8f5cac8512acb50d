import type Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/index.js';
import type { PostgresDatabase } from '../db/postgres.js';
import { migrateSqlite } from '../db/sqlite.js';
import { CONNECT_TIMEOUT_MS, REDIS_CLIENT_OPTIONS, waitReady } from '../store/redis.js';

/** The table (SQLite, PostgreSQL) holding the throttle's counts, one row per key and window. */
export const THROTTLE_TABLE = 'login_throttle';
/** The length of every throttle window: counts are per minute. */
export const WINDOW_SECONDS = 60;
/** How often the SQL backends delete the rows of windows that have ended. */
const PURGE_INTERVAL_MS = WINDOW_SECONDS * 1000;

/** The throttle's table, the same in SQLite and PostgreSQL (the shape rate-limiter-flexible reads). */
const MIGRATIONS: readonly string[] = [`CREATE TABLE ${THROTTLE_TABLE} (key VARCHAR(255) PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0, expire BIGINT)`];

/** The databases the server already opened, shared with the throttle. */
export interface SharedDatabases {
  readonly postgres?: PostgresDatabase;
  readonly sqlite?: Database.Database;
}

/** Where the throttle keeps its counts; shared by every process and instance that uses the same store. */
export interface ThrottleBackend {
  /** Which store: `redis`, `postgres`, `sqlite` or `memory`. */
  readonly kind: 'redis' | 'postgres' | 'sqlite' | 'memory';
  /** A limiter of `points` a minute whose keys start with `name`. */
  limiter(name: string, points: number): RateLimiterAbstract;
  /** Stops the purge timer and closes the connections the backend opened. */
  close(): Promise<void>;
}

type BackendConfig = Pick<Config, 'store' | 'redisUrl' | 'redisPrefix' | 'databaseUrl'>;

/**
 * Opens the throttle's store: Redis when `STORE=redis`, else PostgreSQL when `DATABASE_URL` is set,
 * else the SQLite database, or process memory with `STORE=memory` (one process only; the config
 * refuses `WORKERS` > 1 with it). Every choice but memory is shared by all instances and workers.
 *
 * The SQL backends own their table (`login_throttle`, migrated at boot like every other component's).
 *
 * @param shared - The PostgreSQL pool (with `DATABASE_URL`) or the SQLite file the server opened.
 * @throws {import('../errors.js').StoreUnavailableError} when Redis or the database cannot be reached at boot.
 * @throws {import('../errors.js').MigrationError} when the throttle's table cannot be brought up to date.
 */
export async function openThrottleBackend(config: BackendConfig, shared: SharedDatabases): Promise<ThrottleBackend> {
  if (config.store === 'redis') return openRedis(config.redisUrl as string, config.redisPrefix);
  if (config.databaseUrl !== undefined && shared.postgres) return openPostgres(shared.postgres);
  if (config.store === 'memory') {
    return { kind: 'memory', limiter: (name, points) => new RateLimiterMemory({ keyPrefix: name, points, duration: WINDOW_SECONDS }), close: async () => undefined };
  }
  if (!shared.sqlite) throw new Error('the login throttle needs the SQLite database or DATABASE_URL');
  return openSqlite(shared.sqlite);
}

async function openRedis(url: string, prefix: string): Promise<ThrottleBackend> {
  const client = new Redis(url, { ...REDIS_CLIENT_OPTIONS, connectionName: `${prefix.replace(/[^\w:.-]/g, '_')}throttle` });
  try {
    await waitReady(client, CONNECT_TIMEOUT_MS);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return {
    kind: 'redis',
    limiter: (name, points) =>
      new RateLimiterRedis({ storeClient: client, keyPrefix: `${prefix}throttle:${name}`, points, duration: WINDOW_SECONDS, rejectIfRedisNotReady: true }),
    async close() {
      client.disconnect();
    },
  };
}

/** The SQL limiters share one table, made at boot; expired rows are purged here, every window. */
const tableOptions = (name: string, points: number) =>
  ({ tableName: THROTTLE_TABLE, tableCreated: true, clearExpiredByTimeout: false, keyPrefix: name, points, duration: WINDOW_SECONDS }) as const;

async function openPostgres(db: PostgresDatabase): Promise<ThrottleBackend> {
  await db.migrate('throttle', MIGRATIONS);
  const purge = setInterval(() => {
    db.query(`DELETE FROM ${THROTTLE_TABLE} WHERE expire < $1`, [Date.now()]).catch(() => undefined);
  }, PURGE_INTERVAL_MS).unref();
  return {
    kind: 'postgres',
    limiter: (name, points) => new RateLimiterPostgres({ storeClient: db.pool, storeType: 'pool', ...tableOptions(name, points) }),
    // The pool belongs to the server (its user directory and session store close it).
    async close() {
      clearInterval(purge);
    },
  };
}

/**
 * rate-limiter-flexible's SQLite limiter with its one write statement prepared once per query text
 * and run on its own. The library prepares the upsert on every call and wraps it in a transaction
 * (BEGIN, the statement, COMMIT, and four new wrapper functions); a single `INSERT ... ON CONFLICT
 * ... RETURNING` is atomic in SQLite by itself. A login makes four of these writes (two counts
 * reserved, then given back); the preparing alone was about 5 % of a login's event-loop time in a
 * profile (docs/performance.md). It overrides the library's internal `_upsertTransactionBetterSQLite3`
 * (rate-limiter-flexible is pinned); `test/throttle/sqlite-limiter.test.ts` fails if the library
 * stops calling it, by counting the statements prepared.
 */
class CachedStatementSqliteLimiter extends RateLimiterSQLite {
  readonly #statements = new Map<string, Database.Statement>();

  /** Called by the library with its connection, query and parameters; returns the upserted row. */
  _upsertTransactionBetterSQLite3(conn: Database.Database, query: string, params: unknown[]): unknown {
    let statement = this.#statements.get(query);
    if (!statement) this.#statements.set(query, (statement = conn.prepare(query)));
    return statement.get(...params);
  }
}

function openSqlite(db: Database.Database): ThrottleBackend {
  migrateSqlite(db, 'throttle', MIGRATIONS);
  const purgeStatement = db.prepare(`DELETE FROM ${THROTTLE_TABLE} WHERE expire < ?`);
  const purge = setInterval(() => {
    try {
      if (db.open) purgeStatement.run(Date.now());
    } catch {
      // Busy: the next round deletes them.
    }
  }, PURGE_INTERVAL_MS).unref();
  return {
    kind: 'sqlite',
    limiter: (name, points) => new CachedStatementSqliteLimiter({ storeClient: db, storeType: 'better-sqlite3', ...tableOptions(name, points) }),
    // The file belongs to the server (its user directory or session store closes it).
    async close() {
      clearInterval(purge);
    },
  };
}
