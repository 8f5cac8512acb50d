import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from '../errors.js';
import { INVALID_TOKEN_CHALLENGE, MISSING_TOKEN_CHALLENGE } from './error-handler.js';
import type { Principal, SessionService } from '../sessions/service.js';

const BEARER = /^Bearer ([^\s]+)$/i;

/**
 * Reads the principal that {@link requireAuth} attached to a request.
 *
 * @throws {Error} when used on a route without `requireAuth()` in front of it.
 */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf() used on a route without requireAuth()');
  return principal;
}

/**
 * Express middleware that protects a route: the bearer token must be a JWE sealed to the server's
 * key holding a valid access token of a live session of an enabled user. On success the
 * {@link Principal} is in `res.locals.principal` (read it with {@link principalOf}).
 *
 * Failures: 401 `invalid_token` with `WWW-Authenticate`, the same for every reason; 503
 * `temporarily_unavailable` when the session store cannot answer (never a 200 on unknown state).
 *
 * @param sessions - The session service the app was built with (`app.locals.sessions`).
 * @example
 * app.get('/api/orders', requireAuth(app.locals.sessions), (req, res) => {
 *   res.json({ owner: principalOf(res).user.username });
 * });
 */
export function requireAuth(sessions: SessionService): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header === undefined) {
      return next(new HttpError('invalid_token', 'A bearer token is required', { 'WWW-Authenticate': MISSING_TOKEN_CHALLENGE }));
    }
    const match = BEARER.exec(header);
    if (!match) {
      return next(new HttpError('invalid_token', undefined, { 'WWW-Authenticate': INVALID_TOKEN_CHALLENGE }));
    }
    try {
      res.locals.principal = await sessions.authenticate(match[1] as string);
      next();
    } catch (error) {
      next(error);
    }
  };
}
