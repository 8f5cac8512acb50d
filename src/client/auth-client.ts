import type { JSONWebKeySet } from 'jose';
import { createDpopProof, type ProofKeyPair } from './dpop.js';
import { AuthClientError, errorFromResponse } from './errors.js';
import { IndexedDbKeyStore } from './indexeddb-key-store.js';
import { JwksCache } from './jwks.js';
import { loadOrCreateClientKey, MemoryKeyStore, type ClientKeyPair, type KeyStore } from './keys.js';
import { openAccessToken, sealForServer, verifyInnerToken, type VerifiedAccessToken } from './token.js';
import type { AuthClientOptions, MeResponse, RefreshTransport, SessionInfo } from './types.js';

/** The access token in use, with its bearer form sealed once, on first use, and its DPoP key when bound. */
interface Session {
  readonly token: VerifiedAccessToken;
  readonly proofKey: ProofKeyPair | undefined;
  bearer?: Promise<string>;
}

const IN_BROWSER = typeof window !== 'undefined' && typeof document !== 'undefined';
/**
 * How far this device's clock may be from the server's (read from the `Date` of its answers) before
 * DPoP proofs are dated by the server's clock instead: the server refuses an `iat` more than 60 s off.
 */
const CLOCK_SKEW_TOLERANCE_MS = 10_000;
const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

/**
 * A client of jwe-auth-server. It holds a key pair, opens each access token with the private key,
 * verifies the signed token inside against the server's JWKS, and sends it back sealed to the
 * server's key. By default the session is bound to a DPoP proof key (RFC 9449) and every request,
 * refresh included, carries a fresh proof. Expired or refused tokens are refreshed transparently,
 * with one refresh shared by all concurrent calls.
 *
 * @example
 * const client = new AuthClient({ baseUrl: 'http://localhost:3000' });
 * await client.login('alice', 'correct horse battery');
 * const me = await client.me();
 * const res = await client.fetch('/api/orders');
 * await client.logout();
 */
export class AuthClient {
  /** The server's origin; tokens are sent nowhere else. */
  readonly baseUrl: string;
  /** How this client's refresh token travels. */
  readonly refreshTransport: RefreshTransport;
  /** Whether this client binds its sessions to a DPoP proof key. */
  readonly dpop: boolean;
  readonly #options: AuthClientOptions;
  readonly #keyStore: KeyStore;
  readonly #fetch: typeof fetch;
  readonly #jwks: JwksCache;
  readonly #clock: () => number;
  #session: Session | null = null;
  #refreshToken: string | null = null;
  #refreshing: Promise<VerifiedAccessToken> | null = null;
  /** Bumped when signing in or out, so a response that arrives afterwards cannot revive old state. */
  #epoch = 0;
  /** The server's clock minus this device's, when they disagree by more than the tolerance; else 0. */
  #clockOffset = 0;

  /**
   * @throws {TypeError} when `baseUrl` is missing outside a browser.
   * @example new AuthClient({ baseUrl: 'http://localhost:3000' });
   */
  constructor(options: AuthClientOptions = {}) {
    const baseUrl = options.baseUrl ?? (IN_BROWSER ? globalThis.location.origin : undefined);
    if (baseUrl === undefined || !URL.canParse(baseUrl)) throw new TypeError('AuthClient needs an absolute baseUrl');
    this.baseUrl = new URL(baseUrl).origin;
    this.refreshTransport = options.refreshTransport ?? (IN_BROWSER ? 'cookie' : 'body');
    this.dpop = options.dpop ?? true;
    this.#options = options;
    this.#keyStore = options.keyStore ?? (IN_BROWSER ? new IndexedDbKeyStore() : new MemoryKeyStore());
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#clock = options.clock ?? (() => Date.now());
    // `no-cache`: the server lets caches keep the JWKS for minutes, but a refetch must see a rotation.
    this.#jwks = new JwksCache(async () => {
      const res = await this.#send('/.well-known/jwks.json', { headers: { Accept: 'application/json' }, cache: 'no-cache' });
      const jwks = await readJson<JSONWebKeySet>(res);
      if (!Array.isArray(jwks?.keys)) throw new AuthClientError('unexpected_response', 'The JWKS has no keys', { status: res.status });
      return jwks;
    });
  }

  /**
   * The verified access token in use, or `null` when signed out.
   *
   * @example if (client.token) console.log('session', client.token.claims.sid);
   */
  get token(): VerifiedAccessToken | null {
    return this.#session?.token ?? null;
  }

  /**
   * Signs in with the stored key pair (generated and stored on first use, with a DPoP proof key
   * unless `dpop: false`), then opens and verifies the access token.
   *
   * @throws {AuthClientError} `invalid_credentials`, `invalid_client_key`, `too_many_requests`,
   * `token_verification_failed`, `network_error`...
   * @example const token = await client.login('alice', 'correct horse battery');
   */
  async login(username: string, password: string): Promise<VerifiedAccessToken> {
    const pair = await loadOrCreateClientKey(this.#keyStore, this.#options.keyKind ?? 'x25519', { dpop: this.dpop });
    // The JWKS is needed to verify the token anyway; fetched first, its Date also sets the proof clock.
    if (this.dpop) await this.#jwks.encryptionKey();
    const epoch = ++this.#epoch;
    const body = { username, password, client_key: pair.publicJwk, refresh_transport: this.refreshTransport };
    const headers = { ...JSON_HEADERS, ...(await this.#proofHeader(this.dpop ? pair.proofKey : undefined, 'POST', '/auth/login')) };
    const res = await this.#send('/auth/login', { method: 'POST', headers, body: JSON.stringify(body) });
    return this.#accept(res, pair, epoch);
  }

  /**
   * Gets a new access token with the refresh token. Concurrent calls share one request. In a
   * browser, calling it on page load restores the session from the refresh cookie.
   *
   * @throws {AuthClientError} `invalid_grant` (the session has ended; the client is signed out),
   * `not_authenticated` (nothing to refresh with).
   * @example await client.refresh();
   */
  refresh(): Promise<VerifiedAccessToken> {
    this.#refreshing ??= this.#refreshOnce().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /**
   * `fetch` with `Authorization: DPoP <token sealed to the server>` and a fresh `DPoP` proof for
   * this request (or `Authorization: Bearer <token>` for an unbound session). A token known to be
   * expired is refreshed first; a 401 answer is refreshed once and the request retried once, so the
   * body must be re-sendable (not a stream). Only the server's own origin receives the token.
   *
   * @param input - A path on the server (`/api/me`) or an absolute URL of the same origin.
   * @throws {AuthClientError} `not_authenticated`, `invalid_grant`, `network_error`...
   * @example const res = await client.fetch('/api/orders', { method: 'POST', body: JSON.stringify(order) });
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input, this.baseUrl);
    if (url.origin !== this.baseUrl) throw new TypeError(`AuthClient only sends its token to ${this.baseUrl}`);
    let session = this.#session;
    if (!session) throw new AuthClientError('not_authenticated');
    if (this.#clock() >= session.token.expiresAt) session = await this.#sessionAfterRefresh(session);
    const res = await this.#sendWithBearer(url, init, session);
    if (res.status !== 401) return res;
    await res.body?.cancel();
    return this.#sendWithBearer(url, init, await this.#sessionAfterRefresh(session));
  }

  /**
   * Calls the sample protected route `GET /api/me`.
   *
   * @example const { username } = await client.me();
   */
  me(): Promise<MeResponse> {
    return this.#authorizedJson<MeResponse>('/api/me');
  }

  /**
   * Lists the user's live sessions, the current one marked.
   *
   * @example for (const s of await client.sessions()) console.log(s.id, s.current);
   */
  async sessions(): Promise<SessionInfo[]> {
    return (await this.#authorizedJson<{ sessions: SessionInfo[] }>('/auth/sessions')).sessions;
  }

  /**
   * Revokes one of the user's sessions at once. Revoking the current one signs this client out.
   *
   * @throws {AuthClientError} `unexpected_response` with `serverCode: 'not_found'` for an id that is
   * not a live session of the user.
   * @example await client.revokeSession(otherSession.id);
   */
  async revokeSession(id: string): Promise<void> {
    const current = this.#session?.token.claims.sid;
    await this.#authorizedJson(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (id === current) this.#signOut();
  }

  /**
   * Ends this session on the server and forgets it here. Already ended is fine. The local state is
   * cleared even when the server cannot be reached (the error is then thrown).
   *
   * @example await client.logout();
   */
  logout(): Promise<void> {
    return this.#end('/auth/logout');
  }

  /**
   * Ends every session of the user, on every device, and forgets this one.
   *
   * @example await client.logoutAll();
   */
  logoutAll(): Promise<void> {
    return this.#end('/auth/logout-all-devices');
  }

  async #refreshOnce(): Promise<VerifiedAccessToken> {
    const refreshToken = this.#refreshToken;
    if (this.refreshTransport === 'body' && refreshToken === null) throw new AuthClientError('not_authenticated');
    const pair = await this.#keyStore.load();
    if (!pair) throw new AuthClientError('not_authenticated', 'No client key is stored; sign in again');
    const epoch = this.#epoch;
    const proof = await this.#proofHeader(this.dpop ? pair.proofKey : undefined, 'POST', '/auth/refresh');
    const init: RequestInit =
      this.refreshTransport === 'body'
        ? { method: 'POST', headers: { ...JSON_HEADERS, ...proof }, body: JSON.stringify({ refresh_token: refreshToken }) }
        : { method: 'POST', headers: { Accept: 'application/json', ...proof } };
    const res = await this.#send('/auth/refresh', init);
    if (res.status === 401 && epoch === this.#epoch) this.#signOut();
    return this.#accept(res, pair, epoch);
  }

  /** The session to retry with: a newer one if another call already refreshed, else a refreshed one. */
  async #sessionAfterRefresh(used: Session): Promise<Session> {
    if (this.#session === null) throw new AuthClientError('not_authenticated');
    if (this.#session === used) await this.refresh();
    const session = this.#session as Session | null;
    if (!session) throw new AuthClientError('not_authenticated');
    return session;
  }

  /** Checks a token response, opens and verifies the token, and makes it current (unless signed in or out meanwhile). */
  async #accept(res: Response, pair: ClientKeyPair, epoch: number): Promise<VerifiedAccessToken> {
    const receivedAt = this.#clock();
    if (!res.ok) throw await errorFromResponse(res);
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    const wantsRefreshToken = this.refreshTransport === 'body';
    if (
      typeof body?.access_token !== 'string' ||
      typeof body.expires_in !== 'number' ||
      typeof body.session_id !== 'string' ||
      (wantsRefreshToken && typeof body.refresh_token !== 'string')
    ) {
      throw new AuthClientError('unexpected_response', 'The token response is malformed', { status: res.status });
    }
    const { jws, outerHeader } = await openAccessToken(body.access_token, pair);
    const { innerHeader, claims } = await verifyInnerToken(jws, this.#jwks, { issuer: this.#options.issuer, audience: this.#options.audience, now: receivedAt });
    if (claims.sid !== body.session_id) throw new AuthClientError('token_verification_failed', 'The token belongs to another session');
    const tokenType = body.token_type === 'DPoP' ? 'DPoP' : 'Bearer';
    const proofKey = tokenType === 'DPoP' ? pair.proofKey : undefined;
    if (tokenType === 'DPoP' && (proofKey === undefined || claims.cnf?.jkt !== proofKey.jkt)) {
      throw new AuthClientError('token_verification_failed', 'The token is not bound to this client\'s DPoP key');
    }
    const token: VerifiedAccessToken = {
      accessToken: body.access_token,
      tokenType,
      outerHeader,
      innerHeader,
      claims,
      jws,
      expiresAt: receivedAt + body.expires_in * 1000,
    };
    if (epoch !== this.#epoch) throw new AuthClientError('not_authenticated', 'Signed out while the token was on its way');
    this.#session = { token, proofKey };
    if (wantsRefreshToken) this.#refreshToken = body.refresh_token as string;
    this.#options.onTokenChange?.(token);
    return token;
  }

  async #end(path: string): Promise<void> {
    try {
      if (!this.#session) return;
      const res = await this.fetch(path, { method: 'POST' });
      if (!res.ok && res.status !== 401) throw await errorFromResponse(res);
    } catch (error) {
      const alreadyEnded = error instanceof AuthClientError && (error.code === 'invalid_grant' || error.code === 'not_authenticated');
      if (!alreadyEnded) throw error;
    } finally {
      this.#signOut();
    }
  }

  #signOut(): void {
    const hadState = this.#session !== null || this.#refreshToken !== null;
    this.#epoch++;
    this.#session = null;
    this.#refreshToken = null;
    if (hadState) this.#options.onTokenChange?.(null);
  }

  async #sendWithBearer(url: URL, init: RequestInit, session: Session): Promise<Response> {
    session.bearer ??= sealForServer(session.token.jws, this.#jwks);
    const sealed = await session.bearer;
    const headers = new Headers(init.headers);
    headers.set('Authorization', `${session.proofKey ? 'DPoP' : 'Bearer'} ${sealed}`);
    for (const [name, value] of Object.entries(await this.#proofHeader(session.proofKey, init.method ?? 'GET', url, sealed))) headers.set(name, value);
    return this.#send(url, { ...init, headers });
  }

  /** `{DPoP: <a fresh proof>}` for a request, dated by the server's clock, or nothing without a proof key. */
  async #proofHeader(key: ProofKeyPair | undefined, method: string, path: string | URL, accessToken?: string): Promise<Record<string, string>> {
    if (!key) return {};
    const proof = await createDpopProof(key, { method, url: new URL(path, this.baseUrl), accessToken, now: this.#clock() + this.#clockOffset });
    return { DPoP: proof };
  }

  /** Learns how far the server's clock is from this one from an answer's `Date` (a whole second). */
  #learnClock(res: Response): void {
    const serverTime = Date.parse(res.headers.get('date') ?? '');
    if (Number.isNaN(serverTime)) return;
    const offset = serverTime - this.#clock();
    this.#clockOffset = Math.abs(offset) > CLOCK_SKEW_TOLERANCE_MS ? offset : 0;
  }

  async #authorizedJson<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.fetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
    return readJson<T>(res);
  }

  /** The one place requests leave: same-origin credentials (the refresh cookie), network failures typed. */
  async #send(input: string | URL, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await this.#fetch(new URL(input, this.baseUrl), { credentials: 'same-origin', ...init });
    } catch (error) {
      throw new AuthClientError('network_error', undefined, { cause: error });
    }
    this.#learnClock(res);
    return res;
  }
}

/** The JSON body of a successful response (`undefined` for 204), or the typed error of a failed one. */
async function readJson<T>(res: Response): Promise<T> {
  if (!res.ok) throw await errorFromResponse(res);
  if (res.status === 204) return undefined as T;
  try {
    return (await res.json()) as T;
  } catch (error) {
    throw new AuthClientError('unexpected_response', 'The response is not JSON', { status: res.status, cause: error });
  }
}
