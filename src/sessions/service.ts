import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import { HttpError, TokenRejectedError } from '../errors.js';
import type { KeyManager } from '../keys/manager.js';
import { isLive, type SessionRecord, type SessionStore } from '../store/types.js';
import { acceptAccessToken } from '../tokens/accept.js';
import { AcceptCache } from '../tokens/accept-cache.js';
import { importStoredClientKey, type ClientKey } from '../tokens/client-key.js';
import { issueAccessToken } from '../tokens/issue.js';
import type { AccessClaims } from '../tokens/policy.js';
import { hashRefreshToken, newRefreshToken } from '../tokens/refresh.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../users/password.js';
import type { User, UserRepository } from '../users/repository.js';

/** The token response of login and refresh, as the contract words it, plus what the HTTP layer needs. */
export interface TokenGrant {
  readonly body: {
    access_token: string;
    token_type: 'Bearer';
    expires_in: number;
    session_id: string;
    refresh_expires_in: number;
  };
  /** The new refresh token; sent as a cookie or in the body. */
  readonly refreshToken: string;
}

/** A request that passed every check: a verified token, a live session and an enabled user. */
export interface Principal {
  /** The verified claims of the access token. */
  readonly claims: AccessClaims;
  /** The token's user (`sub`), enabled. */
  readonly user: User;
  /** The token's session (`sid`), live. */
  readonly session: SessionRecord;
}

/** How often, at most, a protected request records `last_used_at` for its session. */
const TOUCH_INTERVAL_MS = 60_000;

type ServiceConfig = Pick<
  Config,
  'issuer' | 'audience' | 'accessTokenTtl' | 'refreshTokenTtl' | 'sessionIdleTtl' | 'refreshReuseGrace' | 'preserveSessions'
>;

/**
 * The session life cycle: login, refresh with rotation, authentication of protected requests,
 * logout, and password change. Transport (HTTP, cookies) stays outside.
 */
export class SessionService {
  /** Sessions of other epochs (earlier boots without preservation) are never honoured. */
  readonly epoch: string;
  /** Bearers whose decryption and signature were already verified (the session is checked every time). */
  readonly #accepted = new AcceptCache();

  constructor(
    private readonly config: ServiceConfig,
    private readonly keys: KeyManager,
    private readonly store: SessionStore,
    private readonly users: UserRepository,
  ) {
    this.epoch = config.preserveSessions ? 'preserved' : randomUUID();
  }

  /**
   * Checks credentials and opens a session bound to the client key. Unknown user, wrong password
   * and disabled user all cost one argon2 verification and end in the same error.
   *
   * @throws {HttpError} `invalid_credentials`.
   */
  async login(username: string, password: string, clientKey: ClientKey, userAgent: string | null): Promise<TokenGrant> {
    const user = await this.users.findByUsername(username);
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!user || !ok || user.disabled) throw new HttpError('invalid_credentials');
    const now = Date.now();
    const refresh = newRefreshToken();
    const session: SessionRecord = {
      id: randomUUID(),
      userId: user.id,
      clientJwk: clientKey.jwk,
      clientKid: clientKey.kid,
      userAgent: userAgent?.slice(0, 256) ?? null,
      epoch: this.epoch,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + this.config.refreshTokenTtl,
      idleExpiresAt: now + Math.min(this.config.sessionIdleTtl, this.config.refreshTokenTtl),
      revokedAt: null,
    };
    const grant = await this.grant(session, clientKey, refresh.token, now);
    await this.store.createSession(session, refresh.hash);
    return grant;
  }

  /**
   * Rotates a refresh token and issues a new access token to the session's client key.
   *
   * @throws {HttpError} `invalid_grant` for an unknown, expired, revoked or reused token.
   */
  async refresh(refreshToken: string): Promise<TokenGrant> {
    const presented = hashRefreshToken(refreshToken);
    if (presented === null) throw new HttpError('invalid_grant');
    const now = Date.now();
    const next = newRefreshToken();
    const result = await this.store.rotateRefreshToken(presented, next.hash, {
      now,
      graceMs: this.config.refreshReuseGrace,
      idleExpiresAt: now + this.config.sessionIdleTtl,
    });
    if (result.status !== 'rotated') throw new HttpError('invalid_grant');
    const { session } = result;
    const user = await this.users.findById(session.userId);
    if (session.epoch !== this.epoch || !user || user.disabled) {
      await this.store.revokeSession(session.id, now);
      throw new HttpError('invalid_grant');
    }
    return this.grant(session, await importStoredClientKey(session.clientJwk, session.clientKid), next.token, now);
  }

  /**
   * Verifies a bearer token and checks that its session is live and its user enabled.
   *
   * @throws {TokenRejectedError} for any refusal; {@link StoreUnavailableError} when state is unknown.
   */
  async authenticate(bearer: string): Promise<Principal> {
    const keyVersion = this.keys.version;
    let claims = this.#accepted.get(bearer, keyVersion);
    if (!claims) {
      claims = await acceptAccessToken(bearer, this.keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        accessTokenTtlMs: this.config.accessTokenTtl,
      });
      this.#accepted.set(bearer, keyVersion, claims);
    }
    const [session, user] = await Promise.all([this.store.getSession(claims.sid), this.users.findById(claims.sub)]);
    const now = Date.now();
    if (!session || !isLive(session, now) || session.epoch !== this.epoch || session.userId !== claims.sub) {
      throw new TokenRejectedError('session not live');
    }
    if (!user || user.disabled) throw new TokenRejectedError('user missing or disabled');
    if (now - session.lastUsedAt > TOUCH_INTERVAL_MS) {
      // Bookkeeping only: the session's state is already known, so a failed write does not fail the request.
      await this.store.touchSession(session.id, now).catch(() => undefined);
    }
    return { claims, user, session };
  }

  /** Ends one session. Idempotent. */
  async logout(sessionId: string): Promise<void> {
    await this.store.revokeSession(sessionId, Date.now());
  }

  /** Ends every session of a user. */
  async logoutAll(userId: string): Promise<void> {
    await this.store.revokeUserSessions(userId, Date.now());
  }

  /** The user's live sessions of this epoch, newest first. */
  async listSessions(userId: string): Promise<SessionRecord[]> {
    const sessions = await this.store.listSessions(userId, Date.now());
    return sessions.filter((s) => s.epoch === this.epoch);
  }

  /**
   * Revokes one of the user's own sessions.
   *
   * @returns `false` when the id is not a live session of this user.
   */
  async revokeOwnSession(userId: string, sessionId: string): Promise<boolean> {
    const session = await this.store.getSession(sessionId);
    if (!session || session.userId !== userId || session.epoch !== this.epoch || !isLive(session, Date.now())) return false;
    await this.store.revokeSession(sessionId, Date.now());
    return true;
  }

  /**
   * Changes the password after checking the current one, and revokes every other session.
   *
   * @throws {HttpError} `invalid_credentials` when the current password is wrong.
   */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<void> {
    if (!(await verifyPassword(principal.user.passwordHash, currentPassword))) throw new HttpError('invalid_credentials');
    const hash = await hashPassword(newPassword);
    await this.store.revokeUserSessions(principal.user.id, Date.now(), principal.session.id);
    await this.users.setPasswordHash(principal.user.id, hash);
  }

  private async grant(session: SessionRecord, clientKey: ClientKey, refreshToken: string, now: number): Promise<TokenGrant> {
    const issued = await issueAccessToken({
      issuer: this.config.issuer,
      audience: this.config.audience,
      subject: session.userId,
      sessionId: session.id,
      ttlMs: this.config.accessTokenTtl,
      signingKey: this.keys.signing,
      clientKey,
      now,
    });
    const refreshEnd = Math.min(session.expiresAt, session.idleExpiresAt);
    return {
      body: {
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        session_id: session.id,
        refresh_expires_in: Math.max(0, Math.floor((refreshEnd - now) / 1000)),
      },
      refreshToken,
    };
  }
}
