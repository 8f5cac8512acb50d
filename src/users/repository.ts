import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { guarded } from '../db/sqlite.js';

/** A user as the server sees it. Times are epoch milliseconds. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly passwordChangedAt: number;
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  disabled: number;
  created_at: number;
  password_changed_at: number;
}

/** Raised for a username that is taken, malformed, or unknown to the CLI. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Usernames: 1 to 64 characters of letters, digits and `._@-`. */
export const USERNAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  passwordHash: row.password_hash,
  disabled: row.disabled === 1,
  createdAt: row.created_at,
  passwordChangedAt: row.password_changed_at,
});

/**
 * Users in the SQLite database at `SQLITE_PATH`. The server reads a user on every protected
 * request, so a user disabled or deleted by the CLI (another process) is refused on the next one.
 *
 * @example
 * const users = new UserRepository(openDatabase('data/auth.db'));
 * await users.add('alice', await hashPassword('s3cret-pass'));
 */
export class UserRepository {
  readonly #s;

  constructor(db: Database.Database) {
    this.#s = {
      insert: db.prepare(
        `INSERT INTO users (id, username, password_hash, disabled, created_at, password_changed_at)
         VALUES (?, ?, ?, 0, ?, ?)`,
      ),
      byId: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      byName: db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?'),
      all: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY username'),
      setDisabled: db.prepare('UPDATE users SET disabled = ? WHERE username = ?'),
      setHash: db.prepare('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM users WHERE username = ?'),
    };
  }

  /**
   * Adds a user with an already computed password hash.
   *
   * @throws {UserError} when the username is malformed or taken.
   */
  async add(username: string, passwordHash: string): Promise<User> {
    if (!USERNAME_PATTERN.test(username)) {
      throw new UserError('username must be 1 to 64 letters, digits, dots, dashes, underscores or @');
    }
    const now = Date.now();
    const id = randomUUID();
    try {
      guarded(() => this.#s.insert.run(id, username, passwordHash, now, now));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new UserError(`user ${username} already exists`);
      throw error;
    }
    return (await this.findById(id)) as User;
  }

  /** The user with this id, or `null`. */
  async findById(id: string): Promise<User | null> {
    const row = guarded(() => this.#s.byId.get(id));
    return row ? toUser(row) : null;
  }

  /** The user with this username (case-insensitive), or `null`. */
  async findByUsername(username: string): Promise<User | null> {
    const row = guarded(() => this.#s.byName.get(username));
    return row ? toUser(row) : null;
  }

  /** Every user, by username. */
  async list(): Promise<User[]> {
    return guarded(() => this.#s.all.all()).map(toUser);
  }

  /**
   * Disables or enables a user.
   *
   * @throws {UserError} when there is no such user.
   */
  async setDisabled(username: string, disabled: boolean): Promise<void> {
    if (guarded(() => this.#s.setDisabled.run(disabled ? 1 : 0, username)).changes === 0) {
      throw new UserError(`no user named ${username}`);
    }
  }

  /** Replaces a user's password hash. */
  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    guarded(() => this.#s.setHash.run(passwordHash, Date.now(), id));
  }

  /**
   * Deletes a user.
   *
   * @throws {UserError} when there is no such user.
   */
  async remove(username: string): Promise<void> {
    if (guarded(() => this.#s.remove.run(username)).changes === 0) throw new UserError(`no user named ${username}`);
  }
}
