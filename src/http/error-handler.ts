import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AuthError, DpopProofRejectedError, ERRORS, HttpError, PROTECTED_ROUTE_STATUS, RateLimitedError, StoreUnavailableError, TokenRejectedError, type ErrorCode } from '../errors.js';
import { NO_EVENTS, type AuthEvents } from '../events.js';
import { requestLog } from '../logging/access-log.js';
import { refusalKind } from '../tokens/refusal.js';
import { DPOP_ALGS_PARAMETER, dpopChallenge } from './dpop.js';

/** The challenge sent with every 401 of a protected route when a token was presented (RFC 6750). */
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/**
 * The realm challenge of a protected route's 401 that is not about a presented token: no bearer at
 * all, or a wrong current password on `POST /auth/password` (RFC 6750 §3).
 */
export const MISSING_TOKEN_CHALLENGE = 'Bearer realm="jwe-auth-server"';

/** How soon a client should retry after a 503. */
export const RETRY_AFTER_SECONDS = '1';

/** The realm challenge of a request made with the `DPoP` scheme (see {@link MISSING_TOKEN_CHALLENGE}). */
const DPOP_REALM_CHALLENGE = `DPoP realm="jwe-auth-server", ${DPOP_ALGS_PARAMETER}`;

/**
 * Writes an error body `{error, error_description}`; the only place error responses are made.
 *
 * @param status - Only for a code a protected route answers differently ({@link PROTECTED_ROUTE_STATUS}).
 */
export function sendError(res: Response, code: ErrorCode, description?: string, headers: Record<string, string> = {}, status: number = ERRORS[code].status): void {
  res.set(headers);
  res.status(status).json({ error: code, error_description: description ?? ERRORS[code].description });
}

/**
 * Answers a refused token or DPoP proof. On a protected route (the scheme is known): 401 with a
 * challenge of the request's scheme, `invalid_dpop_proof` for the proof and the uniform
 * `invalid_token` for everything else. Elsewhere (login, refresh): a refused proof is 400
 * `invalid_dpop_proof` (RFC 9449 §5).
 */
function refuseCredentials(res: Response, error: TokenRejectedError): void {
  const code = error instanceof DpopProofRejectedError ? 'invalid_dpop_proof' : 'invalid_token';
  // Set by requireAuth: the scheme of the request's Authorization header.
  const scheme = res.locals.authScheme as 'Bearer' | 'DPoP' | undefined;
  if (scheme === 'DPoP') return sendError(res, code, undefined, { 'WWW-Authenticate': dpopChallenge(code) }, PROTECTED_ROUTE_STATUS[code] ?? ERRORS[code].status);
  if (code === 'invalid_dpop_proof') return sendError(res, code);
  return sendError(res, code, undefined, { 'WWW-Authenticate': INVALID_TOKEN_CHALLENGE });
}

/** Body parser failures (express.json) that are the client's fault, by their `type`: the code and our own words. */
const BODY_ERRORS: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  'entity.too.large': ['payload_too_large', 'the request body is larger than 16 KiB'],
  'entity.parse.failed': ['invalid_request', 'the body is not valid JSON'],
  'encoding.unsupported': ['unsupported_media_type', 'the body must not be compressed: send it without Content-Encoding'],
  'charset.unsupported': ['unsupported_media_type', 'the body must be UTF-8: send Content-Type application/json with no charset or with charset=utf-8'],
  'entity.verify.failed': ['invalid_request', 'the body could not be read'],
  'request.aborted': ['invalid_request', 'the body ended before its announced length'],
  'request.size.invalid': ['invalid_request', 'the body does not match its Content-Length'],
  'stream.encoding.set': ['invalid_request', 'the body could not be read'],
  'parameters.too.many': ['invalid_request', 'the body has too many parameters'],
};

/** Answers any route that does not exist with 404 `not_found`. */
export const notFound: RequestHandler = (_req, res) => sendError(res, 'not_found');

/**
 * Ends a route (`router.route(path).get(...).all(methodNotAllowed)`): a method the route does not
 * have is answered 405 `method_not_allowed` with `Allow` (RFC 9110 §15.5.6), and `OPTIONS` 204 with
 * `Allow`.
 */
export const methodNotAllowed: RequestHandler = (req, res) => {
  const methods = Object.keys((req.route as { methods: Record<string, boolean> }).methods)
    .filter((method) => method !== '_all')
    .map((method) => method.toUpperCase());
  if (methods.includes('GET')) methods.push('HEAD');
  const allow = [...methods, 'OPTIONS'].join(', ');
  if (req.method === 'OPTIONS') {
    res.set('Allow', allow).status(204).end();
    return;
  }
  sendError(res, 'method_not_allowed', undefined, { Allow: allow });
};

/**
 * The one error handler, and the only place a domain error becomes HTTP: an {@link AuthError} (or
 * the HTTP layer's {@link HttpError}) is answered with its code; a token or DPoP proof refusal
 * becomes the uniform 401 (or 400 `invalid_dpop_proof` where tokens are issued) and is reported to
 * `events` by kind; an unreachable store becomes 503 with `Retry-After`; anything else is logged and
 * answered 500 with no detail.
 */
export function errorHandler(logger: Logger, events: AuthEvents = NO_EVENTS): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) return;
    // The access log's child logger, when mounted, adds the request id to these lines.
    const log: Logger = requestLog(req) ?? logger;
    if (error instanceof AuthError) {
      const status = ERRORS[error.code].status;
      // Every 401 of a protected route carries a challenge (RFC 6750), also one raised after the
      // bearer was accepted (a wrong current password): the realm form, as the token itself was good.
      const realm = res.locals.authScheme === 'DPoP' ? DPOP_REALM_CHALLENGE : MISSING_TOKEN_CHALLENGE;
      const challenge: Record<string, string> = status === 401 && res.locals.principal !== undefined ? { 'WWW-Authenticate': realm } : {};
      const retryAfter = error instanceof RateLimitedError ? String(error.retryAfterSeconds) : status === 503 ? RETRY_AFTER_SECONDS : undefined;
      const retry: Record<string, string> = retryAfter === undefined ? {} : { 'Retry-After': retryAfter };
      const headers = error instanceof HttpError ? error.headers : {};
      return sendError(res, error.code, error.description, { ...challenge, ...retry, ...headers });
    }
    if (error instanceof TokenRejectedError) {
      log.debug({ reason: error.reason, path: req.path }, error instanceof DpopProofRejectedError ? 'DPoP proof refused' : 'token refused');
      events.tokenRefused(refusalKind(error.reason));
      return refuseCredentials(res, error);
    }
    if (error instanceof StoreUnavailableError) {
      log.warn({ reason: error.message, path: req.path }, 'store unavailable');
      return sendError(res, 'temporarily_unavailable', undefined, { 'Retry-After': RETRY_AFTER_SECONDS });
    }
    const type = (error as { type?: unknown }).type;
    const bodyError = typeof type === 'string' ? BODY_ERRORS[type] : undefined;
    if (bodyError) return sendError(res, ...bodyError);
    log.error({ err: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error), path: req.path }, 'unhandled error');
    return sendError(res, 'server_error');
  };
}
