import type Database from 'better-sqlite3';
import type { Config } from '../config/index.js';
import { PostgresDatabase } from '../db/postgres.js';
import { openDatabase } from '../db/sqlite.js';
import type { UserDirectory } from './directory.js';
import { PostgresUserDirectory } from './postgres.js';
import { SqliteUserDirectory } from './sqlite.js';

export { UserError, USERNAME_PATTERN, checkUsername, type User, type UserDirectory, type UserErrorCode } from './directory.js';
export { MemoryUserDirectory } from './memory.js';
export { SqliteUserDirectory } from './sqlite.js';
export { PostgresUserDirectory } from './postgres.js';
export {
  hashPassword,
  verifyPassword,
  configurePasswordHashing,
  closePasswordHashing,
  ARGON2_OPTIONS,
  type PasswordHashingOptions,
} from './password.js';

/**
 * Where the users of this configuration live, chosen once for the server and the CLI alike:
 * PostgreSQL at `DATABASE_URL` when it is set, else SQLite at `SQLITE_PATH`.
 *
 * @param shared - Already open connections to reuse (the server shares them with its session store).
 * @throws {import('../errors.js').StoreUnavailableError} when the database does not answer.
 * @throws {import('../errors.js').MigrationError} when its tables cannot be brought up to date.
 * @example const users = await openUserDirectory(loadConfig());
 */
export async function openUserDirectory(
  config: Pick<Config, 'databaseUrl' | 'sqlitePath'>,
  shared: { postgres?: PostgresDatabase; sqlite?: Database.Database } = {},
): Promise<UserDirectory> {
  if (config.databaseUrl !== undefined) {
    const db = shared.postgres ?? (await PostgresDatabase.connect(config.databaseUrl));
    try {
      return await PostgresUserDirectory.open(db);
    } catch (error) {
      if (!shared.postgres) await db.close();
      throw error;
    }
  }
  const db = shared.sqlite ?? openDatabase(config.sqlitePath);
  try {
    return new SqliteUserDirectory(db);
  } catch (error) {
    if (!shared.sqlite) db.close();
    throw error;
  }
}
