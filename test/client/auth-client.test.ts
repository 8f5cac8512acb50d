import { generateClientKey } from '../../src/client/keys.js';
import { AuthClient, AuthClientError, type AuthClientErrorCode, type VerifiedAccessToken } from '../../src/client/index.js';
import { fakeClock } from '../helpers/clock.js';
import { codeOf } from '../helpers/sdk.js';
import { createFakeServer } from './fake-server.js';

type FakeServer = Awaited<ReturnType<typeof createFakeServer>>;

function clientOf(server: FakeServer, options: ConstructorParameters<typeof AuthClient>[0] = {}): AuthClient {
  return new AuthClient({ baseUrl: server.baseUrl, fetch: server.fetch, ...options });
}

describe('AuthClient against a fake server', () => {
  let server: FakeServer;
  beforeEach(async () => {
    server = await createFakeServer({ refreshDelayMs: 50 });
  });

  it('signs in, exposes the three verified layers, and calls a protected route', async () => {
    const client = clientOf(server);
    const token = await client.login('alice', 'right');
    expect(token.outerHeader).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT' });
    expect(token.innerHeader).toMatchObject({ alg: 'ES256', kid: 'sig-1', typ: 'at+jwt' });
    expect(token.claims).toMatchObject({ sub: 'user-1', iss: server.issuer });
    expect(await client.me()).toMatchObject({ username: 'alice', session_id: token.claims.sid });
  });

  it('shares one refresh among concurrent calls refused with 401, and retries each once', async () => {
    const client = clientOf(server);
    await client.login('alice', 'right');
    server.refuseIssuedTokens();
    const results = await Promise.all(Array.from({ length: 5 }, () => client.me()));
    expect(results.every((me) => me.username === 'alice')).toBe(true);
    expect(server.count('POST /auth/refresh')).toBe(1);
    expect(server.count('GET /api/me')).toBe(10);
  });

  it('refreshes once, before sending, when concurrent calls find the token expired by the local clock', async () => {
    server = await createFakeServer({ ttlSeconds: 1, refreshDelayMs: 50 });
    const time = fakeClock();
    const client = clientOf(server, { clock: time.clock });
    await client.login('alice', 'right');
    await Promise.all(Array.from({ length: 2 }, () => client.me()));
    expect(server.count('POST /auth/refresh')).toBe(0);
    time.advance(1000);
    await Promise.all(Array.from({ length: 5 }, () => client.me()));
    expect(server.count('POST /auth/refresh')).toBe(1);
    expect(server.count('GET /api/me')).toBe(7);
  });

  it('seals the token once and reuses the sealed form until the token changes', async () => {
    const client = clientOf(server);
    await client.login('alice', 'right');
    await client.me();
    await client.me();
    await client.refresh();
    await client.me();
    const [first, second, third] = server.bearers;
    expect(first).toBe(second);
    expect(third).not.toBe(first);
  });

  it('refetches the JWKS once when a token names a new signing key, then keeps the cache', async () => {
    const client = clientOf(server);
    await client.login('alice', 'right');
    expect(server.count('GET /.well-known/jwks.json')).toBe(1);
    await server.rotateSigningKey();
    const token = await client.refresh();
    expect(token.innerHeader.kid).toBe('sig-2');
    expect(server.count('GET /.well-known/jwks.json')).toBe(2);
    await client.refresh();
    expect(server.count('GET /.well-known/jwks.json')).toBe(2);
  });

  it('refuses a token signed with an unpublished key after exactly one refetch', async () => {
    const client = clientOf(server);
    server.state.overrides = { unpublishedKey: true };
    expect(await codeOf(client.login('alice', 'right'))).toBe('token_verification_failed');
    expect(server.count('GET /.well-known/jwks.json')).toBe(2);
    expect(client.token).toBeNull();
  });

  it.each([
    ['a typ other than at+jwt', { typ: 'JWT' }, {}],
    ['another issuer than the configured one', { issuer: 'https://evil.example' }, { issuer: 'http://auth.test' }],
  ])('refuses a token with %s', async (_name, overrides, options) => {
    server.state.overrides = overrides;
    expect(await codeOf(clientOf(server, options).login('alice', 'right'))).toBe('token_verification_failed');
  });

  it('checks iss and aud only when configured, and accepts the right ones', async () => {
    const client = clientOf(server, { issuer: server.issuer, audience: server.audience });
    await expect(client.login('alice', 'right')).resolves.toBeDefined();
    const wrongAudience = clientOf(server, { audience: 'someone-else' });
    expect(await codeOf(wrongAudience.login('alice', 'right'))).toBe('token_verification_failed');
  });

  it('refuses a token encrypted to another key than its own', async () => {
    server.state.overrides = { encryptTo: (await generateClientKey('x25519')).publicJwk };
    expect(await codeOf(clientOf(server).login('alice', 'right'))).toBe('token_verification_failed');
  });

  it('signs out and throws invalid_grant when the refresh is refused, then not_authenticated without a request', async () => {
    const changes: Array<VerifiedAccessToken | null> = [];
    const client = clientOf(server, { onTokenChange: (token) => changes.push(token) });
    await client.login('alice', 'right');
    server.revokeAll();
    expect(await codeOf(client.me())).toBe('invalid_grant');
    expect(client.token).toBeNull();
    expect(changes.at(-1)).toBeNull();
    const requests = server.count('GET /api/me');
    expect(await codeOf(client.me())).toBe('not_authenticated');
    expect(server.count('GET /api/me')).toBe(requests);
  });

  it('throws not_authenticated before any login, sending nothing', async () => {
    const client = clientOf(server);
    expect(await codeOf(client.me())).toBe('not_authenticated');
    expect(await codeOf(client.refresh())).toBe('not_authenticated');
    expect(server.count('GET /api/me') + server.count('POST /auth/refresh')).toBe(0);
  });

  it('logs out on the server, forgets the session, and stays idempotent', async () => {
    const client = clientOf(server);
    await client.login('alice', 'right');
    await client.logout();
    expect(server.count('POST /auth/logout')).toBe(1);
    expect(client.token).toBeNull();
    await client.logout();
    expect(server.count('POST /auth/logout')).toBe(1);
    expect(await codeOf(client.me())).toBe('not_authenticated');
  });

  it('never sends the token to another origin', async () => {
    const client = clientOf(server);
    await client.login('alice', 'right');
    await expect(client.fetch('https://elsewhere.example/api')).rejects.toThrow(TypeError);
  });

  it('does not let a refresh answered after a sign-out sign the client back in', async () => {
    const client = clientOf(server);
    await client.login('alice', 'right');
    const refreshing = client.refresh();
    await client.logout();
    expect(await codeOf(refreshing)).toBe('not_authenticated');
    expect(client.token).toBeNull();
  });
});

describe('AuthClient error codes', () => {
  let server: FakeServer;
  beforeAll(async () => {
    server = await createFakeServer();
  });

  it('answers invalid_credentials with the status for a wrong password', async () => {
    const error = await clientOf(server)
      .login('alice', 'wrong')
      .catch((caught: AuthClientError) => caught);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ code: 'invalid_credentials', status: 401, serverCode: 'invalid_credentials' });
  });

  it.each<[string, () => Response, AuthClientErrorCode, number]>([
    ['429 with Retry-After', () => new Response('{"error":"too_many_requests"}', { status: 429, headers: { 'Retry-After': '7' } }), 'too_many_requests', 429],
    ['503', () => new Response('{"error":"temporarily_unavailable"}', { status: 503 }), 'temporarily_unavailable', 503],
    ['400 invalid_client_key', () => new Response('{"error":"invalid_client_key"}', { status: 400 }), 'invalid_client_key', 400],
    ['500', () => new Response('{"error":"server_error"}', { status: 500 }), 'server_error', 500],
    ['an HTML 502 from a proxy', () => new Response('<html>bad gateway</html>', { status: 502 }), 'server_error', 502],
    ['404 not_found', () => new Response('{"error":"not_found"}', { status: 404 }), 'not_found', 404],
    ['404 without a JSON body', () => new Response('nope', { status: 404 }), 'unexpected_response', 404],
    ['a 200 that is not a token response', () => new Response('{"hello":1}', { status: 200 }), 'unexpected_response', 200],
  ])('maps %s', async (_name, respond, code, status) => {
    server.state.forced = respond;
    try {
      const error = await clientOf(server)
        .login('alice', 'right')
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code, status });
      if (code === 'too_many_requests') expect(error).toMatchObject({ retryAfter: 7 });
    } finally {
      server.state.forced = null;
    }
  });

  it('answers network_error with status 0 when the server cannot be reached', async () => {
    const client = new AuthClient({ baseUrl: 'http://unreachable.test', fetch: server.fetch });
    const error = await client.login('alice', 'right').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'network_error', status: 0 });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it('needs an absolute baseUrl outside browsers', () => {
    expect(() => new AuthClient()).toThrow(TypeError);
  });
});
