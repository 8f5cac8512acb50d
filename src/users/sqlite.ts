import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { guarded, migrateSqlite } from '../db/sqlite.js';
import { checkUsername, noSuchUser, noUserWithId, userExists, type User, type UserDirectory } from './directory.js';

/**
 * The user directory's own table in the SQLite file (see `migrateSqlite`). `IF NOT EXISTS`: files
 * made before each component owned its tables already hold it.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     password_changed_at INTEGER NOT NULL
   );`,
];

/** A row of the `users` table. */
export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  disabled: number;
  created_at: number;
  password_changed_at: number;
}

/** A `users` row as a {@link User}. */
export const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  passwordHash: row.password_hash,
  disabled: row.disabled === 1,
  createdAt: row.created_at,
  passwordChangedAt: row.password_changed_at,
});

/**
 * Users in the SQLite file at `SQLITE_PATH` (the default when `DATABASE_URL` is unset). It creates
 * and migrates its own table. The CLI writes the same file while the server runs.
 *
 * @example
 * const users = new SqliteUserDirectory(openDatabase('data/auth.db'));
 * await users.add('alice', await hashPassword('s3cret-pass'), Date.now());
 */
export class SqliteUserDirectory implements UserDirectory {
  readonly #s;

  /** @throws {import('../errors.js').MigrationError} when the table cannot be brought up to date. */
  constructor(private readonly db: Database.Database) {
    migrateSqlite(db, 'users', MIGRATIONS);
    this.#s = {
      insert: db.prepare(
        `INSERT INTO users (id, username, password_hash, disabled, created_at, password_changed_at)
         VALUES (?, ?, ?, 0, ?, ?)`,
      ),
      byId: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      byName: db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?'),
      all: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY username'),
      setDisabled: db.prepare<[number, string], UserRow>('UPDATE users SET disabled = ? WHERE username = ? RETURNING *'),
      setHash: db.prepare('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?'),
      remove: db.prepare<[string], UserRow>('DELETE FROM users WHERE username = ? RETURNING *'),
    };
  }

  async add(username: string, passwordHash: string, now: number): Promise<User> {
    checkUsername(username);
    const id = randomUUID();
    try {
      guarded(() => this.#s.insert.run(id, username, passwordHash, now, now));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw userExists(username);
      throw error;
    }
    return { id, username, passwordHash, disabled: false, createdAt: now, passwordChangedAt: now };
  }

  async findById(id: string): Promise<User | null> {
    const row = guarded(() => this.#s.byId.get(id));
    return row ? toUser(row) : null;
  }

  async findByUsername(username: string): Promise<User | null> {
    const row = guarded(() => this.#s.byName.get(username));
    return row ? toUser(row) : null;
  }

  async list(): Promise<User[]> {
    return guarded(() => this.#s.all.all()).map(toUser);
  }

  async setDisabled(username: string, disabled: boolean): Promise<User> {
    const row = guarded(() => this.#s.setDisabled.get(disabled ? 1 : 0, username));
    if (!row) throw noSuchUser(username);
    return toUser(row);
  }

  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    if (guarded(() => this.#s.setHash.run(passwordHash, now, id)).changes === 0) throw noUserWithId(id);
  }

  async remove(username: string): Promise<User> {
    const row = guarded(() => this.#s.remove.get(username));
    if (!row) throw noSuchUser(username);
    return toUser(row);
  }

  async ping(): Promise<void> {
    guarded(() => this.db.prepare('SELECT 1').get());
  }

  /** Closes the database file (a SQLite session store on the same file closes with it). */
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
