import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withPostgres } from './probes.mjs';
import { describeNeeding } from './requirement.js';

/**
 * The PostgreSQL server the suites use: `PG_TEST_URL`, default the local one with trust auth.
 * Suites never write to its database: each file creates its own (`jwe_test_<random>`) and drops it.
 */
export const PG_TEST_URL = process.env.PG_TEST_URL || 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Pool options for contract suites: the production timeouts (400 ms / 500 ms) relaxed, because racing
 * callers queue on the pool and a loaded test machine slows PostgreSQL down. The production timeouts
 * are checked by `test/store/postgres-failure.test.ts`.
 */
export const RELAXED_TIMEOUTS = Object.freeze({ connectionTimeoutMillis: 10_000, query_timeout: 10_000, statement_timeout: 10_000 });

/** Whether PostgreSQL at `url` answers a query within about a second. */
export async function probePostgres(url: string): Promise<boolean> {
  try {
    return await withPostgres(url, async (client) => (await client.query('SELECT 1 AS one')).rows[0]?.one === 1);
  } catch {
    return false;
  }
}

/** Whether the test PostgreSQL answered when this file was loaded (probed once). */
export const postgresReachable = await probePostgres(PG_TEST_URL);

/** A suite that needs the PostgreSQL at {@link PG_TEST_URL}: skipped with one line without it, failed under `CI=true`. */
export function describeWithPostgres(name: string, body: () => void): void {
  describeNeeding('PostgreSQL', postgresReachable, `no PostgreSQL at ${PG_TEST_URL}`, 'set PG_TEST_URL', name, body);
}

/** A database made for one test file. */
export interface TestDatabase {
  /** Its connection URL. */
  readonly url: string;
  readonly name: string;
  /** Drops it, closing whatever connections are left. */
  drop(): Promise<void>;
}

/** Creates a fresh, empty database `jwe_test_<random>` on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `jwe_test_${randomBytes(6).toString('hex')}`;
  await withPostgres(PG_TEST_URL, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_TEST_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withPostgres(PG_TEST_URL, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * Gives the calling file its own database, created before its tests and dropped after them.
 *
 * @returns A function answering the database's URL (valid inside tests and hooks).
 */
export function testDatabasePerFile(): () => string {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());
  return () => {
    if (!database) throw new Error('the test database is not created yet');
    return database.url;
  };
}

/** Empties tables of the database at `url` (between tests of one file). Tables that do not exist yet are skipped. */
export async function emptyTables(url: string, tables: readonly string[]): Promise<void> {
  await withPostgres(url, async (client) => {
    const found = await client.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1)', [tables]);
    if (found.rows.length > 0) await client.query(`TRUNCATE ${found.rows.map((r) => r.name).join(', ')} CASCADE`);
  });
}
