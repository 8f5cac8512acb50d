import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../clock.js';
import { AuthError, TokenRejectedError } from '../errors.js';
import { NO_EVENTS, type AuthEvents } from '../events.js';
import type { KeyManager } from '../keys/manager.js';
import { isLive, type SessionRecord, type SessionStore } from '../store/types.js';
import { acceptAccessToken } from '../tokens/accept.js';
import { AcceptCache } from '../tokens/accept-cache.js';
import { importStoredClientKey, type ClientKey } from '../tokens/client-key.js';
import { issueAccessToken } from '../tokens/issue.js';
import type { AccessClaims } from '../tokens/policy.js';
import { hashRefreshToken, newRefreshToken } from '../tokens/refresh.js';
import { ProofChecker, type Credentials, type ProofPresentation } from './proofs.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../users/password.js';
import { UserError, type User, type UserDirectory } from '../users/directory.js';
import { rotateRefreshToken } from './rotation.js';

/** The token response of login and refresh, as the contract words it, plus what the HTTP layer needs. */
export interface TokenGrant {
  readonly body: {
    access_token: string;
    /** `DPoP` for a session bound to a proof key (RFC 9449 §5), else `Bearer`. */
    token_type: 'Bearer' | 'DPoP';
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

/** A request without a `DPoP` header. */
const NO_PROOF: ProofPresentation = Object.freeze({ proof: undefined, htm: 'POST', htu: [] });

/** How often, at most, a protected request records `last_used_at` for its session. */
const TOUCH_INTERVAL_MS = 60_000;

type ServiceConfig = Pick<
  Config,
  'issuer' | 'audience' | 'accessTokenTtl' | 'refreshTokenTtl' | 'sessionIdleTtl' | 'refreshReuseGrace' | 'dpopRequired'
>;

/** What a {@link SessionService} is given besides its configuration and stores. */
export interface SessionServiceOptions {
  /** Where the time comes from (epoch ms); tests pass a fake one. Default: the system clock. */
  readonly clock?: Clock;
  /** Where audit events and outcome counts go. Default: {@link NO_EVENTS}. */
  readonly events?: AuthEvents;
}

/**
 * The session life cycle: login, refresh with rotation, authentication of protected requests,
 * logout, and password change. Transport (HTTP, cookies) stays outside.
 */
export class SessionService {
  /** Sessions of other epochs (earlier boots without preservation) are never honoured. */
  readonly epoch: string;
  /** Bearers whose decryption and signature were already verified (the session is checked every time). */
  readonly #accepted = new AcceptCache();
  readonly #clock: Clock;
  readonly #events: AuthEvents;
  /** DPoP proofs: verified, matched to the token's binding, and spent in the store. */
  readonly #proofs: ProofChecker;

  /**
   * @param options - The clock and the events sink; see {@link SessionServiceOptions}.
   * @example const sessions = new SessionService(config, keys, store, users, { clock: () => fakeNow });
   */
  constructor(
    private readonly config: ServiceConfig,
    private readonly keys: KeyManager,
    private readonly store: SessionStore,
    private readonly users: UserDirectory,
    options: SessionServiceOptions = {},
  ) {
    this.epoch = keys.epoch;
    this.#clock = options.clock ?? systemClock;
    this.#events = options.events ?? NO_EVENTS;
    this.#proofs = new ProofChecker(store, this.#clock, config.dpopRequired);
  }

  /** The time now, from the injected clock. */
  now(): number {
    return this.#clock();
  }

  /** `ISSUER`: the `iss` of access tokens, and a URL DPoP proofs may name (see `http/dpop.ts`). */
  get issuer(): string {
    return this.config.issuer;
  }

  /**
   * Checks credentials and opens a session bound to the client key, and to the DPoP proof key when
   * the request carries a proof. Unknown user, wrong password and disabled user all cost one argon2
   * verification and end in the same error. The proof is checked first.
   *
   * @param proof - The request's DPoP proof, if any (RFC 9449 §5).
   * @throws {DpopProofRejectedError} for a bad or replayed proof, or none under `DPOP_REQUIRED`.
   * @throws {AuthError} `invalid_credentials`.
   */
  async login(username: string, password: string, clientKey: ClientKey, userAgent: string | null, proof: ProofPresentation = NO_PROOF): Promise<TokenGrant> {
    const bound = await this.#proofs.atLogin(proof);
    const user = await this.users.findByUsername(username);
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!user || !ok || user.disabled) {
      this.#events.login('failed');
      this.#events.audit('login_failed', { username, user_id: user?.id ?? null });
      throw new AuthError('invalid_credentials');
    }
    const now = this.#clock();
    const refresh = newRefreshToken();
    const session: SessionRecord = {
      id: randomUUID(),
      userId: user.id,
      clientJwk: clientKey.jwk,
      clientKid: clientKey.kid,
      dpopJkt: bound?.jkt ?? null,
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
    this.#events.login('succeeded');
    this.#events.audit('login_succeeded', { user_id: user.id, username: user.username, session_id: session.id });
    return grant;
  }

  /**
   * Rotates a refresh token by the one rotation rule (`rotation.ts`) and issues a new access token
   * to the session's client key. Reports the outcome (`rotated`, `duplicate`, `reuse_revoked`,
   * `invalid`); a reuse is also an audit event, as it most likely means a stolen token.
   *
   * A session bound to a DPoP key is refreshed only with a proof by that key, checked before the
   * rotation rule sees the token: without the key nothing rotates, and a stolen token cannot end
   * the session as a reuse either.
   *
   * @param proof - The request's DPoP proof, if any (RFC 9449 §5).
   * @throws {DpopProofRejectedError} for a bad or replayed proof, or none for a bound session.
   * @throws {AuthError} `invalid_grant` for an unknown, expired, revoked or reused token.
   */
  async refresh(refreshToken: string, proof: ProofPresentation = NO_PROOF): Promise<TokenGrant> {
    const presented = hashRefreshToken(refreshToken);
    if (presented === null) return this.#refused();
    const now = this.#clock();
    // A binding never changes, so the rotation below may read the facts again without a race.
    const facts = await this.store.findRefreshToken(presented, now);
    await this.#proofs.atRefresh(proof, facts?.session.dpopJkt ?? null);
    const next = newRefreshToken();
    const result = await rotateRefreshToken(this.store, presented, next.hash, {
      now,
      graceMs: this.config.refreshReuseGrace,
      idleExpiresAt: now + this.config.sessionIdleTtl,
    });
    if (result.status === 'reused') {
      this.#events.refresh('reuse_revoked');
      this.#events.audit('refresh_reuse_detected', { session_id: result.sessionId, user_id: result.userId });
      throw new AuthError('invalid_grant');
    }
    if (result.status === 'invalid') return this.#refused();
    const { session } = result;
    const user = await this.users.findById(session.userId);
    if (session.epoch !== this.epoch || !user || user.disabled) {
      await this.store.revokeSession(session.id, now);
      return this.#refused();
    }
    const grant = await this.grant(session, await importStoredClientKey(session.clientJwk, session.clientKid), next.token, now);
    this.#events.refresh(result.duplicate ? 'duplicate' : 'rotated');
    return grant;
  }

  #refused(): never {
    this.#events.refresh('invalid');
    throw new AuthError('invalid_grant');
  }

  /**
   * Verifies a sealed access token, checks that it was presented as its binding demands (a DPoP
   * proof by the bound key, or `Bearer` for an unbound token), and that its session is live and its
   * user enabled. The proof is checked on every request, also for a token the accept cache knows.
   *
   * @throws {TokenRejectedError} for any refusal ({@link DpopProofRejectedError} for the proof);
   * {@link StoreUnavailableError} when state is unknown.
   */
  async authenticate(credentials: Credentials): Promise<Principal> {
    const { token } = credentials;
    const now = this.#clock();
    const keyVersion = this.keys.version;
    let claims = this.#accepted.get(token, keyVersion, now);
    if (!claims) {
      claims = await acceptAccessToken(token, this.keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        accessTokenTtlMs: this.config.accessTokenTtl,
        now,
      });
      this.#accepted.set(token, keyVersion, claims);
    }
    await this.#proofs.forResource(credentials, claims);
    const { session, user } = await this.#sessionWithUser(claims.sid, claims.sub, now);
    if (!session || !isLive(session, now) || session.epoch !== this.epoch || session.userId !== claims.sub) {
      throw new TokenRejectedError('session not live');
    }
    if (session.dpopJkt !== (claims.cnf?.jkt ?? null)) throw new TokenRejectedError('binding differs from the session');
    if (!user || user.disabled) throw new TokenRejectedError('user missing or disabled');
    if (now - session.lastUsedAt > TOUCH_INTERVAL_MS) {
      // Bookkeeping only: the session's state is already known, so a failed write does not fail the request.
      await this.store.touchSession(session.id, now).catch(() => undefined);
    }
    return { claims, user, session };
  }

  /** The session and the user a protected request checks: in one read where the store offers it, else in two at once. */
  async #sessionWithUser(sessionId: string, userId: string, now: number): Promise<{ session: SessionRecord | null; user: User | null }> {
    if (this.store.getSessionWithUser) return (await this.store.getSessionWithUser(sessionId, userId, now)) ?? { session: null, user: null };
    const [session, user] = await Promise.all([this.store.getSession(sessionId, now), this.users.findById(userId)]);
    return { session, user };
  }

  /** Ends the principal's session. Idempotent. */
  async logout(principal: Principal): Promise<void> {
    const { session, user } = principal;
    if (await this.store.revokeSession(session.id, this.#clock())) {
      this.#events.audit('logout', { user_id: user.id, session_id: session.id });
    }
  }

  /** Ends every session of the principal's user. */
  async logoutAll(principal: Principal): Promise<void> {
    const { session, user } = principal;
    const revoked = await this.store.revokeUserSessions(user.id, this.#clock());
    this.#events.audit('logout_all', { user_id: user.id, session_id: session.id, sessions: revoked.length });
  }

  /** The user's live sessions of this epoch, newest first. */
  async listSessions(userId: string): Promise<SessionRecord[]> {
    const sessions = await this.store.listSessions(userId, this.#clock());
    return sessions.filter((s) => s.epoch === this.epoch);
  }

  /**
   * Revokes one of the user's own sessions.
   *
   * @returns `false` when the id is not a live session of this user.
   */
  async revokeOwnSession(userId: string, sessionId: string): Promise<boolean> {
    const now = this.#clock();
    const session = await this.store.getSession(sessionId, now);
    if (!session || session.userId !== userId || session.epoch !== this.epoch || !isLive(session, now)) return false;
    await this.store.revokeSession(sessionId, now);
    this.#events.audit('session_revoked', { user_id: userId, session_id: sessionId });
    return true;
  }

  /**
   * Changes the password after checking the current one, and revokes every other session.
   *
   * @throws {AuthError} `invalid_credentials` when the current password is wrong.
   */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<void> {
    if (!(await verifyPassword(principal.user.passwordHash, currentPassword))) throw new AuthError('invalid_credentials');
    const hash = await hashPassword(newPassword);
    const now = this.#clock();
    const revoked = await this.store.revokeUserSessions(principal.user.id, now, principal.session.id);
    await this.users.setPasswordHash(principal.user.id, hash, now).catch((error: unknown) => {
      // Deleted by the CLI since this request was authenticated: its token no longer stands.
      throw error instanceof UserError ? new TokenRejectedError('user deleted') : error;
    });
    this.#events.audit('password_changed', { user_id: principal.user.id, session_id: principal.session.id, sessions_revoked: revoked.length });
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
      dpopJkt: session.dpopJkt,
      now,
    });
    const refreshEnd = Math.min(session.expiresAt, session.idleExpiresAt);
    return {
      body: {
        access_token: issued.token,
        token_type: session.dpopJkt === null ? 'Bearer' : 'DPoP',
        expires_in: issued.expiresIn,
        session_id: session.id,
        refresh_expires_in: Math.max(0, Math.floor((refreshEnd - now) / 1000)),
      },
      refreshToken,
    };
  }
}
