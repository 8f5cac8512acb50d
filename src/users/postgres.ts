import { randomUUID } from 'node:crypto';
import { sqlState, type PostgresDatabase } from '../db/postgres.js';
import { checkUsername, noSuchUser, noUserWithId, userExists, type User, type UserDirectory } from './directory.js';

/**
 * The user directory's tables in PostgreSQL, version by version (see `PostgresDatabase.migrate`).
 * Usernames are unique by their lower-case form, and found the same way.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     disabled BOOLEAN NOT NULL DEFAULT FALSE,
     created_at BIGINT NOT NULL,
     password_changed_at BIGINT NOT NULL
   );
   CREATE UNIQUE INDEX IF NOT EXISTS users_by_username ON users (lower(username));`,
];

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  disabled: boolean;
  created_at: string;
  password_changed_at: string;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  passwordHash: row.password_hash,
  disabled: row.disabled,
  createdAt: Number(row.created_at),
  passwordChangedAt: Number(row.password_changed_at),
});

/**
 * Users in PostgreSQL (`DATABASE_URL`), shared by every instance of a fleet and by the CLI. Every
 * lookup is one indexed read; nothing is cached, so a change by the CLI on any host holds on every
 * instance's next request.
 *
 * @example
 * const users = await PostgresUserDirectory.open(await PostgresDatabase.connect(url));
 */
export class PostgresUserDirectory implements UserDirectory {
  private constructor(private readonly db: PostgresDatabase) {}

  /**
   * Migrates the users table (safe when several instances boot at once) and returns the directory.
   *
   * @throws {import('../errors.js').MigrationError} or {import('../errors.js').StoreUnavailableError}.
   */
  static async open(db: PostgresDatabase): Promise<PostgresUserDirectory> {
    await db.migrate('users', MIGRATIONS);
    return new PostgresUserDirectory(db);
  }

  async add(username: string, passwordHash: string, now: number): Promise<User> {
    checkUsername(username);
    const id = randomUUID();
    try {
      await this.db.query(
        `INSERT INTO users (id, username, password_hash, disabled, created_at, password_changed_at) VALUES ($1, $2, $3, FALSE, $4, $4)`,
        [id, username, passwordHash, now],
      );
    } catch (error) {
      if (sqlState(error) === '23505') throw userExists(username);
      throw error;
    }
    return { id, username, passwordHash, disabled: false, createdAt: now, passwordChangedAt: now };
  }

  async findById(id: string): Promise<User | null> {
    return this.#one('SELECT * FROM users WHERE id = $1', [id]);
  }

  async findByUsername(username: string): Promise<User | null> {
    return this.#one('SELECT * FROM users WHERE lower(username) = lower($1)', [username]);
  }

  async list(): Promise<User[]> {
    return (await this.db.query<UserRow>('SELECT * FROM users ORDER BY lower(username)')).rows.map(toUser);
  }

  async setDisabled(username: string, disabled: boolean): Promise<User> {
    const user = await this.#one('UPDATE users SET disabled = $2 WHERE lower(username) = lower($1) RETURNING *', [username, disabled]);
    if (!user) throw noSuchUser(username);
    return user;
  }

  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    const result = await this.db.query('UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1', [id, passwordHash, now]);
    if (result.rowCount === 0) throw noUserWithId(id);
  }

  async remove(username: string): Promise<User> {
    const user = await this.#one('DELETE FROM users WHERE lower(username) = lower($1) RETURNING *', [username]);
    if (!user) throw noSuchUser(username);
    return user;
  }

  async ping(): Promise<void> {
    await this.db.ping();
  }

  /** Closes the pool (shared with a PostgreSQL session store, which then closes too). */
  async close(): Promise<void> {
    await this.db.close();
  }

  async #one(text: string, values: readonly unknown[]): Promise<User | null> {
    const row = (await this.db.query<UserRow>(text, values)).rows[0];
    return row ? toUser(row) : null;
  }
}
