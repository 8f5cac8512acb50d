import request from 'supertest';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { makeClientKey, type ClientKeyPair } from '../helpers/client.js';
import { login } from '../helpers/flow.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

let server: TestServer;
let client: ClientKeyPair;

beforeAll(async () => {
  server = await startTestServer();
  await server.addUser('alice', PASSWORD);
  await server.addUser('dora', PASSWORD);
  await server.runtime.users.setDisabled('dora', true);
  client = await makeClientKey();
});
afterAll(() => server.close());

const loginAs = (app: TestServer['app'], body: Record<string, unknown>) =>
  request(app)
    .post('/auth/login')
    .send({ client_key: client.publicJwk, ...body });

/** The attributes of a Set-Cookie header, by lower-case name (`true` for flags). */
function cookieAttributes(setCookie: string): Map<string, string | true> {
  const [, ...parts] = setCookie.split(';').map((part) => part.trim());
  return new Map(
    parts.map((part) => {
      const [name, ...value] = part.split('=');
      return [(name as string).toLowerCase(), value.length > 0 ? value.join('=') : true] as [string, string | true];
    }),
  );
}

function refreshCookie(res: request.Response): string | undefined {
  return ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('refresh_token='));
}

describe('GET /.well-known/jwks.json', () => {
  it('publishes only public members, each key with kid, use and alg', async () => {
    const res = await request(server.app).get('/.well-known/jwks.json').expect(200);
    const keys = (res.body as { keys: JWK[] }).keys;
    expect(keys.map((k) => k.use).sort()).toEqual(['enc', 'sig']);
    for (const key of keys) {
      for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
      expect(key).toEqual(expect.objectContaining({ kid: expect.any(String), use: expect.stringMatching(/^(sig|enc)$/), alg: expect.any(String) }));
    }
    expect(keys.find((k) => k.use === 'sig')?.alg).toBe('ES256');
    expect(keys.find((k) => k.use === 'enc')?.alg).toBe('ECDH-ES');
  });

  it('names every key by its RFC 7638 thumbprint', async () => {
    const { keys } = (await request(server.app).get('/.well-known/jwks.json').expect(200)).body as { keys: JWK[] };
    for (const key of keys) expect(key.kid).toBe(await calculateJwkThumbprint(key, 'sha256'));
  });

  it('is cacheable JSON', async () => {
    const res = await request(server.app).get('/.well-known/jwks.json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
  });
});

describe('health routes', () => {
  it('answers GET /healthz with 200', async () => {
    const res = await request(server.app).get('/healthz');
    expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok' }) });
  });

  it('answers GET /readyz with 200 while keys and store are ready', async () => {
    const res = await request(server.app).get('/readyz');
    expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 200, body: expect.objectContaining({ status: 'ready' }) });
  });
});

describe('an unknown route', () => {
  it.each([
    ['GET', '/nope'],
    ['POST', '/auth/nope'],
    ['DELETE', '/api/you'],
  ])('%s %s answers 404 not_found as JSON', async (method, path) => {
    const res = await request(server.app)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
    expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 404, body: { error: 'not_found', error_description: expect.any(String) } });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('a route asked with a method it does not have', () => {
  it.each([
    ['GET', '/auth/login', 'POST, OPTIONS'],
    ['PUT', '/auth/refresh', 'POST, OPTIONS'],
    ['POST', '/auth/verify', 'GET, HEAD, OPTIONS'],
    ['GET', '/auth/logout', 'POST, OPTIONS'],
    ['DELETE', '/auth/sessions', 'GET, HEAD, OPTIONS'],
    ['GET', '/auth/sessions/some-id', 'DELETE, OPTIONS'],
    ['PATCH', '/auth/password', 'POST, OPTIONS'],
    ['DELETE', '/.well-known/jwks.json', 'GET, HEAD, OPTIONS'],
    ['POST', '/api/me', 'GET, HEAD, OPTIONS'],
    ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
    ['PUT', '/readyz', 'GET, HEAD, OPTIONS'],
  ])('%s %s answers 405 method_not_allowed with Allow: %s', async (method, path, allow) => {
    const res = await request(server.app)[method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](path);
    expect({ status: res.status, allow: res.headers.allow, body: res.body as unknown }).toEqual({
      status: 405,
      allow,
      body: { error: 'method_not_allowed', error_description: expect.any(String) },
    });
  });

  it('answers OPTIONS with 204 and Allow, and HEAD like GET', async () => {
    const options = await request(server.app).options('/auth/login');
    expect({ status: options.status, allow: options.headers.allow }).toEqual({ status: 204, allow: 'POST, OPTIONS' });
    expect((await request(server.app).head('/healthz')).status).toBe(200);
  });
});

describe('GET /api/me', () => {
  it('answers JSON no cache may keep, without an ETag, and HEAD with the same headers and no body', async () => {
    const { bearer } = await login(server.app, 'alice', PASSWORD);
    const get = await request(server.app).get('/api/me').set('Authorization', `Bearer ${bearer}`).expect(200);
    expect(get.body).toEqual({ sub: expect.any(String), username: 'alice', session_id: expect.any(String) });
    expect(get.headers).toMatchObject({ 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff' });
    expect(get.headers.etag).toBeUndefined();
    const head = await request(server.app).head('/api/me').set('Authorization', `Bearer ${bearer}`).expect(200);
    expect(head.text).toBeUndefined();
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers['cache-control']).toBe('no-store');
  });

  it('ignores a body, even a malformed one, as it takes none (so does logout)', async () => {
    const { bearer } = await login(server.app, 'alice', PASSWORD);
    const malformed = '{"username": "alice"';
    const me = await request(server.app).get('/api/me').set('Authorization', `Bearer ${bearer}`).set('Content-Type', 'application/json').send(malformed);
    expect({ status: me.status, username: me.body.username as unknown }).toEqual({ status: 200, username: 'alice' });
    await request(server.app).post('/auth/logout').set('Authorization', `Bearer ${bearer}`).set('Content-Type', 'application/json').send(malformed).expect(204);
    await request(server.app).get('/api/me').set('Authorization', `Bearer ${bearer}`).expect(401);
  });
});

describe('POST /auth/login', () => {
  it('answers an unknown user, a wrong password and a disabled user with one identical 401', async () => {
    const answers = await Promise.all(
      [
        { username: 'nobody', password: PASSWORD },
        { username: 'alice', password: 'wrong password' },
        { username: 'dora', password: PASSWORD },
      ].map(async (body) => {
        const res = await loginAs(server.app, body);
        return { status: res.status, body: res.body as unknown, wwwAuthenticate: res.headers['www-authenticate'] };
      }),
    );
    expect(answers[0]).toEqual({ status: 401, body: { error: 'invalid_credentials', error_description: expect.any(String) }, wwwAuthenticate: undefined });
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('answers with the token response, not to be stored by caches', async () => {
    const res = await loginAs(server.app, { username: 'alice', password: PASSWORD }).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.stringMatching(/^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/),
      token_type: 'Bearer',
      expires_in: 900,
      session_id: expect.any(String),
      refresh_expires_in: 7 * 24 * 3600,
    });
  });

  it('sets the refresh cookie and leaves refresh_token out of the body by default', async () => {
    const res = await loginAs(server.app, { username: 'alice', password: PASSWORD }).expect(200);
    expect(res.body).not.toHaveProperty('refresh_token');
    expect(refreshCookie(res)).toMatch(/^refresh_token=[\w-]{43};/);
  });

  it('puts refresh_token in the body, and sets no cookie, only with refresh_transport "body"', async () => {
    const res = await loginAs(server.app, { username: 'alice', password: PASSWORD, refresh_transport: 'body' }).expect(200);
    expect(res.body.refresh_token).toMatch(/^[\w-]{43}$/);
    expect(res.headers['set-cookie']).toBeUndefined();
    const cookie = await loginAs(server.app, { username: 'alice', password: PASSWORD, refresh_transport: 'cookie' }).expect(200);
    expect(cookie.body).not.toHaveProperty('refresh_token');
    expect(refreshCookie(cookie)).toBeDefined();
  });

  it('writes the refresh cookie with exactly the contract attributes, without Secure when COOKIE_SECURE=false', async () => {
    const res = await loginAs(server.app, { username: 'alice', password: PASSWORD }).expect(200);
    const attributes = cookieAttributes(refreshCookie(res) as string);
    expect(Object.fromEntries(attributes)).toEqual({
      httponly: true,
      samesite: 'Strict',
      path: '/auth',
      'max-age': String(res.body.refresh_expires_in),
    });
    expect(refreshCookie(res)).toMatch(/^refresh_token=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/auth; Max-Age=\d+$/);
  });

  it('adds Secure to the refresh cookie when COOKIE_SECURE is on (the default)', async () => {
    const secure = await startTestServer({ COOKIE_SECURE: 'true' });
    try {
      await secure.addUser('alice', PASSWORD);
      const res = await loginAs(secure.app, { username: 'alice', password: PASSWORD }).expect(200);
      expect(Object.fromEntries(cookieAttributes(refreshCookie(res) as string))).toEqual({
        httponly: true,
        secure: true,
        samesite: 'Strict',
        path: '/auth',
        'max-age': String(res.body.refresh_expires_in),
      });
      expect(refreshCookie(res)).toMatch(/; Max-Age=\d+; Secure$/);
    } finally {
      await secure.close();
    }
  });
});

describe('the login rate limit', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ LOGIN_RATE_LIMIT: '3' });
    await limited.addUser('alice', PASSWORD);
  });
  afterAll(() => limited.close());

  it('answers the attempt after LOGIN_RATE_LIMIT with 429 too_many_requests and Retry-After', async () => {
    for (let attempt = 0; attempt < 3; attempt++) await loginAs(limited.app, { username: 'alice', password: 'wrong password' }).expect(401);
    const res = await loginAs(limited.app, { username: 'alice', password: PASSWORD });
    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: 429,
      body: { error: 'too_many_requests', error_description: expect.any(String) },
    });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});
