import type Database from 'better-sqlite3';
import { guarded } from '../db/sqlite.js';
import { isLive, type RotateOptions, type RotateResult, type SessionRecord, type SessionStore } from './types.js';

interface SessionRow {
  id: string;
  user_id: string;
  client_jwk: string;
  client_kid: string;
  user_agent: string | null;
  epoch: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  idle_expires_at: number;
  revoked_at: number | null;
  current_refresh_hash: string;
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    clientJwk: JSON.parse(row.client_jwk) as SessionRecord['clientJwk'],
    clientKid: row.client_kid,
    userAgent: row.user_agent,
    epoch: row.epoch,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    idleExpiresAt: row.idle_expires_at,
    revokedAt: row.revoked_at,
  };
}

/**
 * The default {@link SessionStore}: durable rows in the SQLite file shared with the users table.
 * Rotation runs in an `IMMEDIATE` transaction, so concurrent processes serialise on it.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #statements;
  readonly #rotate;
  readonly #create;

  constructor(private readonly db: Database.Database) {
    const s = {
      insertSession: db.prepare(
        `INSERT INTO sessions (id, user_id, client_jwk, client_kid, user_agent, epoch, created_at, last_used_at, expires_at,
           idle_expires_at, revoked_at, current_refresh_hash)
         VALUES (@id, @userId, @clientJwk, @clientKid, @userAgent, @epoch, @createdAt, @lastUsedAt, @expiresAt, @idleExpiresAt,
           @revokedAt, @refreshHash)`,
      ),
      insertRefresh: db.prepare('INSERT INTO refresh_tokens (hash, session_id, superseded_at) VALUES (?, ?, NULL)'),
      getSession: db.prepare<[string, number], SessionRow>('SELECT * FROM sessions WHERE id = ? AND expires_at > ?'),
      getRefresh: db.prepare<[string], { session_id: string; superseded_at: number | null }>(
        'SELECT session_id, superseded_at FROM refresh_tokens WHERE hash = ?',
      ),
      getSessionAny: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id = ?'),
      supersede: db.prepare('UPDATE refresh_tokens SET superseded_at = ? WHERE hash = ? AND superseded_at IS NULL'),
      advance: db.prepare(
        'UPDATE sessions SET current_refresh_hash = ?, last_used_at = ?, idle_expires_at = MIN(?, expires_at) WHERE id = ?',
      ),
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
    };
    this.#statements = s;
    this.#create = db.transaction((session: SessionRecord, refreshHash: string) => {
      s.insertSession.run({ ...session, clientJwk: JSON.stringify(session.clientJwk), refreshHash });
      s.insertRefresh.run(refreshHash, session.id);
    });
    this.#rotate = db.transaction((presented: string, next: string, options: RotateOptions): RotateResult => {
      const token = s.getRefresh.get(presented);
      const row = token && s.getSessionAny.get(token.session_id);
      if (!token || !row || !isLive(toRecord(row), options.now)) return { status: 'invalid' };
      const duplicate = row.current_refresh_hash !== presented;
      if (duplicate && (token.superseded_at === null || options.now - token.superseded_at > options.graceMs)) {
        s.revoke.run(options.now, row.id);
        return { status: 'reused', sessionId: row.id };
      }
      s.supersede.run(options.now, row.current_refresh_hash);
      s.insertRefresh.run(next, row.id);
      s.advance.run(next, options.now, options.idleExpiresAt, row.id);
      return { status: 'rotated', session: toRecord(s.getSessionAny.get(row.id) as SessionRow), duplicate };
    });
  }

  async createSession(session: SessionRecord, refreshHash: string): Promise<void> {
    guarded(() => this.#create.immediate(session, refreshHash));
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = guarded(() => this.#statements.getSession.get(id, Date.now()));
    return row ? toRecord(row) : null;
  }

  async rotateRefreshToken(presentedHash: string, nextHash: string, options: RotateOptions): Promise<RotateResult> {
    return guarded(() => this.#rotate.immediate(presentedHash, nextHash, options));
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
    return guarded(() => this.#statements.purge.run(now, now).changes);
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
