import type { PostgresDatabase } from '../db/postgres.js';
import { toRecord, type SessionRow } from './session-row.js';
import type { RefreshAdvance, RefreshTokenFacts, SessionRecord, SessionStore } from './types.js';

/** The session store's tables in PostgreSQL, version by version (see `PostgresDatabase.migrate`). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS sessions (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     client_jwk TEXT NOT NULL,
     client_kid TEXT NOT NULL,
     user_agent TEXT,
     epoch TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     last_used_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     idle_expires_at BIGINT NOT NULL,
     revoked_at BIGINT,
     current_refresh_hash TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
   CREATE TABLE IF NOT EXISTS refresh_tokens (
     hash TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
     superseded_at BIGINT
   );
   CREATE INDEX IF NOT EXISTS refresh_by_session ON refresh_tokens (session_id);`,
  // DPoP (RFC 9449): the proof key a session is bound to, and the proof ids seen (replay detection).
  `ALTER TABLE sessions ADD COLUMN IF NOT EXISTS dpop_jkt TEXT;
   CREATE TABLE IF NOT EXISTS dpop_proofs (
     id TEXT PRIMARY KEY,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS dpop_proofs_by_end ON dpop_proofs (expires_at);`,
];

/** How often remembering a proof id also deletes the ids past their end. */
const PROOF_SWEEP_INTERVAL_MS = 60_000;

/** "Live at $n" for a row of `sessions`, written once. */
const live = (n: number) => `revoked_at IS NULL AND expires_at > $${n} AND idle_expires_at > $${n}`;

/**
 * A {@link SessionStore} in PostgreSQL (`STORE=postgres`), shared by every instance of a fleet.
 *
 * Every change is one statement (several steps joined by data-modifying CTEs), so it is atomic;
 * the refresh compare-and-set is an `UPDATE ... WHERE current_refresh_hash = expected`, which
 * PostgreSQL re-checks after waiting on a concurrent update of the row, so of racing callers on any
 * connections exactly one wins.
 *
 * Revocation reaches every instance by a read per protected request (one primary-key lookup, no
 * local cache): a session revoked on one instance is refused by every other on its next request.
 *
 * @example const store = await PostgresSessionStore.open(await PostgresDatabase.connect(url));
 */
export class PostgresSessionStore implements SessionStore {
  #nextProofSweep = 0;

  private constructor(private readonly db: PostgresDatabase) {}

  /**
   * Migrates the session tables (safe when several instances boot at once) and returns the store.
   *
   * @throws {import('../errors.js').MigrationError} or {import('../errors.js').StoreUnavailableError}.
   */
  static async open(db: PostgresDatabase): Promise<PostgresSessionStore> {
    await db.migrate('sessions', MIGRATIONS);
    return new PostgresSessionStore(db);
  }

  async createSession(session: SessionRecord, refreshHash: string): Promise<void> {
    await this.db.query(
      `WITH created AS (
         INSERT INTO sessions (id, user_id, client_jwk, client_kid, user_agent, epoch, created_at, last_used_at, expires_at,
           idle_expires_at, revoked_at, current_refresh_hash, dpop_jkt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id
       )
       INSERT INTO refresh_tokens (hash, session_id, superseded_at) SELECT $12, id, NULL FROM created`,
      [
        session.id,
        session.userId,
        JSON.stringify(session.clientJwk),
        session.clientKid,
        session.userAgent,
        session.epoch,
        session.createdAt,
        session.lastUsedAt,
        session.expiresAt,
        session.idleExpiresAt,
        session.revokedAt,
        refreshHash,
        session.dpopJkt,
      ],
    );
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const row = (await this.db.query<SessionRow>('SELECT * FROM sessions WHERE id = $1 AND expires_at > $2', [id, now])).rows[0];
    return row ? toRecord(row) : null;
  }

  async findRefreshToken(hash: string, now: number): Promise<RefreshTokenFacts | null> {
    const row = (
      await this.db.query<SessionRow & { superseded_at: string | null }>(
        `SELECT s.*, r.superseded_at FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
         WHERE r.hash = $1 AND s.expires_at > $2`,
        [hash, now],
      )
    ).rows[0];
    if (!row) return null;
    return { session: toRecord(row), currentHash: row.current_refresh_hash, supersededAt: row.superseded_at === null ? null : Number(row.superseded_at) };
  }

  async advanceRefreshToken(a: RefreshAdvance): Promise<SessionRecord | null> {
    const row = (
      await this.db.query<SessionRow>(
        `WITH advanced AS (
           UPDATE sessions SET current_refresh_hash = $3, last_used_at = $4, idle_expires_at = LEAST($5::bigint, expires_at)
           WHERE id = $1 AND current_refresh_hash = $2 AND ${live(4)}
           RETURNING *
         ), superseded AS (
           UPDATE refresh_tokens SET superseded_at = $4
           WHERE hash = $2 AND superseded_at IS NULL AND EXISTS (SELECT 1 FROM advanced)
         ), added AS (
           INSERT INTO refresh_tokens (hash, session_id, superseded_at) SELECT $3, id, NULL FROM advanced
         )
         SELECT * FROM advanced`,
        [a.sessionId, a.expectedHash, a.nextHash, a.now, a.idleExpiresAt],
      )
    ).rows[0];
    return row ? toRecord(row) : null;
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.db.query('UPDATE sessions SET last_used_at = $2 WHERE id = $1', [id, now]);
  }

  async revokeSession(id: string, now: number): Promise<boolean> {
    const result = await this.db.query('UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, now]);
    return (result.rowCount ?? 0) > 0;
  }

  async revokeUserSessions(userId: string, now: number, exceptId = ''): Promise<string[]> {
    const result = await this.db.query<{ id: string }>(
      'UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND id <> $3 AND revoked_at IS NULL RETURNING id',
      [userId, now, exceptId],
    );
    return result.rows.map((r) => r.id);
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const result = await this.db.query<SessionRow>(`SELECT * FROM sessions WHERE user_id = $1 AND ${live(2)} ORDER BY created_at DESC`, [userId, now]);
    return result.rows.map(toRecord);
  }

  async purgeExpired(now: number): Promise<number> {
    await this.db.query('DELETE FROM dpop_proofs WHERE expires_at <= $1', [now]);
    const result = await this.db.query('DELETE FROM sessions WHERE NOT (' + live(1) + ')', [now]);
    return result.rowCount ?? 0;
  }

  /**
   * `INSERT ... ON CONFLICT DO UPDATE ... WHERE` past its end: PostgreSQL re-checks the conflicting
   * row after a concurrent insert commits, so of racing callers on any connections exactly one wins.
   */
  async rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean> {
    if (now >= this.#nextProofSweep) {
      this.#nextProofSweep = now + PROOF_SWEEP_INTERVAL_MS;
      await this.db.query('DELETE FROM dpop_proofs WHERE expires_at <= $1', [now]);
    }
    const result = await this.db.query(
      `INSERT INTO dpop_proofs (id, expires_at) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dpop_proofs.expires_at <= $3`,
      [id, expiresAt, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async ping(): Promise<void> {
    await this.db.ping();
  }

  /** Closes the pool (shared with a PostgreSQL user directory, which then closes too). */
  async close(): Promise<void> {
    await this.db.close();
  }
}
