import type Database from 'better-sqlite3';
import { guarded, migrateSqlite } from '../db/sqlite.js';
import type { User } from '../users/directory.js';
import { toUser, type UserRow } from '../users/sqlite.js';
import { toRecord, type SessionRow } from './session-row.js';
import type { RefreshAdvance, RefreshTokenFacts, SessionRecord, SessionStore } from './types.js';

/** How often remembering a proof id also deletes the ids past their end. */
const PROOF_SWEEP_INTERVAL_MS = 60_000;

/**
 * The session store's own tables in the SQLite file, version by version (see `migrateSqlite`).
 * `IF NOT EXISTS`: files made before each component owned its tables already hold them.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS sessions (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     client_jwk TEXT NOT NULL,
     client_kid TEXT NOT NULL,
     user_agent TEXT,
     epoch TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     idle_expires_at INTEGER NOT NULL,
     revoked_at INTEGER,
     current_refresh_hash TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
   CREATE TABLE IF NOT EXISTS refresh_tokens (
     hash TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
     superseded_at INTEGER
   );
   CREATE INDEX IF NOT EXISTS refresh_by_session ON refresh_tokens (session_id);`,
  // DPoP (RFC 9449): the proof key a session is bound to, and the proof ids seen (replay detection).
  `ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
   CREATE TABLE dpop_proofs (
     id TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX dpop_proofs_by_end ON dpop_proofs (expires_at);`,
];

/** The `users` columns read beside a session, prefixed so they cannot clash with the session's. */
type PrefixedUserRow = { [K in keyof UserRow as `u_${K}`]: UserRow[K] | null };

/** What {@link SqliteSessionStore} is told about the file it shares. */
export interface SqliteStoreOptions {
  /**
   * The user directory's `users` table is in the same file (users are not in PostgreSQL): the store
   * then offers `getSessionWithUser`, one read for what a protected request checks.
   */
  readonly usersInSameFile?: boolean;
}

/**
 * The default {@link SessionStore}: durable rows in the SQLite file (shared with the users table
 * when users live in SQLite too). It creates and migrates its own tables. Every write is one
 * statement or an `IMMEDIATE` transaction, so concurrent processes on the file serialise on it.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #statements;
  readonly #advance;
  readonly #create;
  #nextProofSweep = 0;
  /** See {@link SessionStore.getSessionWithUser}; present with {@link SqliteStoreOptions.usersInSameFile}. */
  readonly getSessionWithUser?: (id: string, userId: string, now: number) => Promise<{ session: SessionRecord; user: User | null } | null>;

  /** @throws {import('../errors.js').MigrationError} when the tables cannot be brought up to date. */
  constructor(
    private readonly db: Database.Database,
    options: SqliteStoreOptions = {},
  ) {
    migrateSqlite(db, 'sessions', MIGRATIONS);
    if (options.usersInSameFile) {
      // One statement, so one read transaction (its locks are system calls) instead of two.
      const read = db.prepare<[string, string, number], SessionRow & PrefixedUserRow>(
        `SELECT s.*, u.id AS u_id, u.username AS u_username, u.password_hash AS u_password_hash, u.disabled AS u_disabled,
           u.created_at AS u_created_at, u.password_changed_at AS u_password_changed_at
         FROM sessions s LEFT JOIN users u ON u.id = ? WHERE s.id = ? AND s.expires_at > ?`,
      );
      this.getSessionWithUser = async (id, userId, now) => {
        const row = guarded(() => read.get(userId, id, now));
        if (!row) return null;
        return { session: toRecord(row), user: row.u_id === null ? null : toUser(unprefixed(row)) };
      };
    }
    const s = {
      insertSession: db.prepare(
        `INSERT INTO sessions (id, user_id, client_jwk, client_kid, dpop_jkt, user_agent, epoch, created_at, last_used_at, expires_at,
           idle_expires_at, revoked_at, current_refresh_hash)
         VALUES (@id, @userId, @clientJwk, @clientKid, @dpopJkt, @userAgent, @epoch, @createdAt, @lastUsedAt, @expiresAt, @idleExpiresAt,
           @revokedAt, @refreshHash)`,
      ),
      insertRefresh: db.prepare('INSERT INTO refresh_tokens (hash, session_id, superseded_at) VALUES (?, ?, NULL)'),
      getSession: db.prepare<[string, number], SessionRow>('SELECT * FROM sessions WHERE id = ? AND expires_at > ?'),
      findRefresh: db.prepare<[string, number], SessionRow & { superseded_at: number | null }>(
        `SELECT s.*, r.superseded_at FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
         WHERE r.hash = ? AND s.expires_at > ?`,
      ),
      advance: db.prepare<[string, number, number, string, string, number, number], SessionRow>(
        `UPDATE sessions SET current_refresh_hash = ?, last_used_at = ?, idle_expires_at = MIN(?, expires_at)
         WHERE id = ? AND current_refresh_hash = ? AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?
         RETURNING *`,
      ),
      supersede: db.prepare('UPDATE refresh_tokens SET superseded_at = ? WHERE hash = ? AND superseded_at IS NULL'),
      revoke: db.prepare('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      touch: db.prepare('UPDATE sessions SET last_used_at = ? WHERE id = ?'),
      liveOfUser: db.prepare<[string, number, number], SessionRow>(
        `SELECT * FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?
         ORDER BY created_at DESC`,
      ),
      revokeUser: db.prepare<[number, string, string], { id: string }>(
        'UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id != ? AND revoked_at IS NULL RETURNING id',
      ),
      purge: db.prepare('DELETE FROM sessions WHERE revoked_at IS NOT NULL OR expires_at <= ? OR idle_expires_at <= ?'),
      // Inserts a new id, or takes over one past its end; an id still remembered changes nothing.
      rememberProof: db.prepare(
        `INSERT INTO dpop_proofs (id, expires_at) VALUES (?, ?)
         ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE dpop_proofs.expires_at <= ?`,
      ),
      forgetProofs: db.prepare('DELETE FROM dpop_proofs WHERE expires_at <= ?'),
    };
    this.#statements = s;
    this.#create = db.transaction((session: SessionRecord, refreshHash: string) => {
      s.insertSession.run({ ...session, clientJwk: JSON.stringify(session.clientJwk), refreshHash });
      s.insertRefresh.run(refreshHash, session.id);
    });
    this.#advance = db.transaction((a: RefreshAdvance): SessionRecord | null => {
      const row = s.advance.get(a.nextHash, a.now, a.idleExpiresAt, a.sessionId, a.expectedHash, a.now, a.now);
      if (!row) return null;
      s.supersede.run(a.now, a.expectedHash);
      s.insertRefresh.run(a.nextHash, a.sessionId);
      return toRecord(row);
    });
  }

  async createSession(session: SessionRecord, refreshHash: string): Promise<void> {
    guarded(() => this.#create.immediate(session, refreshHash));
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const row = guarded(() => this.#statements.getSession.get(id, now));
    return row ? toRecord(row) : null;
  }

  async findRefreshToken(hash: string, now: number): Promise<RefreshTokenFacts | null> {
    const row = guarded(() => this.#statements.findRefresh.get(hash, now));
    return row ? { session: toRecord(row), currentHash: row.current_refresh_hash, supersededAt: row.superseded_at } : null;
  }

  async advanceRefreshToken(advance: RefreshAdvance): Promise<SessionRecord | null> {
    return guarded(() => this.#advance.immediate(advance));
  }

  async touchSession(id: string, now: number): Promise<void> {
    guarded(() => this.#statements.touch.run(now, id));
  }

  async revokeSession(id: string, now: number): Promise<boolean> {
    return guarded(() => this.#statements.revoke.run(now, id).changes > 0);
  }

  async revokeUserSessions(userId: string, now: number, exceptId = ''): Promise<string[]> {
    return guarded(() => this.#statements.revokeUser.all(now, userId, exceptId).map((r) => r.id));
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return guarded(() => this.#statements.liveOfUser.all(userId, now, now).map(toRecord));
  }

  async purgeExpired(now: number): Promise<number> {
    return guarded(() => {
      this.#statements.forgetProofs.run(now);
      return this.#statements.purge.run(now, now).changes;
    });
  }

  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    return guarded(() => {
      if (now >= this.#nextProofSweep) {
        this.#statements.forgetProofs.run(now);
        this.#nextProofSweep = now + PROOF_SWEEP_INTERVAL_MS;
      }
      return this.#statements.rememberProof.run(id, expiresAt, now).changes > 0;
    });
  }

  /** Takes and releases the write lock, so a locked or read-only database reports itself unavailable. */
  async ping(): Promise<void> {
    guarded(() => {
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** The user columns of a joined row, as the `users` table names them. */
function unprefixed(row: PrefixedUserRow): UserRow {
  return {
    id: row.u_id as string,
    username: row.u_username as string,
    password_hash: row.u_password_hash as string,
    disabled: row.u_disabled as number,
    created_at: row.u_created_at as number,
    password_changed_at: row.u_password_changed_at as number,
  };
}
