import pg from 'pg';
import { MigrationError, StoreUnavailableError } from '../errors.js';

/**
 * Timeouts that make an unreachable or stalled PostgreSQL fail a request in under a second (503
 * with `Retry-After`) instead of holding it:
 * - `connectionTimeoutMillis: 400`: waiting for a pooled connection, or opening one, gives up after 400 ms.
 * - `query_timeout: 500`: the client stops waiting for an answer after 500 ms (and the pool
 *   discards that connection).
 * - `statement_timeout: 500`: the server cancels a statement running longer, freeing its locks.
 * - `max: 10` connections per instance; idle ones close after 30 s; TCP keep-alive on.
 */
export const POSTGRES_POOL_OPTIONS: Readonly<pg.PoolConfig> = Object.freeze({
  max: 10,
  connectionTimeoutMillis: 400,
  query_timeout: 500,
  statement_timeout: 500,
  idleTimeoutMillis: 30_000,
  keepAlive: true,
  application_name: 'jwe-auth-server',
});

/** How long {@link PostgresDatabase.connect} keeps trying at boot. */
export const POSTGRES_CONNECT_TIMEOUT_MS = 2000;
/** How long a migration may wait for another instance's migration (the lock) and run. */
export const MIGRATION_TIMEOUT_MS = 60_000;

/**
 * SQLSTATE classes that mean "cannot answer now", not "bad request": 08 connection, 53 insufficient
 * resources, 57 operator intervention (a statement timeout, a shutdown), 58 system error, 40
 * transaction rollback, 3D000 no such database, 25006 read-only transaction, 55P03 lock not available.
 */
const UNAVAILABLE = /^(08|53|57|58|40|3D000|25006|55P03)/;

/** Where a URL points, without its credentials, for messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'the database';
  }
}

/**
 * A pooled PostgreSQL connection (`pg`), shared by the user directory and the session store. Every
 * driver failure that means "cannot answer" becomes {@link StoreUnavailableError}; a refusal the
 * schema makes (a unique violation) stays a `pg.DatabaseError` for the caller to translate.
 *
 * @example
 * const db = await PostgresDatabase.connect(process.env.DATABASE_URL);
 * await db.migrate('users', USER_MIGRATIONS);
 */
export class PostgresDatabase {
  #closed = false;

  private constructor(
    readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  /**
   * Opens a pool on `url` and waits until PostgreSQL answers, retrying for `connectTimeoutMs`.
   *
   * @param options - Overrides of {@link POSTGRES_POOL_OPTIONS} (tests use them to tune timeouts).
   * @throws {StoreUnavailableError} naming host, port and database (never the password) when it does not answer in time.
   */
  static async connect(url: string, options: pg.PoolConfig = {}, connectTimeoutMs = POSTGRES_CONNECT_TIMEOUT_MS): Promise<PostgresDatabase> {
    const pool = new pg.Pool({ ...POSTGRES_POOL_OPTIONS, ...options, connectionString: url });
    // An idle connection that breaks emits 'error' on the pool; the next query reports it instead.
    pool.on('error', () => undefined);
    const db = new PostgresDatabase(pool, url);
    const deadline = Date.now() + connectTimeoutMs;
    for (;;) {
      try {
        await db.ping();
        return db;
      } catch (error) {
        if (Date.now() >= deadline) {
          await db.close();
          throw new StoreUnavailableError(`postgres: ${describeUrl(url)} does not answer (${(error as Error).message})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * Runs one statement on a pooled connection.
   *
   * @throws {StoreUnavailableError} when PostgreSQL cannot answer; other `pg.DatabaseError`s as they are.
   */
  async query<R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values as unknown[]);
    } catch (error) {
      throw translate(error);
    }
  }

  /** Resolves when PostgreSQL answers; rejects with `StoreUnavailableError` otherwise. */
  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /**
   * Brings one component's tables up to date, safely when several instances boot at once: on its
   * own connection, in one transaction holding a transaction-level advisory lock (so migrators
   * queue and each sees what the one before it did), runs the migrations past the version recorded
   * for `component` in `jwe_auth_migrations`, then records the new version. Idempotent.
   *
   * @param component - Who owns the tables (`users`, `sessions`).
   * @param migrations - SQL scripts in order; index + 1 is the version. Never edit a released one.
   * @throws {MigrationError} when the database records a newer version than this code knows, or a script fails.
   * @throws {StoreUnavailableError} when PostgreSQL cannot answer.
   */
  async migrate(component: string, migrations: readonly string[]): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
      query_timeout: MIGRATION_TIMEOUT_MS,
      statement_timeout: MIGRATION_TIMEOUT_MS,
      application_name: 'jwe-auth-server migrations',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('jwe-auth-server migrations'))");
      await client.query('CREATE TABLE IF NOT EXISTS jwe_auth_migrations (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
      const found = await client.query<{ version: number }>('SELECT version FROM jwe_auth_migrations WHERE component = $1', [component]);
      const version = found.rows[0]?.version ?? 0;
      if (version > migrations.length) {
        throw new MigrationError(`the ${component} tables are at version ${version}, newer than this server knows (${migrations.length})`);
      }
      for (const sql of migrations.slice(version)) {
        await client.query(sql).catch((error: unknown) => {
          const unavailable = translate(error);
          throw unavailable instanceof StoreUnavailableError ? unavailable : new MigrationError(`cannot migrate the ${component} tables: ${(error as Error).message}`);
        });
      }
      await client.query(
        `INSERT INTO jwe_auth_migrations (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version`,
        [component, migrations.length],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof MigrationError || error instanceof StoreUnavailableError) throw error;
      throw translate(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Closes the pool once; later calls do nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end().catch(() => undefined);
  }
}

/**
 * The SQLSTATE of an error PostgreSQL itself answered (a `pg.DatabaseError`), or `undefined` for any
 * other failure (a broken connection, a timeout). Read from the error's shape, not `instanceof`, so
 * it holds whichever copy of `pg` made the error.
 *
 * @example if (sqlState(error) === '23505') throw userExists(username);
 */
export function sqlState(error: unknown): string | undefined {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : undefined;
}

/** A driver failure as the caller should see it: "cannot answer" becomes `StoreUnavailableError`. */
function translate(error: unknown): Error {
  const state = sqlState(error);
  if (state !== undefined && !UNAVAILABLE.test(state)) return error as Error;
  const message = (error as { message?: unknown } | null)?.message;
  return new StoreUnavailableError(`postgres: ${state === undefined ? '' : `${state} `}${typeof message === 'string' ? message : String(error)}`);
}

