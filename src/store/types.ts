import type { JWK } from 'jose';
import type { User } from '../users/directory.js';

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
  /**
   * RFC 7638 thumbprint of the DPoP proof key the session is bound to (RFC 9449), or `null` for a
   * session opened without a proof. Never changes.
   */
  readonly dpopJkt: string | null;
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

/**
 * What the store knows about a presented refresh token, read in one atomic step: the session it
 * belongs to (whatever its state), that session's current token, and when the presented token was
 * superseded. The rotation rule (`sessions/rotation.ts`) decides from these facts alone.
 */
export interface RefreshTokenFacts {
  /** The token's session as stored: revoked or past an end included (only a vanished one is left out). */
  readonly session: SessionRecord;
  /** Hash of the session's current (live) refresh token. */
  readonly currentHash: string;
  /** When the presented token was superseded by its successor, or `null` while it is the current one. */
  readonly supersededAt: number | null;
}

/** A compare-and-set of a session's refresh token; see {@link SessionStore.advanceRefreshToken}. */
export interface RefreshAdvance {
  readonly sessionId: string;
  /** The current token the caller saw; the advance applies only if it is still the current one. */
  readonly expectedHash: string;
  /** The successor, which becomes the session's only live token. */
  readonly nextHash: string;
  readonly now: number;
  /** The session's new idle end; the store caps it at the absolute end. */
  readonly idleExpiresAt: number;
}

/**
 * Where sessions and refresh tokens live. Refresh tokens are known only by their SHA-256 hashes.
 * Stores keep facts and apply changes; they decide nothing about refresh rotation (the rule lives
 * once in `sessions/rotation.ts`), so a new backend adds storage code only.
 *
 * Semantics every implementation keeps (the contract suite in `test/store/contract.ts` checks them):
 * - Every method either does all of its change or none of it, and is atomic against every other
 *   caller, in this process or another instance sharing the backend.
 * - Time comes in as `now` (epoch ms); no method reads a clock to decide.
 * - Lookups of unknown or expired things return `null` (or an empty list); they never throw for that.
 * - When the backing service cannot answer (connection lost, timeout, database locked or read-only),
 *   methods reject with `StoreUnavailableError` and change nothing; callers fail closed (503).
 */
export interface SessionStore {
  /** Stores a new session with its first refresh token (by hash), atomically. */
  createSession(session: SessionRecord, refreshHash: string): Promise<void>;

  /** The session with this id, revoked or not, or `null` when unknown or past its absolute end at `now`. */
  getSession(id: string, now: number): Promise<SessionRecord | null>;

  /**
   * Optional, offered only by a store whose database also holds the user directory: the session
   * (as {@link SessionStore.getSession}) with the user `userId` (or `null` for an unknown user), read
   * in one step; `null` when the session is unknown or past its absolute end at `now`. Protected
   * requests use it instead of two reads; it caches nothing, so a revocation or a disabled user is
   * seen by the next request.
   */
  getSessionWithUser?(id: string, userId: string, now: number): Promise<{ session: SessionRecord; user: User | null } | null>;

  /**
   * The facts about a presented refresh token (by hash), read atomically, or `null` when the token
   * is unknown or its session has vanished or is past its absolute end at `now`. Changes nothing.
   */
  findRefreshToken(hash: string, now: number): Promise<RefreshTokenFacts | null>;

  /**
   * Compare-and-set: if the session is live at `now` and its current token is still
   * `expectedHash`, atomically marks that token superseded at `now` (unless it already was), makes
   * `nextHash` the current token, sets `lastUsedAt` to `now` and the idle end to
   * `min(idleExpiresAt, expiresAt)`, and returns the updated session. Otherwise changes nothing and
   * returns `null` (another caller advanced first, or the session was revoked or ended meanwhile):
   * of any number of callers racing with one `expectedHash`, exactly one succeeds.
   */
  advanceRefreshToken(advance: RefreshAdvance): Promise<SessionRecord | null>;

  /** Marks a session as used at `now` (kept at most once a minute by callers). Never revives or creates one. */
  touchSession(id: string, now: number): Promise<void>;

  /** Revokes one session. Idempotent; returns `true` only when a live session was revoked now. */
  revokeSession(id: string, now: number): Promise<boolean>;

  /** Revokes every live session of a user except `exceptId`; returns the ids revoked. */
  revokeUserSessions(userId: string, now: number, exceptId?: string): Promise<string[]>;

  /** The user's live sessions, newest first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>;

  /**
   * Deletes sessions that are no longer live (revoked or past an end) with their refresh tokens, and
   * forgets proof ids past their end. Returns how many sessions it deleted.
   */
  purgeExpired(now: number): Promise<number>;

  /**
   * Remembers the id of a DPoP proof (RFC 9449 §11.1) until `expiresAt`, atomically across every
   * process sharing the store: exactly one caller presenting an id gets `true`; every later caller
   * gets `false` until `expiresAt` has passed (by `now`), after which the id may be remembered anew.
   * Ids are fixed-length base64url digests (see `proofId` in `tokens/dpop.ts`).
   */
  rememberProofId(id: string, expiresAt: number, now: number): Promise<boolean>;

  /** Resolves when the store can answer; rejects with `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;

  /** Releases connections. */
  close(): Promise<void>;
}
