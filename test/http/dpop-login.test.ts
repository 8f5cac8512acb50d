import request from 'supertest';
import { makeClientKey } from '../helpers/client.js';
import { makeProof, makeProofKey, type ProofClaims, type ProofKey } from '../helpers/dpop.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

/**
 * DPoP at login (RFC 9449 §5), from a client written with jose alone: a proof binds the session, a
 * bad one is 400 `invalid_dpop_proof` and opens nothing, and `DPOP_REQUIRED` refuses logins without.
 */
const PASSWORD = 'correct horse battery';
const ISSUER = 'https://auth.example';
const LOGIN = `${ISSUER}/auth/login`;

const servers: TestServer[] = [];
let userId: string;
async function serverWith(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({ ISSUER, ...env });
  userId = await server.addUser('alice', PASSWORD);
  servers.push(server);
  return server;
}
afterAll(() => Promise.all(servers.map((server) => server.close())));

/** POST /auth/login as alice with a fresh client key and, when given, a `DPoP` header. */
async function loginWith(server: TestServer, proof?: string): Promise<request.Response> {
  const client = await makeClientKey();
  return request(server.app)
    .post('/auth/login')
    .set(proof === undefined ? {} : { DPoP: proof })
    .send({ username: 'alice', password: PASSWORD, client_key: client.publicJwk, refresh_transport: 'body' });
}

const sessionCount = async (server: TestServer) => (await server.runtime.store.listSessions(userId, Date.now())).length;

describe('a login with a DPoP proof', () => {
  let server: TestServer;
  let key: ProofKey;
  const proof = (overrides: Partial<ProofClaims> = {}) => makeProof(key, { htm: 'POST', htu: LOGIN, ...overrides });
  beforeAll(async () => {
    server = await serverWith();
    key = await makeProofKey();
  });

  it('binds the session to the proof key and answers token_type DPoP', async () => {
    const res = await loginWith(server, await proof());
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect((await server.runtime.store.getSession(res.body.session_id as string, Date.now()))?.dpopJkt).toBe(key.jkt);
  });

  it('accepts a proof naming the URL the request was sent to, and ignores an ath', async () => {
    const client = await makeClientKey();
    const res = await request(server.app)
      .post('/auth/login')
      .set({ Host: 'login.test', DPoP: await proof({ htu: 'http://login.test/auth/login', token: 'some token' }) })
      .send({ username: 'alice', password: PASSWORD, client_key: client.publicJwk });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
  });

  it.each<[string, () => Promise<string>]>([
    ['for another URL', () => proof({ htu: `${ISSUER}/auth/refresh` })],
    ['for another method', () => proof({ htm: 'GET' })],
    ['with a stale iat', () => proof({ iat: Math.floor(Date.now() / 1000) - 120 })],
    ['of another typ', () => proof({ header: { typ: 'JWT' } })],
    ['that is not a JWT', async () => 'not-a-proof'],
  ])('refuses a proof %s with 400 invalid_dpop_proof and opens no session', async (_what, make) => {
    const before = await sessionCount(server);
    const res = await loginWith(server, await make());
    expect({ status: res.status, error: res.body.error, challenge: res.headers['www-authenticate'] }).toEqual({
      status: 400,
      error: 'invalid_dpop_proof',
      challenge: undefined,
    });
    expect(await sessionCount(server)).toBe(before);
  });

  it('refuses a login proof presented twice', async () => {
    const once = await proof();
    expect((await loginWith(server, once)).status).toBe(200);
    const again = await loginWith(server, once);
    expect({ status: again.status, error: again.body.error }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });

  it('checks the proof before the password', async () => {
    const client = await makeClientKey();
    const res = await request(server.app)
      .post('/auth/login')
      .set('DPoP', await proof({ htm: 'GET' }))
      .send({ username: 'alice', password: 'not the password', client_key: client.publicJwk });
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });

  it('opens an unbound session without a proof while DPOP_REQUIRED is off', async () => {
    const res = await loginWith(server);
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });
});

describe('DPOP_REQUIRED=true', () => {
  it('refuses a login without a proof with 400 invalid_dpop_proof, and accepts one with a proof', async () => {
    const server = await serverWith({ DPOP_REQUIRED: 'true' });
    expect(server.config.dpopRequired).toBe(true);
    const refused = await loginWith(server);
    expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
    expect(await sessionCount(server)).toBe(0);
    const key = await makeProofKey('EdDSA');
    const accepted = await loginWith(server, await makeProof(key, { htm: 'POST', htu: LOGIN }));
    expect({ status: accepted.status, type: accepted.body.token_type }).toEqual({ status: 200, type: 'DPoP' });
  });
});
