import request from 'supertest';
import { BUSY_TIMEOUT_MS } from '../../src/db/sqlite.js';
import { login } from '../helpers/flow.js';
import { makeClientKey } from '../helpers/client.js';
import { sqliteOf, startTestServer, whileLocked, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ REFRESH_REUSE_GRACE: '0s' });
  await server.addUser('alice', PASSWORD);
});
afterAll(() => server.close());

const sessionCount = () => (sqliteOf(server).prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;

/** Asserts a 503 `temporarily_unavailable` that issued nothing. */
async function expectUnavailable(send: () => request.Test): Promise<void> {
  const res = await send();
  expect(res.status).toBe(503);
  expect(res.body.error).toBe('temporarily_unavailable');
  expect(res.headers['retry-after']).toBe('1');
  expect(res.body.access_token).toBeUndefined();
  expect(res.headers['set-cookie']).toBeUndefined();
}

describe('a locked SQLite database', () => {
  it('is waited for at most BUSY_TIMEOUT_MS (250 ms) per statement, by the connection the server uses', () => {
    expect(BUSY_TIMEOUT_MS).toBe(250);
    expect(sqliteOf(server).pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
  });

  it('answers login, refresh, logout and /readyz with 503 after that bounded wait, issuing and changing nothing, then recovers', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    const client = await makeClientKey();
    const before = sessionCount();
    await whileLocked(server, async () => {
      await expectUnavailable(() => request(server.app).post('/auth/login').send({ username: 'alice', password: PASSWORD, client_key: client.publicJwk }));
      await expectUnavailable(() => request(server.app).post('/auth/refresh').send({ refresh_token: session.refreshToken }));
      await expectUnavailable(() => request(server.app).post('/auth/logout').set('Authorization', `Bearer ${session.bearer}`));
      await expectUnavailable(() => request(server.app).get('/readyz'));
    });
    expect(sessionCount()).toBe(before);
    await request(server.app).get('/readyz').expect(200);
    await request(server.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`).expect(200);
    await request(server.app).post('/auth/refresh').send({ refresh_token: session.refreshToken }).expect(200);
  });
});

describe('a read-only SQLite database', () => {
  it('answers writes with 503 and recovers when it is writable again', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    const client = await makeClientKey();
    const before = sessionCount();
    sqliteOf(server).pragma('query_only = ON');
    try {
      await expectUnavailable(() => request(server.app).post('/auth/login').send({ username: 'alice', password: PASSWORD, client_key: client.publicJwk }));
      await expectUnavailable(() => request(server.app).post('/auth/refresh').send({ refresh_token: session.refreshToken }));
      await expectUnavailable(() => request(server.app).post('/auth/logout').set('Authorization', `Bearer ${session.bearer}`));
    } finally {
      sqliteOf(server).pragma('query_only = OFF');
    }
    expect(sessionCount()).toBe(before);
    await request(server.app).post('/auth/refresh').send({ refresh_token: session.refreshToken }).expect(200);
  });
});
