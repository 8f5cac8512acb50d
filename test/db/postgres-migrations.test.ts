import pg from 'pg';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { MigrationError, StoreUnavailableError } from '../../src/errors.js';
import { PostgresSessionStore } from '../../src/store/postgres.js';
import { PostgresUserDirectory } from '../../src/users/postgres.js';
import { freePort, startServerExpectingFailure } from '../helpers/process.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';
import { tempDirPerTest } from '../helpers/runtime.js';

/** What an instance does at boot with `STORE=postgres`: connect, then each component migrates its tables. */
async function bootMigrations(url: string): Promise<void> {
  const db = await PostgresDatabase.connect(url, { max: 2 });
  try {
    await PostgresUserDirectory.open(db);
    await PostgresSessionStore.open(db);
  } finally {
    await db.close();
  }
}

async function rows(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describeWithPostgres('PostgreSQL migrations at boot', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(() => database.drop());

  it('migrate a fresh database once when six instances boot at the same moment, and again changes nothing', async () => {
    await Promise.all(Array.from({ length: 6 }, () => bootMigrations(database.url)));
    const versions = await rows(database.url, 'SELECT component, version FROM jwe_auth_migrations ORDER BY component');
    expect(versions).toEqual([
      { component: 'sessions', version: 2 },
      { component: 'users', version: 1 },
    ]);
    const tables = await rows(database.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
    expect(tables).toEqual([{ tablename: 'dpop_proofs' }, { tablename: 'jwe_auth_migrations' }, { tablename: 'refresh_tokens' }, { tablename: 'sessions' }, { tablename: 'users' }]);
    await bootMigrations(database.url);
    expect(await rows(database.url, 'SELECT component, version FROM jwe_auth_migrations ORDER BY component')).toEqual(versions);
  });

  it('refuses a schema newer than this server knows; the server stops its boot with one line', async () => {
    await bootMigrations(database.url);
    await rows(database.url, "UPDATE jwe_auth_migrations SET version = 99 WHERE component = 'sessions'");
    await expect(bootMigrations(database.url)).rejects.toMatchObject({ code: 'migration_failed', name: 'MigrationError' });
    const result = await startServerExpectingFailure({ env: { STORE: 'postgres', DATABASE_URL: database.url, LOG_LEVEL: 'silent' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('jwe-auth-server: refusing to start: the sessions tables are at version 99, newer than this server knows (2)\n');
  });

  it('rolls a failed migration back whole and records nothing', async () => {
    const db = await PostgresDatabase.connect(database.url);
    try {
      const failed = db.migrate('trial', ['CREATE TABLE trial_ok (id INTEGER)', 'CREATE TABLE trial_bad (id NO_SUCH_TYPE)']);
      await expect(failed).rejects.toBeInstanceOf(MigrationError);
      expect(await rows(database.url, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'trial%'")).toEqual([]);
      // Even the bookkeeping table made in that transaction is gone.
      expect(await rows(database.url, "SELECT to_regclass('jwe_auth_migrations') AS found")).toEqual([{ found: null }]);
    } finally {
      await db.close();
    }
  });
});

describe('a PostgreSQL that cannot be reached', () => {
  const dir = tempDirPerTest('jwe-auth-pg-boot-');

  it('fails to connect with StoreUnavailableError naming where, never the password', async () => {
    const port = await freePort();
    const error = await PostgresDatabase.connect(`postgres://auth:s3cret-password@127.0.0.1:${port}/auth`, {}, 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: 'store_unavailable' });
    expect((error as Error).message).toContain(`127.0.0.1:${port}/auth`);
    expect((error as Error).message).not.toContain('s3cret-password');
  });

  it.each(['sqlite', 'postgres'])('stops the boot with one line (STORE=%s)', async (store) => {
    const port = await freePort();
    const result = await startServerExpectingFailure({
      env: { STORE: store, DATABASE_URL: `postgres://auth:s3cret-password@127.0.0.1:${port}/auth`, SQLITE_PATH: `${dir()}/auth.db`, LOG_LEVEL: 'silent' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^jwe-auth-server: refusing to start: postgres: 127\\.0\\.0\\.1:${port}/auth does not answer [^\\n]*\\n$`));
    expect(result.stderr).not.toContain('s3cret-password');
  });
});
