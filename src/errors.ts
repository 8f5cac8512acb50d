/**
 * Every error code the server answers with, declared once. Clients match on these strings; the
 * description beside each is the default `error_description`.
 */
export const ERRORS = {
  invalid_request: { status: 400, description: 'The request is malformed or misses a required field' },
  invalid_client_key: { status: 400, description: 'client_key must be a public X25519, P-256 or RSA (>= 2048 bits, e=65537) JWK' },
  /**
   * 400 at login and refresh (RFC 9449 §5); a protected route answers it 401 with a `DPoP` challenge
   * (RFC 9449 §7.1): see {@link PROTECTED_ROUTE_STATUS}.
   */
  invalid_dpop_proof: { status: 400, description: 'The DPoP proof is missing or invalid' },
  invalid_credentials: { status: 401, description: 'The username or password is incorrect' },
  invalid_token: { status: 401, description: 'The access token is invalid' },
  invalid_grant: { status: 401, description: 'The refresh token is invalid, expired or revoked' },
  forbidden: { status: 403, description: 'The request origin is not allowed' },
  not_found: { status: 404, description: 'Not found' },
  method_not_allowed: { status: 405, description: 'The route does not answer this method' },
  request_timeout: { status: 408, description: 'The request was not received in time' },
  payload_too_large: { status: 413, description: 'The request body is too large' },
  unsupported_media_type: { status: 415, description: 'The request body must be application/json' },
  too_many_requests: { status: 429, description: 'Too many requests; retry later' },
  headers_too_large: { status: 431, description: 'The request headers are too large' },
  server_error: { status: 500, description: 'Internal server error' },
  temporarily_unavailable: { status: 503, description: 'The service is temporarily unavailable; retry shortly' },
} as const;

/** A stable error code from {@link ERRORS}. */
export type ErrorCode = keyof typeof ERRORS;

/**
 * The codes a protected route answers with another status than {@link ERRORS} gives: a refused DPoP
 * proof is a client error (400) where tokens are issued, and a 401 with a challenge where one is used.
 */
export const PROTECTED_ROUTE_STATUS: Readonly<Partial<Record<ErrorCode, number>>> = Object.freeze({ invalid_dpop_proof: 401 });

/**
 * A refusal the domain (`tokens/`, `sessions/`, `users/`, `store/`) decided: its `code` is one of
 * {@link ERRORS}, so the one error handler answers it with that code's status and its
 * `description`. The domain never speaks HTTP; the handler maps this to it.
 *
 * @example throw new AuthError('invalid_grant');
 */
export class AuthError extends Error {
  override readonly name: string = 'AuthError';

  constructor(
    readonly code: ErrorCode,
    readonly description: string = ERRORS[code].description,
  ) {
    super(description);
  }
}

/**
 * Too many failed attempts (the login throttle): 429 `too_many_requests`, with `Retry-After` set to
 * {@link RateLimitedError.retryAfterSeconds} by the error handler.
 *
 * @example throw new RateLimitedError(42);
 */
export class RateLimitedError extends AuthError {
  override readonly name = 'RateLimitedError';

  /** @param retryAfterSeconds - When the count that refused the attempt starts over (at least 1). */
  constructor(readonly retryAfterSeconds: number) {
    super('too_many_requests');
  }
}

/**
 * An error the HTTP layer raises (a malformed body, a missing bearer, a foreign origin, a limiter):
 * an {@link AuthError} that also carries response headers. Only `http/` throws it.
 *
 * @example throw new HttpError('invalid_request', 'username is required');
 */
export class HttpError extends AuthError {
  override readonly name = 'HttpError';
  /** The status of {@link HttpError.code}. */
  readonly status: number;
  /** Extra response headers, such as `Retry-After` or `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, description: string = ERRORS[code].description, headers: Record<string, string> = {}) {
    super(code, description);
    this.status = ERRORS[code].status;
    this.headers = headers;
  }
}

/**
 * The store could not answer (connection lost, timeout, database locked or read-only). The
 * request fails closed with 503 `temporarily_unavailable`.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  /** Stable code for logs and tests. */
  readonly code = 'store_unavailable';
}

/**
 * A database schema could not be brought up to date (a failed migration, or a schema newer than
 * this server knows). The boot stops with one line.
 */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  /** Stable code for logs and tests. */
  readonly code = 'migration_failed';
}

/**
 * Any reason an access token is refused. The reason stays inside the process (for logs at debug
 * level); the client always sees the same 401 `invalid_token`.
 */
export class TokenRejectedError extends Error {
  override readonly name: string = 'TokenRejectedError';
  /** Stable code; the specific cause is {@link TokenRejectedError.reason}. */
  readonly code: string = 'token_rejected';

  /** @param reason - Why the token was refused, for logs at debug level only. */
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * A DPoP proof (RFC 9449) was missing, malformed, or did not match the request, the key or the
 * token. A refusal like any other ({@link TokenRejectedError}), answered `invalid_dpop_proof`: 400
 * at login and refresh, 401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof"` on a protected
 * route. The reason stays inside the process.
 */
export class DpopProofRejectedError extends TokenRejectedError {
  override readonly name = 'DpopProofRejectedError';
  override readonly code = 'dpop_proof_rejected';
}
