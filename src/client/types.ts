/** The shapes an {@link AuthClient} is set up with and answers with. */
import type { ClientKeyKind, KeyStore } from './keys.js';
import type { VerifiedAccessToken } from './token.js';

/**
 * How the refresh token travels: an HttpOnly cookie the browser keeps, or the JSON body (kept in memory).
 *
 * @example new AuthClient({ baseUrl, refreshTransport: 'body' });
 */
export type RefreshTransport = 'cookie' | 'body';

/**
 * How an {@link AuthClient} is set up. Only `baseUrl` is needed outside browsers.
 *
 * @example
 * const options: AuthClientOptions = { baseUrl: 'https://auth.example', keyKind: 'p256', issuer: 'https://auth.example' };
 */
export interface AuthClientOptions {
  /** The auth server's origin, such as `http://localhost:3000`. Default in browsers: `location.origin`. */
  readonly baseUrl?: string;
  /** Where the client key pair lives. Default: {@link IndexedDbKeyStore} in browsers, {@link MemoryKeyStore} elsewhere. */
  readonly keyStore?: KeyStore;
  /** The kind of key to generate when the store holds none of this kind. Default `x25519`. */
  readonly keyKind?: ClientKeyKind;
  /** Default: `cookie` in browsers (never readable by script), `body` elsewhere (kept in memory only). */
  readonly refreshTransport?: RefreshTransport;
  /**
   * Bind the session to a DPoP proof key (RFC 9449), kept in the key store beside the client key:
   * every request then carries a fresh proof, so a copied token is useless without the key.
   * Default `true`; against a server that does not bind (`token_type: Bearer`) the client falls
   * back to bearer tokens.
   */
  readonly dpop?: boolean;
  /** The `iss` every access token must carry; unchecked when unset. */
  readonly issuer?: string;
  /** The `aud` every access token must carry; unchecked when unset. */
  readonly audience?: string;
  /** The `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /**
   * Where the client reads the time (epoch ms): when its token expires, the date of its DPoP proofs,
   * the `exp`/`iat` checks of a new token. Default `Date.now`; tests pass a clock they move by hand.
   *
   * @example new AuthClient({ baseUrl, clock: () => fakeNow });
   */
  readonly clock?: () => number;
  /** Called with each new verified access token, and with `null` once signed out. */
  readonly onTokenChange?: (token: VerifiedAccessToken | null) => void;
}

/**
 * One of the user's live sessions, as `GET /auth/sessions` lists it.
 *
 * @example const others = (await client.sessions()).filter((s: SessionInfo) => !s.current);
 */
export interface SessionInfo {
  readonly id: string;
  readonly created_at: string;
  readonly last_used_at: string;
  readonly user_agent: string | null;
  /** Whether this is the client's own session. */
  readonly current: boolean;
}

/**
 * The answer of the sample protected route `GET /api/me`.
 *
 * @example const { username }: MeResponse = await client.me();
 */
export interface MeResponse {
  readonly sub: string;
  readonly username: string;
  readonly session_id: string;
}
