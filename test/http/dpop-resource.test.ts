import { exportJWK } from 'jose';
import request from 'supertest';
import { headerOf } from '../helpers/client.js';
import { makeProof, makeProofKey, rsaProof, symmetricProof, unsignedProof, type ProofClaims, type ProofKey } from '../helpers/dpop.js';
import { login, type LoggedIn } from '../helpers/flow.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

/**
 * Protected requests with DPoP-bound tokens (RFC 9449 §7), from a client written with jose alone:
 * every refusal of the contract's list, each with its status, code and challenge.
 */
const PASSWORD = 'correct horse battery';
const ISSUER = 'https://auth.example';
const ME = `${ISSUER}/api/me`;
const DPOP_PROOF_CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"';
const DPOP_TOKEN_CHALLENGE = 'DPoP error="invalid_token", algs="ES256 EdDSA"';

let server: TestServer;
let key: ProofKey;
let bound: LoggedIn;
let unbound: LoggedIn;

beforeAll(async () => {
  server = await startTestServer({ ISSUER });
  await server.addUser('alice', PASSWORD);
  key = await makeProofKey();
  bound = await login(server.app, 'alice', PASSWORD, { dpop: { key, origin: ISSUER } });
  unbound = await login(server.app, 'alice', PASSWORD);
});
afterAll(() => server.close());

const now = () => Math.floor(Date.now() / 1000);
/** A sound proof for GET /api/me with the bound session's sealed token, unless `overrides` say otherwise. */
const proofFor = (overrides: Partial<ProofClaims> = {}, by: ProofKey = key) => makeProof(by, { htm: 'GET', htu: ME, token: bound.bearer, ...overrides });
const get = (path: string, authorization: string, proof?: string) => request(server.app).get(path).set({ Authorization: authorization, ...(proof === undefined ? {} : { DPoP: proof }) });
const dpopMe = (proof?: string, token = bound.bearer) => get('/api/me', `DPoP ${token}`, proof);

/** Asserts the uniform 401 of a refused proof, with the DPoP challenge. */
async function expectProofRefused(res: request.Response | Promise<request.Response>): Promise<void> {
  const { status, body, headers } = await res;
  expect({ status, error: body.error, challenge: headers['www-authenticate'] }).toEqual({ status: 401, error: 'invalid_dpop_proof', challenge: DPOP_PROOF_CHALLENGE });
}

describe('a DPoP-bound session', () => {
  it('was issued a token that says DPoP and carries cnf.jkt, the thumbprint of the proof key', async () => {
    expect(bound.body.token_type).toBe('DPoP');
    expect(unbound.body.token_type).toBe('Bearer');
    const claims = JSON.parse(Buffer.from(bound.jws.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
    expect(claims.cnf).toEqual({ jkt: key.jkt });
    expect(headerOf(bound.jws)).toMatchObject({ typ: 'at+jwt' });
    expect((await server.runtime.store.getSession(bound.body.session_id as string, Date.now()))?.dpopJkt).toBe(key.jkt);
    expect((await server.runtime.store.getSession(unbound.body.session_id as string, Date.now()))?.dpopJkt).toBeNull();
  });

  it('serves a request with the DPoP scheme and a fresh proof, and /auth/verify returns cnf', async () => {
    const me = await dpopMe(await proofFor());
    expect(me.status).toBe(200);
    expect(me.body.session_id).toBe(bound.body.session_id);
    const verify = await get('/auth/verify', `DPoP ${bound.bearer}`, await proofFor({ htu: `${ISSUER}/auth/verify` }));
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ active: true, sid: bound.body.session_id, cnf: { jkt: key.jkt } });
    const plain = await get('/auth/verify', `Bearer ${unbound.bearer}`);
    expect(plain.status).toBe(200);
    expect(plain.body).not.toHaveProperty('cnf');
  });

  it('accepts an EdDSA proof key, the scheme in any case, and the URL the request was sent to', async () => {
    const edKey = await makeProofKey('EdDSA');
    const session = await login(server.app, 'alice', PASSWORD, { dpop: { key: edKey, origin: ISSUER } });
    const proof = await makeProof(edKey, { htm: 'GET', htu: 'http://api.test:8080/api/me', token: session.bearer });
    const res = await request(server.app).get('/api/me?fresh=1').set({ Host: 'api.test:8080', Authorization: `dpop ${session.bearer}`, DPoP: proof });
    expect(res.status).toBe(200);
  });

  it('refuses a request without a proof', async () => {
    await expectProofRefused(dpopMe());
    await expectProofRefused(dpopMe(''));
  });

  it('refuses a replayed proof: the same proof twice, and another proof with the same jti', async () => {
    const proof = await proofFor();
    expect((await dpopMe(proof)).status).toBe(200);
    await expectProofRefused(dpopMe(proof));
    const jti = 'one-jti-only';
    expect((await dpopMe(await proofFor({ jti }))).status).toBe(200);
    await expectProofRefused(dpopMe(await proofFor({ jti, iat: now() - 1 })));
  });

  it('refuses a proof by another key than the one the token is bound to', async () => {
    await expectProofRefused(dpopMe(await proofFor({}, await makeProofKey())));
  });

  it('refuses a proof for another method, path or host', async () => {
    await expectProofRefused(dpopMe(await proofFor({ htm: 'POST' })));
    await expectProofRefused(dpopMe(await proofFor({ htu: `${ISSUER}/auth/verify` })));
    await expectProofRefused(dpopMe(await proofFor({ htu: 'https://evil.example/api/me' })));
    await expectProofRefused(dpopMe(await proofFor({ htu: 'http://auth.example/api/me' })));
  });

  it('refuses a proof without ath, or with the ath of another token', async () => {
    await expectProofRefused(dpopMe(await proofFor({ token: undefined })));
    await expectProofRefused(dpopMe(await proofFor({ token: unbound.bearer })));
    await expectProofRefused(dpopMe(await proofFor({ token: bound.accessToken })));
  });

  it('refuses a proof whose iat is more than 60 s away from the server clock, either way', async () => {
    await expectProofRefused(dpopMe(await proofFor({ iat: now() - 120 })));
    await expectProofRefused(dpopMe(await proofFor({ iat: now() + 120 })));
  });

  it('refuses a proof of the wrong typ, alg none or HS256, a private jwk, and RSA keys weak or not', async () => {
    await expectProofRefused(dpopMe(await proofFor({ header: { typ: 'JWT' } })));
    await expectProofRefused(dpopMe(unsignedProof(key, { htm: 'GET', htu: ME, token: bound.bearer })));
    await expectProofRefused(dpopMe(await symmetricProof({ htm: 'GET', htu: ME, token: bound.bearer })));
    await expectProofRefused(dpopMe(await proofFor({ header: { jwk: await exportJWK(key.privateKey) } })));
    await expectProofRefused(dpopMe(rsaProof(1024, { htm: 'GET', htu: ME, token: bound.bearer })));
    await expectProofRefused(dpopMe(rsaProof(2048, { htm: 'GET', htu: ME, token: bound.bearer })));
  });

  it('refuses two DPoP headers, even if each is a sound proof', async () => {
    const twoProofs = [await proofFor(), await proofFor()] as unknown as string;
    await expectProofRefused(request(server.app).get('/api/me').set('Authorization', `DPoP ${bound.bearer}`).set('DPoP', twoProofs));
  });

  it('refuses the bound token sent as Bearer, with or without a proof, as an invalid token', async () => {
    for (const res of [await get('/api/me', `Bearer ${bound.bearer}`), await get('/api/me', `Bearer ${bound.bearer}`, await proofFor())]) {
      expect({ status: res.status, error: res.body.error, challenge: res.headers['www-authenticate'] }).toEqual({
        status: 401,
        error: 'invalid_token',
        challenge: 'Bearer error="invalid_token"',
      });
    }
  });

  it('refuses an unbound token sent as DPoP, even with a sound proof, with the DPoP token challenge', async () => {
    const proof = await makeProof(key, { htm: 'GET', htu: ME, token: unbound.bearer });
    const res = await dpopMe(proof, unbound.bearer);
    expect({ status: res.status, error: res.body.error, challenge: res.headers['www-authenticate'] }).toEqual({
      status: 401,
      error: 'invalid_token',
      challenge: DPOP_TOKEN_CHALLENGE,
    });
    expect((await get('/api/me', `Bearer ${unbound.bearer}`)).status).toBe(200);
  });

  it('refuses a bad token with the DPoP scheme as an invalid token, whatever the proof', async () => {
    const res = await dpopMe(await proofFor(), bound.accessToken);
    expect({ status: res.status, error: res.body.error, challenge: res.headers['www-authenticate'] }).toEqual({
      status: 401,
      error: 'invalid_token',
      challenge: DPOP_TOKEN_CHALLENGE,
    });
  });

  it('checks the proof on every request, also once the accept cache knows the token', async () => {
    expect((await dpopMe(await proofFor())).status).toBe(200);
    expect((await dpopMe(await proofFor())).status).toBe(200);
    await expectProofRefused(dpopMe());
    await expectProofRefused(dpopMe(await proofFor({}, await makeProofKey())));
    expect((await get('/api/me', `Bearer ${bound.bearer}`)).status).toBe(401);
  });

  it('answers a wrong current password after a good proof with the DPoP realm challenge', async () => {
    const res = await request(server.app)
      .post('/auth/password')
      .set({ Authorization: `DPoP ${bound.bearer}`, DPoP: await makeProof(key, { htm: 'POST', htu: `${ISSUER}/auth/password`, token: bound.bearer }) })
      .send({ current_password: 'not the password', new_password: 'a new password' });
    expect({ status: res.status, error: res.body.error, challenge: res.headers['www-authenticate'] }).toEqual({
      status: 401,
      error: 'invalid_credentials',
      challenge: 'DPoP realm="jwe-auth-server", algs="ES256 EdDSA"',
    });
  });
});
