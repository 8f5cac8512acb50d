import request from 'supertest';
import { hashRefreshToken } from '../../src/tokens/refresh.js';
import { openAccessToken } from '../helpers/client.js';
import { makeProof, makeProofKey, type ProofClaims, type ProofKey } from '../helpers/dpop.js';
import { login, type LoggedIn } from '../helpers/flow.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

/**
 * Refreshing a DPoP-bound session (RFC 9449 §5), from a client written with jose alone: only with a
 * proof by the session's key, and a refused refresh rotates nothing.
 */
const PASSWORD = 'correct horse battery';
const ISSUER = 'https://auth.example';
const REFRESH = `${ISSUER}/auth/refresh`;

let server: TestServer;
let key: ProofKey;
beforeAll(async () => {
  server = await startTestServer({ ISSUER, REFRESH_REUSE_GRACE: '0s' });
  await server.addUser('alice', PASSWORD);
  key = await makeProofKey();
});
afterAll(() => server.close());

const bound = () => login(server.app, 'alice', PASSWORD, { dpop: { key, origin: ISSUER } });
const proof = (overrides: Partial<ProofClaims> = {}, by: ProofKey = key) => makeProof(by, { htm: 'POST', htu: REFRESH, ...overrides });
const refresh = (token: string, dpop?: string) => request(server.app).post('/auth/refresh').set(dpop === undefined ? {} : { DPoP: dpop }).send({ refresh_token: token });
/** The session's current refresh token is still `token`: nothing rotated. */
async function expectNotRotated(token: string): Promise<void> {
  const facts = await server.runtime.store.findRefreshToken(hashRefreshToken(token) as string, Date.now());
  expect(facts?.currentHash).toBe(hashRefreshToken(token));
  expect(facts?.session.revokedAt).toBeNull();
}
async function expectProofRefused(res: request.Response | Promise<request.Response>): Promise<void> {
  const { status, body } = await res;
  expect({ status, error: body.error }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
}

describe('refreshing a DPoP-bound session', () => {
  let session: LoggedIn;
  beforeEach(async () => {
    session = await bound();
  });

  it('rotates with a proof by the session key, and the new token is bound to the same key', async () => {
    const res = await refresh(session.refreshToken as string, await proof());
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect(res.body.refresh_token).not.toBe(session.refreshToken);
    const jws = await openAccessToken(res.body.access_token as string, session.client);
    const claims = JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()) as { cnf?: unknown };
    expect(claims.cnf).toEqual({ jkt: key.jkt });
  });

  it('refuses a refresh without a proof, and rotates nothing', async () => {
    await expectProofRefused(refresh(session.refreshToken as string));
    await expectNotRotated(session.refreshToken as string);
    expect((await refresh(session.refreshToken as string, await proof())).status).toBe(200);
  });

  it('refuses a proof by another key, for another URL, or replayed, and rotates nothing', async () => {
    const token = session.refreshToken as string;
    await expectProofRefused(refresh(token, await proof({}, await makeProofKey())));
    await expectProofRefused(refresh(token, await proof({ htu: `${ISSUER}/auth/login` })));
    await expectProofRefused(refresh(token, await proof({ htm: 'GET' })));
    await expectNotRotated(token);
    const once = await proof();
    expect((await refresh(token, once)).status).toBe(200);
    const other = await bound();
    await expectProofRefused(refresh(other.refreshToken as string, once));
    await expectNotRotated(other.refreshToken as string);
  });

  it('does not revoke the session when a rotated token is presented without the key', async () => {
    const token = session.refreshToken as string;
    const next = (await refresh(token, await proof())).body.refresh_token as string;
    await expectProofRefused(refresh(token));
    await expectNotRotated(next);
    expect((await refresh(next, await proof())).status).toBe(200);
  });

  it('refuses a cookie-borne refresh without a proof too, and keeps the cookie', async () => {
    const cookieSession = await login(server.app, 'alice', PASSWORD, { transport: 'cookie', dpop: { key, origin: ISSUER } });
    const cookie = (cookieSession.cookie as string).split(';')[0] as string;
    const refused = await request(server.app).post('/auth/refresh').set('Cookie', cookie);
    expect({ status: refused.status, error: refused.body.error, setCookie: refused.headers['set-cookie'] }).toEqual({
      status: 400,
      error: 'invalid_dpop_proof',
      setCookie: undefined,
    });
    const ok = await request(server.app).post('/auth/refresh').set({ Cookie: cookie, DPoP: await proof() });
    expect({ status: ok.status, type: ok.body.token_type }).toEqual({ status: 200, type: 'DPoP' });
  });
});

describe('refreshing an unbound session', () => {
  it('checks a proof sent along, and the session stays unbound', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    await expectProofRefused(refresh(session.refreshToken as string, await proof({ htm: 'GET' })));
    const res = await refresh(session.refreshToken as string, await proof());
    expect({ status: res.status, type: res.body.token_type }).toEqual({ status: 200, type: 'Bearer' });
    expect((await refresh(res.body.refresh_token as string)).status).toBe(200);
  });
});
