import type { JWK } from 'jose';

/**
 * A session as the store keeps it: one per login, bound to the client key it was opened with.
 * Times are epoch milliseconds.
 */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  /** The client's public JWK (public members only); refreshes re-encrypt to it. */
  readonly clientJwk: JWK;
  /** RFC 7638 thumbprint of {@link SessionRecord.clientJwk}. */
  readonly clientKid: string;
  readonly userAgent: string | null;
  /**
   * The key epoch the session was opened in. Without `PRESERVE_SESSIONS_ON_REBOOT` every boot has a
   * new epoch, so no session of an earlier boot is honoured.
   */
  readonly epoch: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  /** Absolute end of the session (login + `REFRESH_TOKEN_TTL`). */
  readonly expiresAt: number;
  /** Idle end of the session; each refresh moves it forward, never past `expiresAt`. */
  readonly idleExpiresAt: number;
  /** When the session was revoked, or `null` while it is live. */
  readonly revokedAt: number | null;
}

/** Whether a session record is live at `now`: not revoked, not past either of its ends. */
export function isLive(session: SessionRecord, now: number): boolean {
  return session.revokedAt === null && now < session.expiresAt && now < session.idleExpiresAt;
}

/** The outcome of presenting a refresh token; see {@link SessionStore.rotateRefreshToken}. */
export type RotateResult =
  | { readonly status: 'rotated'; readonly session: SessionRecord; readonly duplicate: boolean }
  | { readonly status: 'reused'; readonly sessionId: string }
  | { readonly status: 'invalid' };

/** What a refresh rotation needs besides the tokens. */
export interface RotateOptions {
  readonly now: number;
  /** How long a rotated token may be presented again without revoking the session (ms). */
  readonly graceMs: number;
  /** The session's new idle end (capped at its absolute end by the store). */
  readonly idleExpiresAt: number;
}

/**
 * Where sessions and refresh tokens live. Refresh tokens are known only by their SHA-256 hashes.
 *
 * Semantics every implementation keeps (the contract suite in `test/store/contract.ts` checks them):
 * - Every method either does all of its change or none of it.
 * - Lookups of unknown or expired things return `null` (or an empty list); they never throw for that.
 * - When the backing service cannot answer (connection lost, timeout, database locked or read-only),
 *   methods reject with `StoreUnavailableError` and change nothing; callers fail closed (503).
 */
export interface SessionStore {
  /** Stores a new session with its first refresh token (by hash), atomically. */
  createSession(session: SessionRecord, refreshHash: string): Promise<void>;

  /** The session with this id, revoked or not, or `null` when unknown or past its ends. */
  getSession(id: string): Promise<SessionRecord | null>;

  /**
   * Presents a refresh token (by hash) and, atomically, replaces it with `nextHash`.
   *
   * - The session's current token: it is rotated; `nextHash` becomes the only live successor.
   * - A token rotated no longer ago than `graceMs`: a duplicate (two tabs, a lost response). The
   *   session is kept, the current token is rotated in turn and `nextHash` becomes the only live
   *   successor, so however many requests race, one token never leaves two live successors.
   * - A token rotated longer ago than `graceMs`: reuse. The whole session is revoked.
   * - An unknown token, or one whose session is revoked or past its ends: `invalid`, nothing changes.
   */
  rotateRefreshToken(presentedHash: string, nextHash: string, options: RotateOptions): Promise<RotateResult>;

  /** Marks a session as used at `now` (kept at most once a minute by callers). */
  touchSession(id: string, now: number): Promise<void>;

  /** Revokes one session. Idempotent; returns `true` only when a live session was revoked now. */
  revokeSession(id: string, now: number): Promise<boolean>;

  /** Revokes every live session of a user except `exceptId`; returns the ids revoked. */
  revokeUserSessions(userId: string, now: number, exceptId?: string): Promise<string[]>;

  /** The user's live sessions, newest first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>;

  /** Deletes sessions that are no longer live (revoked or past an end) with their refresh tokens. */
  purgeExpired(now: number): Promise<number>;

  /** Resolves when the store can answer; rejects with `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;

  /** Releases connections. */
  close(): Promise<void>;
}
