import request from 'supertest';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { PostgresSessionStore } from '../../src/store/postgres.js';
import { makeClientKey } from '../helpers/client.js';
import { login } from '../helpers/flow.js';
import { describeWithPostgres, PG_TEST_URL, testDatabasePerFile } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { newHash, newSession } from './contract.js';
import { eventually } from '../helpers/eventually.js';

/** The contract's bound: while the store cannot answer, a request is answered 503 within a second. */
const BOUND_MS = 1000;
const PASSWORD = 'correct horse battery';

describeWithPostgres('a PostgreSQL that vanishes or hangs under a fleet instance', () => {
  const url = testDatabasePerFile();
  let proxy: TcpProxy;
  let server: TestServer;
  const viaProxy = () => {
    const target = new URL(url());
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    return target.toString();
  };

  beforeAll(async () => {
    const target = new URL(PG_TEST_URL);
    proxy = await TcpProxy.start(Number(target.port || 5432), target.hostname);
    server = await startTestServer({ STORE: 'postgres', DATABASE_URL: viaProxy(), REFRESH_REUSE_GRACE: '0s' });
    await server.addUser('alice', PASSWORD);
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
  });

  /** Asserts a 503 `temporarily_unavailable` with `Retry-After`, answered within the bound, issuing nothing. */
  async function expectUnavailable(send: () => request.Test): Promise<void> {
    const started = performance.now();
    const res = await send();
    expect({ status: res.status, error: res.body.error, retryAfter: res.headers['retry-after'] }).toEqual({
      status: 503,
      error: 'temporarily_unavailable',
      retryAfter: '1',
    });
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
    expect(res.body.access_token).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
  }

  it.each([
    ['vanishes', () => proxy.cut()],
    ['hangs', () => proxy.stall()],
  ] as const)('answers every route 503 within a second while it %s, and recovers by itself', async (_how, fail) => {
    const session = await login(server.app, 'alice', PASSWORD);
    const client = await makeClientKey();
    await fail();
    try {
      await expectUnavailable(() => request(server.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`));
      await expectUnavailable(() => request(server.app).post('/auth/login').send({ username: 'alice', password: PASSWORD, client_key: client.publicJwk }));
      await expectUnavailable(() => request(server.app).post('/auth/refresh').send({ refresh_token: session.refreshToken }));
      await expectUnavailable(() => request(server.app).post('/auth/logout').set('Authorization', `Bearer ${session.bearer}`));
      await expectUnavailable(() => request(server.app).get('/readyz'));
    } finally {
      await proxy.restore();
    }
    await eventually(5000, async () => {
      await request(server.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`).expect(200);
    });
    // Nothing happened while it was down: the refresh token was not rotated, the session not ended.
    await request(server.app).post('/auth/refresh').send({ refresh_token: session.refreshToken }).expect(200);
  });

  it('rejects store calls with StoreUnavailableError, never a wrong answer', async () => {
    const store = await PostgresSessionStore.open(await PostgresDatabase.connect(viaProxy()));
    const session = newSession();
    await store.createSession(session, newHash());
    proxy.stall();
    try {
      await expect(store.getSession(session.id, session.createdAt)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.revokeSession(session.id, session.createdAt)).rejects.toMatchObject({ code: 'store_unavailable' });
    } finally {
      await proxy.restore();
    }
    await eventually(5000, async () => expect(await store.getSession(session.id, session.createdAt)).toEqual(session));
    await store.close();
  });
});
