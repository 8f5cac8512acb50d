import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from '../errors.js';
import { INVALID_TOKEN_CHALLENGE, MISSING_TOKEN_CHALLENGE } from './error-handler.js';
import { proofPresentation } from './dpop.js';
import type { Credentials } from '../sessions/proofs.js';
import type { Principal, SessionService } from '../sessions/service.js';

/** `Authorization: Bearer <token>` or `Authorization: DPoP <token>`; the scheme is case-insensitive. */
const AUTHORIZATION = /^(Bearer|DPoP) ([^\s]+)$/i;

/** The `htu` of a Bearer request: none, as no proof is checked for it. */
const NO_URLS: readonly string[] = Object.freeze([]);

/**
 * Whether a request presents its token with the Bearer scheme (case-insensitive), the one form the
 * fast lane checks without Express: a `DPoP` request's proof names the URL as Express reads it.
 */
export function isBearerRequest(req: IncomingMessage): boolean {
  const header = req.headers.authorization;
  return header !== undefined && header.length > 7 && header.charCodeAt(6) === 32 && header.slice(0, 6).toLowerCase() === 'bearer';
}

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
 * Express middleware that protects a route: the token must be a JWE sealed to the server's key
 * holding a valid access token of a live session of an enabled user. A DPoP-bound token comes as
 * `Authorization: DPoP <token>` with a `DPoP` proof by its key for this request (RFC 9449 §7); an
 * unbound one as `Authorization: Bearer <token>`. On success the {@link Principal} is in
 * `res.locals.principal` (read it with {@link principalOf}).
 *
 * Failures: 401 `invalid_token` with `WWW-Authenticate`, the same for every reason about the token
 * (`Bearer error="invalid_token"`, or `DPoP error="invalid_token"` for the `DPoP` scheme); 401
 * `invalid_dpop_proof` with `DPoP error="invalid_dpop_proof"` for a missing or bad proof; 503
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
    const header = req.headers.authorization;
    if (header === undefined) {
      return next(new HttpError('invalid_token', 'A bearer token is required', { 'WWW-Authenticate': MISSING_TOKEN_CHALLENGE }));
    }
    const match = AUTHORIZATION.exec(header);
    if (!match) {
      return next(new HttpError('invalid_token', undefined, { 'WWW-Authenticate': INVALID_TOKEN_CHALLENGE }));
    }
    const scheme = (match[1] as string).toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    // The error handler answers a refusal with a challenge of the scheme the request used.
    res.locals.authScheme = scheme;
    const token = match[2] as string;
    // Only the DPoP scheme has a proof to check: a Bearer request spares the parsing of its URL.
    const credentials: Credentials =
      scheme === 'DPoP' ? { scheme, token, ...proofPresentation(req, sessions.issuer) } : { scheme, token, proof: undefined, htm: req.method, htu: NO_URLS };
    try {
      res.locals.principal = await sessions.authenticate(credentials);
      next();
    } catch (error) {
      next(error);
    }
  };
}
