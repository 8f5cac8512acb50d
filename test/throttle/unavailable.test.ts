import request from 'supertest';
import { StoreUnavailableError } from '../../src/errors.js';
import type { Express } from 'express';
import { makeClientKey, type ClientKeyPair } from '../helpers/client.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, describeWithPostgres } from '../helpers/postgres.js';
import { describeWithRedisServer, PrivateRedis, uniquePrefix } from '../helpers/redis.js';
import { startTestServer, whileLocked, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';

let client: ClientKeyPair;
beforeAll(async () => {
  client = await makeClientKey();
});

const login = (app: Express, password = PASSWORD) => request(app).post('/auth/login').send({ username: 'alice', password, client_key: client.publicJwk });

/** Expects the login to be refused 503 with Retry-After, as a store outage is. */
async function expectClosed(app: Express): Promise<void> {
  for (const password of [PASSWORD, 'wrong password']) {
    const res = await login(app, password);
    expect([res.status, res.body.error]).toEqual([503, 'temporarily_unavailable']);
    expect(res.headers['retry-after']).toBe('1');
  }
}

describe('a throttle whose store cannot answer fails closed', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers 503 with Retry-After while the SQLite database is locked, and logs in again after', async () => {
    server = await startTestServer({ LOGIN_RATE_LIMIT: '10' });
    await server.addUser('alice', PASSWORD);
    await whileLocked(server, () => expectClosed((server as TestServer).app));
    expect((await login(server.app)).status).toBe(200);
  });

  describeWithRedisServer('on Redis', () => {
    it('answers 503 with Retry-After while Redis is down, and logs in again once it is back', async () => {
      const redis = await PrivateRedis.start();
      try {
        server = await startTestServer({ STORE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('throttle-down') });
        await server.addUser('alice', PASSWORD);
        expect((await login(server.app)).status).toBe(200);
        await redis.kill();
        await expectClosed(server.app);
        await redis.start();
        await eventually(5000, async () => expect((await login(server!.app)).status).toBe(200));
      } finally {
        await redis.kill();
      }
    });
  });

  describeWithPostgres('on PostgreSQL', () => {
    it('answers 503 with Retry-After once the database is gone, and checks no password', async () => {
      const database = await createTestDatabase();
      try {
        server = await startTestServer({ DATABASE_URL: database.url });
        await server.addUser('alice', PASSWORD);
        expect((await login(server.app)).status).toBe(200);
      } finally {
        await database.drop();
      }
      await expectClosed(server.app);
      // The users are gone with it too, so ask the throttle itself: the attempt never runs.
      let ran = false;
      const refusal = await server.runtime.throttle.login('203.0.113.9', 'alice', async () => (ran = true)).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(StoreUnavailableError);
      expect(ran).toBe(false);
    });
  });
});
