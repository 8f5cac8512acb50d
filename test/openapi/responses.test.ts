import request from 'supertest';
import { makeClientKey, type ClientKeyKind } from '../helpers/client.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { login } from '../helpers/flow.js';
import { startTestServer, whileLocked, type TestServer } from '../helpers/runtime.js';
import { boom, cookieOf, expectDocumentedWith, oversized, PASSWORD, PUBLIC_OPERATIONS, withReplaced, type ExpectedResponse } from './harness.js';
import { SpecChecker, type OperationKey } from './spec.js';

/**
 * Real responses of the real app, for every status docs/openapi.yaml documents for the routes without
 * a bearer (keys, login, refresh, probes), checked against the spec: the status is documented, the
 * body validates against the documented schema, and the documented headers are there and well
 * formed. The bearer-protected routes are in protected-responses.test.ts.
 */
const checker = new SpecChecker();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ REFRESH_REUSE_GRACE: '0s' });
  await server.addUser('alice', PASSWORD);
});
afterAll(() => server.close());

const expectDocumented = (key: OperationKey, res: request.Response, status: number, options?: ExpectedResponse) =>
  expectDocumentedWith(checker, key, res, status, options);

describe('GET /.well-known/jwks.json', () => {
  const key = 'GET /.well-known/jwks.json';

  it('answers 200 with the public keys of the default ES256 / X25519 server', async () => {
    expectDocumented(key, await request(server.app).get('/.well-known/jwks.json'), 200);
  });

  it.each([
    ['EdDSA', 'p256'],
    ['PS256', 'rsa'],
  ])('answers 200 with public keys only for a %s / %s server', async (signing, encryption) => {
    const other = await startTestServer({ SIGNING_ALG: signing, ENCRYPTION_KEY_TYPE: encryption });
    try {
      expectDocumented(key, await request(other.app).get('/.well-known/jwks.json'), 200);
    } finally {
      await other.close();
    }
  });

  it('answers 500 server_error without detail when building the key set fails', async () => {
    await withReplaced(server.runtime.keys, 'jwks', () => {
      throw new Error('injected failure');
    }, async () => {
      const res = await request(server.app).get('/.well-known/jwks.json');
      expectDocumented(key, res, 500, { error: 'server_error' });
      expect(res.text).not.toContain('injected');
    });
  });
});

describe('POST /auth/login', () => {
  const key = 'POST /auth/login';
  const loginAs = async (kind: ClientKeyKind, extra: Record<string, unknown> = {}) => {
    const client = await makeClientKey(kind);
    const sent = { username: 'alice', password: PASSWORD, client_key: client.publicJwk, ...extra };
    return { sent, res: await request(server.app).post('/auth/login').set('User-Agent', 'openapi-test/1.0').send(sent) };
  };

  it('answers 200 with a token response and sets the refresh cookie by default', async () => {
    const { sent, res } = await loginAs('x25519');
    expectDocumented(key, res, 200, { sent });
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.headers['set-cookie']).toBeDefined();
  });

  it.each(['p256', 'rsa'] as const)('answers 200 with the refresh token in the body for a %s client key', async (kind) => {
    const { sent, res } = await loginAs(kind, { refresh_transport: 'body' });
    expectDocumented(key, res, 200, { sent });
    expect(res.body.refresh_token).toEqual(expect.any(String));
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('answers 400 invalid_request for a missing field and for a body that is not JSON', async () => {
    const client = await makeClientKey();
    expectDocumented(key, await request(server.app).post('/auth/login').send({ username: 'alice', client_key: client.publicJwk }), 400, {
      error: 'invalid_request',
    });
    const broken = await request(server.app).post('/auth/login').set('Content-Type', 'application/json').send('{"username": ');
    expectDocumented(key, broken, 400, { error: 'invalid_request' });
  });

  it('answers 200 with token_type DPoP for a login with a DPoP proof, and 400 invalid_dpop_proof for a bad proof', async () => {
    const proofKey = await makeProofKey();
    const client = await makeClientKey();
    const sent = { username: 'alice', password: PASSWORD, client_key: client.publicJwk };
    const withProof = (proof: string) => request(server.app).post('/auth/login').set('DPoP', proof).send(sent);
    const bound = await withProof(await makeProof(proofKey, { htm: 'POST', htu: `${server.config.issuer}/auth/login` }));
    expectDocumented(key, bound, 200, { sent });
    expect(bound.body.token_type).toBe('DPoP');
    const stale = await makeProof(proofKey, { htm: 'POST', htu: `${server.config.issuer}/auth/login`, iat: Math.floor(Date.now() / 1000) - 300 });
    expectDocumented(key, await withProof(stale), 400, { error: 'invalid_dpop_proof' });
  });

  it('answers 400 invalid_client_key for a symmetric key and for a private key', async () => {
    const client = await makeClientKey();
    for (const clientKey of [{ kty: 'oct', k: 'c2VjcmV0' }, { ...client.publicJwk, d: 'c2VjcmV0' }]) {
      const res = await request(server.app).post('/auth/login').send({ username: 'alice', password: PASSWORD, client_key: clientKey });
      expectDocumented(key, res, 400, { error: 'invalid_client_key' });
    }
  });

  it('answers 401 invalid_credentials for a wrong password and an unknown user', async () => {
    const client = await makeClientKey();
    for (const [username, password] of [['alice', 'wrong password'], ['nobody', PASSWORD]]) {
      const res = await request(server.app).post('/auth/login').send({ username, password, client_key: client.publicJwk });
      expectDocumented(key, res, 401, { error: 'invalid_credentials' });
    }
  });

  it('answers 413 payload_too_large for a body over the limit', async () => {
    expectDocumented(key, await request(server.app).post('/auth/login').send(oversized({ username: 'alice' })), 413, { error: 'payload_too_large' });
  });

  it('answers 415 unsupported_media_type for a content encoding it cannot read', async () => {
    const res = await request(server.app).post('/auth/login').set('Content-Type', 'application/json').set('Content-Encoding', 'x-unknown').send('{}');
    expectDocumented(key, res, 415, { error: 'unsupported_media_type' });
  });

  it('answers 429 too_many_requests with Retry-After once the rate limit is spent', async () => {
    const limited = await startTestServer({ LOGIN_RATE_LIMIT: '1' });
    try {
      const client = await makeClientKey();
      const attempt = () => request(limited.app).post('/auth/login').send({ username: 'mallory', password: 'guess guess', client_key: client.publicJwk });
      expectDocumented(key, await attempt(), 401, { error: 'invalid_credentials' });
      const res = await attempt();
      expectDocumented(key, res, 429, { error: 'too_many_requests' });
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    } finally {
      await limited.close();
    }
  });

  it('answers 500 server_error without detail on an unexpected failure', async () => {
    await withReplaced(server.runtime.sessions, 'login', boom, async () => {
      const { res } = await loginAs('x25519');
      expectDocumented(key, res, 500, { error: 'server_error' });
      expect(res.text).not.toContain('secret');
    });
  });

  it('answers 503 temporarily_unavailable with Retry-After while the store is locked', async () => {
    await whileLocked(server, async () => {
      const { res } = await loginAs('x25519');
      expectDocumented(key, res, 503, { error: 'temporarily_unavailable' });
      expect(res.headers['set-cookie']).toBeUndefined();
    });
  });
});

describe('POST /auth/refresh', () => {
  const key = 'POST /auth/refresh';
  const refresh = (body?: object) => request(server.app).post('/auth/refresh').send(body);

  it('answers 200 with a rotated refresh token in the body for a body-borne refresh', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    const sent = { refresh_token: session.refreshToken };
    expectDocumented(key, await refresh(sent), 200, { sent });
  });

  it('answers 200 with a new refresh cookie for a cookie-borne refresh from the same origin', async () => {
    const session = await login(server.app, 'alice', PASSWORD, { transport: 'cookie' });
    const res = await request(server.app).post('/auth/refresh').set('Cookie', cookieOf(session)).set('Origin', server.config.issuer);
    expectDocumented(key, res, 200);
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.headers['set-cookie']).toBeDefined();
  });

  it('answers 400 invalid_request for a body that is not JSON, and 401 invalid_grant for a malformed token', async () => {
    const broken = await request(server.app).post('/auth/refresh').set('Content-Type', 'application/json').send('{"refresh_token":');
    expectDocumented(key, broken, 400, { error: 'invalid_request' });
    expectDocumented(key, await refresh({ refresh_token: '' }), 401, { error: 'invalid_grant' });
    expectDocumented(key, await refresh({ refresh_token: 42 }), 401, { error: 'invalid_grant' });
  });

  it('answers 401 invalid_grant for no token, an unknown token and a reused one', async () => {
    expectDocumented(key, await request(server.app).post('/auth/refresh'), 401, { error: 'invalid_grant' });
    expectDocumented(key, await refresh({ refresh_token: 'A'.repeat(43) }), 401, { error: 'invalid_grant' });
    const session = await login(server.app, 'alice', PASSWORD);
    await refresh({ refresh_token: session.refreshToken }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expectDocumented(key, await refresh({ refresh_token: session.refreshToken }), 401, { error: 'invalid_grant' });
  });

  it('answers 401 invalid_grant and clears the cookie for an unknown cookie', async () => {
    const res = await request(server.app).post('/auth/refresh').set('Cookie', `refresh_token=${'B'.repeat(43)}`);
    expectDocumented(key, res, 401, { error: 'invalid_grant' });
    expect(res.headers['set-cookie']).toBeDefined();
  });

  it('answers 403 forbidden for a cookie-borne refresh from a foreign Origin', async () => {
    const session = await login(server.app, 'alice', PASSWORD, { transport: 'cookie' });
    const res = await request(server.app).post('/auth/refresh').set('Cookie', cookieOf(session)).set('Origin', 'https://evil.example');
    expectDocumented(key, res, 403, { error: 'forbidden' });
  });

  it('answers 413 payload_too_large for a body over the limit', async () => {
    expectDocumented(key, await refresh(oversized({})), 413, { error: 'payload_too_large' });
  });

  it('answers 415 unsupported_media_type for a charset it cannot read', async () => {
    const res = await request(server.app).post('/auth/refresh').set('Content-Type', 'application/json; charset=klingon').send('{}');
    expectDocumented(key, res, 415, { error: 'unsupported_media_type' });
  });

  it('answers 500 server_error on an unexpected failure', async () => {
    await withReplaced(server.runtime.sessions, 'refresh', boom, async () => {
      expectDocumented(key, await refresh({ refresh_token: 'C'.repeat(43) }), 500, { error: 'server_error' });
    });
  });

  it('answers 503 temporarily_unavailable with Retry-After while the store is locked', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    await whileLocked(server, async () => {
      expectDocumented(key, await refresh({ refresh_token: session.refreshToken }), 503, { error: 'temporarily_unavailable' });
    });
  });
});

describe('GET /', () => {
  it('answers 200 with a page linking the demo, the API reference and the JWKS, and no script', async () => {
    const res = await request(server.app).get('/');
    expectDocumented('GET /', res, 200);
    const links = [...res.text.matchAll(/href="([^"]+)"/g)].map((match) => match[1]);
    expect(links).toEqual(['/demo/', '/docs', '/.well-known/jwks.json']);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.text).not.toContain('<script');
  });
});

describe('GET /healthz and GET /readyz', () => {
  it('answer 200', async () => {
    expectDocumented('GET /healthz', await request(server.app).get('/healthz'), 200);
    expectDocumented('GET /readyz', await request(server.app).get('/readyz'), 200);
  });

  it('/readyz answers 503 temporarily_unavailable with Retry-After while the store is locked', async () => {
    await whileLocked(server, async () => {
      expectDocumented('GET /readyz', await request(server.app).get('/readyz'), 503, { error: 'temporarily_unavailable' });
    });
  });
});

describe('the spec', () => {
  it('has had every documented response of these routes produced above', () => {
    expect(checker.unseen(PUBLIC_OPERATIONS)).toEqual([]);
  });
});
