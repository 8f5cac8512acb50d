import request from 'supertest';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { login, type LoggedIn } from '../helpers/flow.js';
import { startTestServer, whileLocked, type TestServer } from '../helpers/runtime.js';
import {
  auth,
  boom,
  cookieOf,
  expectDocumentedWith,
  oversized,
  PASSWORD,
  PUBLIC_OPERATIONS,
  whileAuthenticationBreaks,
  whileStoreCannotRead,
  withReplaced,
  type ExpectedResponse,
} from './harness.js';
import { documentedOperations, SpecChecker, type OperationKey } from './spec.js';

/**
 * Real responses of the bearer-protected routes, for every status docs/openapi.yaml documents,
 * checked against the spec as in responses.test.ts.
 */
const checker = new SpecChecker();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.addUser('alice', PASSWORD);
  await server.addUser('bob', PASSWORD);
  await server.addUser('carol', PASSWORD);
});
afterAll(() => server.close());

const expectDocumented = (key: OperationKey, res: request.Response, status: number, options?: ExpectedResponse) =>
  expectDocumentedWith(checker, key, res, status, options);

/** The bearer-protected routes that read only, with how to call them. */
describe.each([
  ['GET /auth/verify', '/auth/verify'],
  ['GET /api/me', '/api/me'],
  ['GET /auth/sessions', '/auth/sessions'],
] as const)('%s', (key, url) => {
  let session: LoggedIn;
  beforeAll(async () => {
    session = await login(server.app, 'bob', PASSWORD);
  });

  it('answers 200 for a live session', async () => {
    expectDocumented(key, await request(server.app).get(url).set(auth(session.bearer)), 200);
  });

  it('answers 401 invalid_token with WWW-Authenticate for no bearer, a malformed one and the client-encrypted access token', async () => {
    expectDocumented(key, await request(server.app).get(url), 401, { error: 'invalid_token' });
    expectDocumented(key, await request(server.app).get(url).set('Authorization', 'Basic YWxpY2U6c2VjcmV0'), 401, { error: 'invalid_token' });
    expectDocumented(key, await request(server.app).get(url).set(auth(session.accessToken)), 401, { error: 'invalid_token' });
  });

  it('answers 200 for a DPoP-bound session with a proof, and 401 with DPoP challenges without one or as an unbound token', async () => {
    const { issuer } = server.config;
    const proofKey = await makeProofKey();
    const bound = await login(server.app, 'bob', PASSWORD, { dpop: { key: proofKey, origin: issuer } });
    const dpop = (token: string, proof?: string) => request(server.app).get(url).set({ Authorization: `DPoP ${token}`, ...(proof ? { DPoP: proof } : {}) });
    const proofFor = (token: string) => makeProof(proofKey, { htm: 'GET', htu: `${issuer}${url}`, token });
    expectDocumented(key, await dpop(bound.bearer, await proofFor(bound.bearer)), 200);
    expectDocumented(key, await dpop(bound.bearer), 401, { error: 'invalid_dpop_proof' });
    expectDocumented(key, await dpop(session.bearer, await proofFor(session.bearer)), 401, { error: 'invalid_token' });
    expectDocumented(key, await request(server.app).get(url).set(auth(bound.bearer)), 401, { error: 'invalid_token' });
  });

  it('answers 500 server_error on an unexpected failure', async () => {
    await whileAuthenticationBreaks(server, async () => {
      expectDocumented(key, await request(server.app).get(url).set(auth(session.bearer)), 500, { error: 'server_error' });
    });
  });

  it('answers 503 temporarily_unavailable, never 200, while the store cannot answer', async () => {
    await whileStoreCannotRead(server, async () => {
      expectDocumented(key, await request(server.app).get(url).set(auth(session.bearer)), 503, { error: 'temporarily_unavailable' });
    });
  });
});

describe.each([
  ['POST /auth/logout', '/auth/logout'],
  ['POST /auth/logout-all-devices', '/auth/logout-all-devices'],
] as const)('%s', (key, url) => {
  it('answers 204 and clears the refresh cookie', async () => {
    const session = await login(server.app, 'carol', PASSWORD, { transport: 'cookie' });
    expectDocumented(key, await request(server.app).post(url).set(auth(session.bearer)).set('Cookie', cookieOf(session)), 204);
  });

  it('answers 401 invalid_token with WWW-Authenticate without a bearer and after the logout', async () => {
    expectDocumented(key, await request(server.app).post(url), 401, { error: 'invalid_token' });
    const session = await login(server.app, 'carol', PASSWORD);
    await request(server.app).post(url).set(auth(session.bearer)).expect(204);
    expectDocumented(key, await request(server.app).post(url).set(auth(session.bearer)), 401, { error: 'invalid_token' });
  });

  it('answers 500 server_error on an unexpected failure', async () => {
    const session = await login(server.app, 'carol', PASSWORD);
    await whileAuthenticationBreaks(server, async () => {
      expectDocumented(key, await request(server.app).post(url).set(auth(session.bearer)), 500, { error: 'server_error' });
    });
  });

  it('answers 503 temporarily_unavailable with Retry-After while the store is locked', async () => {
    const session = await login(server.app, 'carol', PASSWORD);
    await whileLocked(server, async () => {
      expectDocumented(key, await request(server.app).post(url).set(auth(session.bearer)), 503, { error: 'temporarily_unavailable' });
    });
    await request(server.app).get('/api/me').set(auth(session.bearer)).expect(200);
  });
});

describe('DELETE /auth/sessions/{id}', () => {
  const key = 'DELETE /auth/sessions/{id}';
  const revoke = (bearer: string, id: string) => request(server.app).delete(`/auth/sessions/${id}`).set(auth(bearer));

  it("answers 204 for another of the user's own sessions", async () => {
    const one = await login(server.app, 'alice', PASSWORD);
    const two = await login(server.app, 'alice', PASSWORD);
    expectDocumented(key, await revoke(one.bearer, two.body.session_id as string), 204);
  });

  it("answers 404 not_found for another user's session and for an unknown id", async () => {
    const alice = await login(server.app, 'alice', PASSWORD);
    const bob = await login(server.app, 'bob', PASSWORD);
    expectDocumented(key, await revoke(alice.bearer, bob.body.session_id as string), 404, { error: 'not_found' });
    expectDocumented(key, await revoke(alice.bearer, 'no-such-session'), 404, { error: 'not_found' });
  });

  it('answers 401 invalid_token with WWW-Authenticate without a bearer', async () => {
    expectDocumented(key, await request(server.app).delete('/auth/sessions/whatever'), 401, { error: 'invalid_token' });
  });

  it('answers 500 server_error on an unexpected failure', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    await whileAuthenticationBreaks(server, async () => {
      expectDocumented(key, await revoke(session.bearer, session.body.session_id as string), 500, { error: 'server_error' });
    });
  });

  it('answers 503 temporarily_unavailable with Retry-After while the store is locked', async () => {
    const one = await login(server.app, 'alice', PASSWORD);
    const two = await login(server.app, 'alice', PASSWORD);
    await whileLocked(server, async () => {
      expectDocumented(key, await revoke(one.bearer, two.body.session_id as string), 503, { error: 'temporarily_unavailable' });
    });
  });
});

describe('POST /auth/password', () => {
  const key = 'POST /auth/password';
  let dave: LoggedIn;
  let current = 'dave original password';
  beforeAll(async () => {
    await server.addUser('dave', current);
    dave = await login(server.app, 'dave', current);
  });
  const change = (body: object, bearer = dave.bearer) => request(server.app).post('/auth/password').set(auth(bearer)).send(body);

  it('answers 204 when the current password is right', async () => {
    const sent = { current_password: current, new_password: 'dave second password' };
    expectDocumented(key, await change(sent), 204, { sent });
    current = sent.new_password;
  });

  it('answers 400 invalid_request for a new password that is too short', async () => {
    expectDocumented(key, await change({ current_password: current, new_password: 'short' }), 400, { error: 'invalid_request' });
  });

  it('answers 401 invalid_token with WWW-Authenticate without a bearer', async () => {
    const res = await request(server.app).post('/auth/password').send({ current_password: current, new_password: 'whatever whatever' });
    expectDocumented(key, res, 401, { error: 'invalid_token' });
  });

  it('answers 401 invalid_credentials with a Bearer challenge for a wrong current password', async () => {
    const res = await change({ current_password: 'not the password', new_password: 'whatever whatever' });
    expectDocumented(key, res, 401, { error: 'invalid_credentials' });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('answers 413 payload_too_large for a body over the limit', async () => {
    expectDocumented(key, await change(oversized({ current_password: current })), 413, { error: 'payload_too_large' });
  });

  it('answers 415 unsupported_media_type for a content encoding it cannot read', async () => {
    const res = await request(server.app)
      .post('/auth/password')
      .set(auth(dave.bearer))
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'x-unknown')
      .send('{}');
    expectDocumented(key, res, 415, { error: 'unsupported_media_type' });
  });

  it('answers 500 server_error on an unexpected failure', async () => {
    await withReplaced(server.runtime.sessions, 'changePassword', boom, async () => {
      expectDocumented(key, await change({ current_password: current, new_password: 'dave third password' }), 500, { error: 'server_error' });
    });
  });

  it('answers 429 too_many_requests with Retry-After past the per-user limit', async () => {
    const limited = await startTestServer({ LOGIN_RATE_LIMIT: '1' });
    try {
      await limited.addUser('erin', PASSWORD);
      const erin = await login(limited.app, 'erin', PASSWORD);
      const attempt = () =>
        request(limited.app).post('/auth/password').set(auth(erin.bearer)).send({ current_password: 'wrong wrong', new_password: 'whatever whatever' });
      expect((await attempt()).status).toBe(401);
      expectDocumented(key, await attempt(), 429, { error: 'too_many_requests' });
    } finally {
      await limited.close();
    }
  });

  it('answers 503 temporarily_unavailable with Retry-After while the store is locked', async () => {
    await whileLocked(server, async () => {
      const res = await change({ current_password: current, new_password: 'dave third password' });
      expectDocumented(key, res, 503, { error: 'temporarily_unavailable' });
    });
  });
});

describe('the spec', () => {
  it('has had every documented response of these routes produced above', () => {
    const operations = documentedOperations(checker.spec).filter((key) => !PUBLIC_OPERATIONS.includes(key));
    expect(operations.length).toBeGreaterThan(0);
    expect(checker.unseen(operations)).toEqual([]);
  });
});
