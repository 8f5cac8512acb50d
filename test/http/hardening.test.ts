import request from 'supertest';
import { makeClientKey, sealToServer } from '../helpers/client.js';
import { login } from '../helpers/flow.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';

describe('inputs that once reached a 500', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser('alice', PASSWORD);
  });
  afterAll(() => server.close());

  it('answers a username object that cannot become a string with 400 invalid_request', async () => {
    const client = await makeClientKey();
    const res = await request(server.app)
      .post('/auth/login')
      .send({ username: { toString: 1 }, password: PASSWORD, client_key: client.publicJwk })
      .expect(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'username must be a string' });
  });

  it.each([
    ['a JSON array', `j:${JSON.stringify(['A'.repeat(43)])}`],
    ['a JSON object', 'j:{"toString":1}'],
  ])('answers a refresh cookie holding %s with 401 invalid_grant', async (_name, value) => {
    const res = await request(server.app).post('/auth/refresh').set('Cookie', `refresh_token=${encodeURIComponent(value)}`).expect(401);
    expect(res.body.error).toBe('invalid_grant');
  });

  it.each([
    ['a number', { refresh_token: 42 }],
    ['null', { refresh_token: null }],
    ['600 characters', { refresh_token: 'x'.repeat(600) }],
  ])('answers a refresh token in the body that is %s with 401 invalid_grant', async (_name, body) => {
    expect((await request(server.app).post('/auth/refresh').send(body).expect(401)).body.error).toBe('invalid_grant');
  });

  it('refuses a body that claims a compression with 415 instead of inflating it', async () => {
    const res = await request(server.app)
      .post('/auth/login')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{"username":"alice"}')
      .expect(415);
    expect(res.body).toEqual({ error: 'unsupported_media_type', error_description: 'the body must not be compressed: send it without Content-Encoding' });
  });

  it.each([
    ['malformed JSON', 'application/json', '{"username": "alice"', 400, 'invalid_request', 'the body is not valid JSON'],
    ['a charset other than UTF-8', 'application/json; charset=latin1', '{"username":"alice"}', 415, 'unsupported_media_type', 'the body must be UTF-8: send Content-Type application/json with no charset or with charset=utf-8'],
  ])('answers %s with a description that says so', async (_case, type, body, status, error, description) => {
    const res = await request(server.app).post('/auth/login').set('Content-Type', type).send(body);
    expect({ status: res.status, body: res.body as unknown }).toEqual({ status, body: { error, error_description: description } });
  });

  it('accepts charset=utf-8 spelled in any case', async () => {
    const res = await request(server.app).post('/auth/login').set('Content-Type', 'application/json; charset=UTF-8').send('{"username":"alice"}');
    expect({ status: res.status, description: res.body.error_description as unknown }).toEqual({ status: 400, description: 'password is required' });
  });

  it('words validation errors itself, never with the library text', async () => {
    const res = await request(server.app).post('/auth/login').send({ username: 'alice', refresh_transport: 'header' }).expect(400);
    expect(res.body.error_description).toBe('password is required');
    const enumRes = await request(server.app)
      .post('/auth/login')
      .send({ username: 'alice', password: PASSWORD, client_key: {}, refresh_transport: 'header' })
      .expect(400);
    expect(enumRes.body.error_description).toBe('refresh_transport must be one of cookie, body');
    const empty = await request(server.app).post('/auth/login').expect(400);
    expect(empty.body.error_description).toBe('the body must be a JSON object');
  });

  it.each(['jku', 'jwk', 'x5u', 'crit', 'p2c'])('refuses a bearer whose JWE header carries %s', async (member) => {
    const session = await login(server.app, 'alice', PASSWORD);
    const value = member === 'crit' ? ['exp'] : member === 'p2c' ? 1000 : member === 'jwk' ? { kty: 'OKP' } : 'https://attacker.example/keys';
    const bearer = await sealToServer(session.jws, session.jwks, { [member]: value, ...(member === 'crit' ? { exp: 1 } : {}) }).catch(() => null);
    if (bearer === null) return expect(member).toBe('crit');
    const res = await request(server.app).get('/api/me').set('Authorization', `Bearer ${bearer}`).expect(401);
    expect(res.body.error).toBe('invalid_token');
  });
});

describe('rate limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ LOGIN_RATE_LIMIT: '2' });
    await server.addUser('alice', PASSWORD);
    await server.addUser('bob', PASSWORD);
  });
  afterAll(() => server.close());

  it('does not let a client pick its IP with X-Forwarded-For when no proxy is trusted', async () => {
    const client = await makeClientKey();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(server.app)
        .post('/auth/login')
        .set('X-Forwarded-For', `10.0.0.${i}`)
        .send({ username: 'alice', password: 'wrong password', client_key: client.publicJwk });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  it('limits password change attempts per user with 429 and Retry-After', async () => {
    const session = await login(server.app, 'bob', PASSWORD);
    const attempt = () =>
      request(server.app)
        .post('/auth/password')
        .set('Authorization', `Bearer ${session.bearer}`)
        .send({ current_password: 'not it at all', new_password: 'another good one' });
    expect((await attempt()).status).toBe(401);
    expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('too_many_requests');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('a proxy trusted by hop count', () => {
  it('takes the client IP one hop from the right, so a spoofed left-most entry changes nothing', async () => {
    const server = await startTestServer({ LOGIN_RATE_LIMIT: '1', TRUST_PROXY: '1' });
    try {
      await server.addUser('alice', PASSWORD);
      const client = await makeClientKey();
      const send = (forwarded: string) =>
        request(server.app)
          .post('/auth/login')
          .set('X-Forwarded-For', forwarded)
          .send({ username: 'alice', password: 'wrong password', client_key: client.publicJwk });
      expect((await send('1.1.1.1, 203.0.113.7')).status).toBe(401);
      expect((await send('2.2.2.2, 203.0.113.7')).status).toBe(429);
      expect((await send('203.0.113.8')).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});

describe('sessions of an earlier boot', () => {
  it('answers 404 when deleting one, as for any session that is not the user’s own', async () => {
    const temp = tempDir();
    let server = await startTestServer({}, temp.dir);
    try {
      await server.addUser('alice', PASSWORD);
      const old = await login(server.app, 'alice', PASSWORD);
      await server.runtime.close();
      server = await startTestServer({}, temp.dir);
      const now = await login(server.app, 'alice', PASSWORD);
      const res = await request(server.app).delete(`/auth/sessions/${old.body.session_id as string}`).set('Authorization', `Bearer ${now.bearer}`).expect(404);
      expect(res.body.error).toBe('not_found');
    } finally {
      await server.close();
      temp.remove();
    }
  });
});
