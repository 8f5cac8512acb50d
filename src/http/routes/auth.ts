import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import { AuthError, HttpError } from '../../errors.js';
import type { SessionService, TokenGrant } from '../../sessions/service.js';
import type { LoginThrottle } from '../../throttle/index.js';
import { parseClientKey } from '../../tokens/client-key.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../users/password.js';
import { cookies, jsonBody } from '../body.js';
import type { HashingGate } from '../hashing-gate.js';
import { proofPresentation } from '../dpop.js';
import { methodNotAllowed } from '../error-handler.js';
import { principalOf, requireAuth } from '../require-auth.js';
import { sendNoStore } from '../respond.js';
import { parseBody } from '../validate.js';

const REFRESH_COOKIE = 'refresh_token';
const COOKIE_PATH = '/auth';

const loginBody = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  client_key: z.unknown().refine((v) => v !== undefined),
  refresh_transport: z.enum(['cookie', 'body']).default('cookie'),
});
const passwordBody = z.object({
  current_password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  new_password: z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH),
});

/** What guards the routes that check a password: the shared failure throttle and this process's hashing gate. */
export interface PasswordGuards {
  readonly throttle: LoginThrottle;
  readonly gate: HashingGate;
}

/**
 * The `/auth` routes: login, refresh, verify, logout, logout-all-devices, sessions and password.
 * Login and password change are validated first, then wait for a hashing slot, then are held to
 * the failure throttle.
 */
export function authRoutes(config: Config, sessions: SessionService, { throttle, gate }: PasswordGuards): Router {
  const router = Router();
  const auth = requireAuth(sessions);
  const issuerOrigin = new URL(config.issuer).origin;

  // Written by hand so the attributes are exactly the contract's (Express would add Expires).
  const cookie = (value: string, maxAgeSeconds: number) =>
    `${REFRESH_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=${COOKIE_PATH}; Max-Age=${maxAgeSeconds}${config.cookieSecure ? '; Secure' : ''}`;
  const setRefreshCookie = (res: Response, grant: TokenGrant) =>
    res.append('Set-Cookie', cookie(grant.refreshToken, grant.body.refresh_expires_in));
  const clearRefreshCookie = (res: Response) => res.append('Set-Cookie', cookie('', 0));
  const sendGrant = (res: Response, grant: TokenGrant, transport: 'cookie' | 'body') => {
    if (transport === 'body') return sendNoStore(res, { ...grant.body, refresh_token: grant.refreshToken });
    setRefreshCookie(res, grant);
    return sendNoStore(res, grant.body);
  };

  router.route('/login').post(jsonBody, async (req, res) => {
    const body = parseBody(loginBody, req.body);
    const clientKey = await parseClientKey(body.client_key);
    const proof = proofPresentation(req, config.issuer);
    const grant = await gate.run(() =>
      throttle.login(req.ip ?? '', body.username, () => sessions.login(body.username, body.password, clientKey, req.get('user-agent') ?? null, proof)),
    );
    sendGrant(res, grant, body.refresh_transport);
  });

  router.route('/refresh').post(jsonBody, cookies, async (req, res) => {
    // Whatever is wrong with the presented token (missing, not a string, malformed) is invalid_grant.
    const body: unknown = req.body;
    const inBody = typeof body === 'object' && body !== null && 'refresh_token' in body ? (body as { refresh_token: unknown }).refresh_token : undefined;
    const inCookie: unknown = (req.cookies as Record<string, unknown> | undefined)?.[REFRESH_COOKIE];
    const transport = inBody === undefined ? 'cookie' : 'body';
    const presented = transport === 'body' ? inBody : inCookie;
    if (presented === undefined) throw new HttpError('invalid_grant', 'No refresh token was presented');
    if (transport === 'cookie') assertSameOrigin(req, issuerOrigin);
    try {
      if (typeof presented !== 'string') throw new HttpError('invalid_grant');
      sendGrant(res, await sessions.refresh(presented, proofPresentation(req, config.issuer)), transport);
    } catch (error) {
      if (transport === 'cookie' && error instanceof AuthError && error.code === 'invalid_grant') clearRefreshCookie(res);
      throw error;
    }
  });

  router.route('/verify').get(auth, (_req, res) => {
    const { claims } = principalOf(res);
    const { sub, sid, iss, aud, iat, exp, jti, cnf } = claims;
    sendNoStore(res, { active: true, sub, sid, iss, aud, iat, exp, jti, ...(cnf === undefined ? {} : { cnf: { jkt: cnf.jkt } }) });
  });

  router.route('/logout').post(auth, async (_req, res) => {
    await sessions.logout(principalOf(res));
    clearRefreshCookie(res);
    res.status(204).end();
  });

  router.route('/logout-all-devices').post(auth, async (_req, res) => {
    await sessions.logoutAll(principalOf(res));
    clearRefreshCookie(res);
    res.status(204).end();
  });

  router.route('/sessions').get(auth, async (_req, res) => {
    const { user, session: current } = principalOf(res);
    const list = await sessions.listSessions(user.id);
    sendNoStore(res, {
      sessions: list.map((s) => ({
        id: s.id,
        created_at: new Date(s.createdAt).toISOString(),
        last_used_at: new Date(s.lastUsedAt).toISOString(),
        user_agent: s.userAgent,
        current: s.id === current.id,
      })),
    });
  });

  router.route('/sessions/:id').delete(auth, async (req, res) => {
    if (!(await sessions.revokeOwnSession(principalOf(res).user.id, String(req.params.id)))) {
      throw new HttpError('not_found', 'No such session');
    }
    res.status(204).end();
  });

  // Guessing the current password with a stolen bearer costs an argon2 hash each: failures are limited per user.
  router.route('/password').post(jsonBody, auth, async (req, res) => {
    const body = parseBody(passwordBody, req.body);
    const principal = principalOf(res);
    await gate.run(() => throttle.passwordChange(principal.user.id, () => sessions.changePassword(principal, body.current_password, body.new_password)));
    res.status(204).end();
  });

  // Every route above answers the methods it lacks with 405 and `Allow`.
  for (const layer of router.stack) layer.route?.all(methodNotAllowed);
  return router;
}

/**
 * A cookie-borne refresh must come from the server's own origin (or carry no `Origin` at all): the
 * full origin, scheme, host and port, of the request as Express reads it (`X-Forwarded-Proto` and
 * `X-Forwarded-Host` only behind `TRUST_PROXY` hops), or of `ISSUER`.
 */
function assertSameOrigin(req: Request, issuerOrigin: string): void {
  const origin = req.get('origin');
  if (origin === undefined) return;
  let presented: string;
  let own: string | undefined;
  try {
    presented = new URL(origin).origin;
  } catch {
    throw new HttpError('forbidden');
  }
  try {
    own = new URL(`${req.protocol}://${req.host}`).origin;
  } catch {
    own = undefined;
  }
  if (presented === 'null' || (presented !== own && presented !== issuerOrigin)) throw new HttpError('forbidden');
}
