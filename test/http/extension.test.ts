import path from 'node:path';
import request from 'supertest';
import { orderRoutes } from '../../examples/orders-routes.js';
import { createOrdersService } from '../../examples/second-service.js';
import { HttpError } from '../../src/errors.js';
import { createApp } from '../../src/http/app.js';
import { principalOf, requireAuth } from '../../src/http/require-auth.js';
import { generateKeyFiles } from '../../src/keys/key-files.js';
import { loadConfig } from '../../src/config/index.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { login } from '../helpers/flow.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';

describe('routes added with createApp({ routes })', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.addUser('alice', PASSWORD);
  });
  afterAll(() => server.close());

  it('protects a team route with requireAuth and answers errors with the JSON handler', async () => {
    const app = createApp(server.runtime, {
      routes(router, sessions) {
        router.get('/api/orders', requireAuth(sessions), (_req, res) => {
          res.json({ owner: principalOf(res).user.username });
        });
      },
    });
    const session = await login(app, 'alice', PASSWORD);
    expect((await request(app).get('/api/orders').set('Authorization', `Bearer ${session.bearer}`).expect(200)).body).toEqual({ owner: 'alice' });
    const refused = await request(app).get('/api/orders').set('Authorization', 'Bearer nope').expect(401);
    expect(refused.body.error).toBe('invalid_token');
    expect((await request(app).get('/api/nothing').expect(404)).body.error).toBe('not_found');
  });

  it('gives a team route its JSON body and cookies parsed, with the same answers to a bad body', async () => {
    const app = createApp(server.runtime, {
      routes(router) {
        router.post('/api/echo', (req, res) => {
          res.json({ body: req.body as unknown, theme: (req.cookies as Record<string, string>).theme });
        });
      },
    });
    const echoed = await request(app).post('/api/echo').set('Cookie', 'theme=dark').send({ n: 1 }).expect(200);
    expect(echoed.body).toEqual({ body: { n: 1 }, theme: 'dark' });
    const malformed = await request(app).post('/api/echo').set('Content-Type', 'application/json').send('{"n":').expect(400);
    expect(malformed.body).toEqual({ error: 'invalid_request', error_description: 'the body is not valid JSON' });
  });

  it('adds the Bearer challenge to a 401 a team route raises after the bearer was accepted', async () => {
    const app = createApp(server.runtime, {
      routes(router, sessions) {
        router.post('/api/confirm', requireAuth(sessions), () => {
          throw new HttpError('invalid_credentials');
        });
      },
    });
    const session = await login(app, 'alice', PASSWORD);
    const res = await request(app).post('/api/confirm').set('Authorization', `Bearer ${session.bearer}`).expect(401);
    expect(res.body.error).toBe('invalid_credentials');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="jwe-auth-server"');
    const unauthenticated = await request(app).post('/auth/login').send({ username: 'alice', password: 'wrong', client_key: session.client.publicJwk }).expect(401);
    expect(unauthenticated.headers['www-authenticate']).toBeUndefined();
  });

  it('gives a team route DPoP for free: a bound token with a proof for its URL, and refusals with DPoP challenges', async () => {
    const app = createApp(server.runtime, {
      routes(router, sessions) {
        router.get('/api/orders', requireAuth(sessions), (_req, res) => {
          res.json({ owner: principalOf(res).user.username, bound: principalOf(res).claims.cnf?.jkt });
        });
      },
    });
    const key = await makeProofKey();
    const session = await login(app, 'alice', PASSWORD, { dpop: { key, origin: server.config.issuer } });
    const proof = await makeProof(key, { htm: 'GET', htu: 'http://shop.test/api/orders', token: session.bearer });
    const ok = await request(app).get('/api/orders').set({ Host: 'shop.test', Authorization: `DPoP ${session.bearer}`, DPoP: proof }).expect(200);
    expect(ok.body).toEqual({ owner: 'alice', bound: key.jkt });
    const replayed = await request(app).get('/api/orders').set({ Host: 'shop.test', Authorization: `DPoP ${session.bearer}`, DPoP: proof }).expect(401);
    expect(replayed.headers['www-authenticate']).toBe('DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"');
    await request(app).get('/api/orders').set('Authorization', `Bearer ${session.bearer}`).expect(401);
  });

  it("mounts the example order routes, hiding another user's order as not found", async () => {
    const app = createApp(server.runtime, { routes: (router, sessions) => router.use('/api/orders', orderRoutes(sessions)) });
    const session = await login(app, 'alice', PASSWORD);
    const auth = { Authorization: `Bearer ${session.bearer}` };
    expect((await request(app).get('/api/orders').set(auth).expect(200)).body.orders).toHaveLength(1);
    expect((await request(app).get('/api/orders/o-2').set(auth).expect(404)).body.error).toBe('not_found');
    await request(app).get('/api/orders').expect(401);
  });
});

describe('a second Express app sharing the server keys and store', () => {
  const temp = tempDir();
  const env = {
    PRESERVE_SESSIONS_ON_REBOOT: '1',
    PRIVATE_KEY_PASSPHRASE: 'a long enough test passphrase',
    KEYS_DIR: path.join(temp.dir, 'keys'),
    SQLITE_PATH: path.join(temp.dir, 'auth.db'),
    LOG_LEVEL: 'silent',
  };
  let server: TestServer;
  let orders: Awaited<ReturnType<typeof createOrdersService>>;

  beforeAll(async () => {
    await generateKeyFiles(loadConfig(env), false);
    server = await startTestServer(env, temp.dir);
    await server.addUser('alice', PASSWORD);
    orders = await createOrdersService(env);
  });
  afterAll(async () => {
    await orders.runtime.close();
    await server.close();
    temp.remove();
  });

  it('accepts the auth server tokens and sees a logout on the next request', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    const ok = await request(orders.app).get('/orders').set('Authorization', `Bearer ${session.bearer}`).expect(200);
    expect(ok.body).toMatchObject({ owner: 'alice', session: session.body.session_id });
    await request(server.app).post('/auth/logout').set('Authorization', `Bearer ${session.bearer}`).expect(204);
    const refused = await request(orders.app).get('/orders').set('Authorization', `Bearer ${session.bearer}`).expect(401);
    expect(refused.body.error).toBe('invalid_token');
    expect(refused.headers['www-authenticate']).toContain('invalid_token');
  });

  it('takes DPoP-bound tokens with proofs for its own URL, spent in the shared store', async () => {
    const key = await makeProofKey('EdDSA');
    const session = await login(server.app, 'alice', PASSWORD, { dpop: { key, origin: server.config.issuer } });
    const proof = await makeProof(key, { htm: 'GET', htu: 'http://orders.test/orders', token: session.bearer });
    const call = () => request(orders.app).get('/orders').set({ Host: 'orders.test', Authorization: `DPoP ${session.bearer}`, DPoP: proof });
    expect((await call().expect(200)).body).toMatchObject({ owner: 'alice', session: session.body.session_id });
    expect((await call().expect(401)).body.error).toBe('invalid_dpop_proof');
    const foreign = await makeProof(key, { htm: 'GET', htu: `${server.config.issuer}/api/me`, token: session.bearer });
    expect((await request(orders.app).get('/orders').set({ Authorization: `DPoP ${session.bearer}`, DPoP: foreign }).expect(401)).body.error).toBe('invalid_dpop_proof');
  });
});
