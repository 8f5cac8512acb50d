/**
 * Every error code the server answers with, declared once. Clients match on these strings; the
 * description beside each is the default `error_description`.
 */
export const ERRORS = {
  invalid_request: { status: 400, description: 'The request is malformed or misses a required field' },
  invalid_client_key: { status: 400, description: 'client_key must be a public X25519, P-256 or RSA (>= 2048 bits, e=65537) JWK' },
  invalid_credentials: { status: 401, description: 'The username or password is incorrect' },
  invalid_token: { status: 401, description: 'The access token is invalid' },
  invalid_grant: { status: 401, description: 'The refresh token is invalid, expired or revoked' },
  forbidden: { status: 403, description: 'The request origin is not allowed' },
  not_found: { status: 404, description: 'Not found' },
  payload_too_large: { status: 413, description: 'The request body is too large' },
  unsupported_media_type: { status: 415, description: 'The request body must be application/json' },
  too_many_requests: { status: 429, description: 'Too many requests; retry later' },
  server_error: { status: 500, description: 'Internal server error' },
  temporarily_unavailable: { status: 503, description: 'The service is temporarily unavailable; retry shortly' },
} as const;

/** A stable error code from {@link ERRORS}. */
export type ErrorCode = keyof typeof ERRORS;

/**
 * An error meant for the client: its `code` and `description` are sent as they are, with the
 * status of the code. Anything that is not an `HttpError` becomes a 500 `server_error`.
 *
 * @example throw new HttpError('invalid_request', 'username is required');
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  /** Extra response headers, such as `Retry-After` or `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    readonly description: string = ERRORS[code].description,
    headers: Record<string, string> = {},
  ) {
    super(description);
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
}

/**
 * Any reason an access token is refused. The reason stays inside the process (for logs at debug
 * level); the client always sees the same 401 `invalid_token`.
 */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
}
