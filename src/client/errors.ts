/**
 * Every error code the client SDK throws, declared once, with the default message of each. Match on
 * `error.code`, never on the message text.
 *
 * @example const codes = Object.keys(AUTH_CLIENT_ERRORS); // ['invalid_credentials', ...]
 */
export const AUTH_CLIENT_ERRORS = {
  invalid_credentials: 'The username or password is incorrect',
  invalid_client_key: 'The server refused the client key',
  invalid_grant: 'The session has ended; sign in again',
  invalid_token: 'The server refused the access token',
  invalid_dpop_proof: 'The server refused the DPoP proof (is this device\'s clock right?)',
  not_found: 'No such resource (for example a session that is not yours or no longer live)',
  forbidden: 'The server refused the request origin',
  invalid_request: 'The server refused the request as malformed',
  too_many_requests: 'Too many attempts; retry later',
  temporarily_unavailable: 'The server is temporarily unavailable; retry shortly',
  not_authenticated: 'Not signed in',
  token_verification_failed: 'The access token could not be opened or verified',
  network_error: 'The server could not be reached',
  server_error: 'The server failed to answer the request',
  unexpected_response: 'The server answered in an unexpected way',
} as const;

/**
 * A stable error code from {@link AUTH_CLIENT_ERRORS}.
 *
 * @example const retryable = (code: AuthClientErrorCode) => code === 'temporarily_unavailable' || code === 'network_error';
 */
export type AuthClientErrorCode = keyof typeof AUTH_CLIENT_ERRORS;

/** Server error codes the client passes through under the same name. */
const PASSED_THROUGH: ReadonlySet<string> = new Set<AuthClientErrorCode>([
  'invalid_credentials',
  'invalid_client_key',
  'invalid_grant',
  'invalid_token',
  'invalid_dpop_proof',
  'not_found',
  'forbidden',
  'invalid_request',
  'too_many_requests',
  'temporarily_unavailable',
  'server_error',
]);

/**
 * Extra facts about an error.
 *
 * @example new AuthClientError('too_many_requests', undefined, { status: 429, retryAfter: 30 });
 */
export interface AuthClientErrorDetails {
  /** The HTTP status, or `0` when no response was received. */
  readonly status?: number;
  /** The `error` member of the server's JSON body, when there was one. */
  readonly serverCode?: string;
  /** Seconds the server asked to wait (`Retry-After`). */
  readonly retryAfter?: number;
  /** The underlying error (a jose error, a `TypeError` from `fetch`). */
  readonly cause?: unknown;
}

/**
 * The error the SDK throws for anything about the server, the network or the tokens (a key store
 * may also throw its own I/O errors). `code` is stable; `status` is the HTTP status (0 when the
 * error did not come from a response).
 *
 * @example
 * try {
 *   await client.login('alice', 'wrong');
 * } catch (error) {
 *   if (error instanceof AuthClientError && error.code === 'invalid_credentials') showLoginError();
 *   else throw error;
 * }
 */
export class AuthClientError extends Error {
  override readonly name = 'AuthClientError';
  readonly status: number;
  readonly serverCode: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(
    readonly code: AuthClientErrorCode,
    message: string = AUTH_CLIENT_ERRORS[code],
    details: AuthClientErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status ?? 0;
    this.serverCode = details.serverCode;
    this.retryAfter = details.retryAfter;
  }
}

/**
 * Turns a failed response into an {@link AuthClientError}: the server's own code when the SDK
 * knows it, `server_error` for another 5xx, `unexpected_response` otherwise (the server's code is
 * kept in `serverCode`, such as `not_found`).
 *
 * @example if (!res.ok) throw await errorFromResponse(res);
 */
export async function errorFromResponse(res: Response): Promise<AuthClientError> {
  const body = await res.json().catch(() => null);
  const serverCode = typeof body?.error === 'string' ? (body.error as string) : undefined;
  const description = typeof body?.error_description === 'string' ? (body.error_description as string) : undefined;
  const retryAfterHeader = Number(res.headers.get('retry-after'));
  const details = {
    status: res.status,
    serverCode,
    retryAfter: Number.isFinite(retryAfterHeader) && retryAfterHeader > 0 ? retryAfterHeader : undefined,
  };
  if (serverCode !== undefined && PASSED_THROUGH.has(serverCode)) {
    return new AuthClientError(serverCode as AuthClientErrorCode, description, details);
  }
  if (res.status >= 500) return new AuthClientError('server_error', undefined, details);
  const what = serverCode ? ` (${serverCode})` : '';
  return new AuthClientError('unexpected_response', `The server answered ${res.status}${what}`, details);
}
