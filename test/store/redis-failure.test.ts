import { rotateRefreshToken } from '../../src/sessions/rotation.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { StoreUnavailableError } from '../../src/errors.js';
import { RedisSessionStore } from '../../src/store/redis.js';
import { makeClientKey } from '../helpers/client.js';
import { login } from '../helpers/flow.js';
import { describeWithRedisServer, freePort, PrivateRedis, uniquePrefix } from '../helpers/redis.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';
import { at, newHash, newSession } from './contract.js';
import { eventually } from '../helpers/eventually.js';

/** The contract's bound: while the store cannot answer, calls fail (and requests answer 503) within one second. */
const BOUND_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Outcome = { ok: true } | { ok: false; error: unknown };

/** Settles `call` and fails the test if it took longer than the bound (it queued instead of failing). */
async function settled(call: () => Promise<unknown>): Promise<Outcome> {
  const started = Date.now();
  const outcome: Outcome = await call().then(
    () => ({ ok: true }),
    (error: unknown) => ({ ok: false, error }),
  );
  expect(Date.now() - started).toBeLessThan(BOUND_MS);
  return outcome;
}

/**
 * Calls `call` repeatedly until it rejects with StoreUnavailableError; fails if that does not happen
 * by `deadline` or if any single call waits past the bound.
 */
async function unavailableBy(deadline: number, call: () => Promise<unknown>): Promise<void> {
  for (;;) {
    const outcome = await settled(call);
    if (!outcome.ok) {
      expect(outcome.error).toBeInstanceOf(StoreUnavailableError);
      return;
    }
    if (Date.now() > deadline) throw new Error(`still answering ${Date.now() - deadline} ms past the deadline`);
    await sleep(20);
  }
}

/** Every method of the store, each on its own session so no call depends on another's effect. */
function everyMethod(store: RedisSessionStore, cachedId: string): Record<string, () => Promise<unknown>> {
  const now = Date.now();
  return {
    'getSession (cached)': () => store.getSession(cachedId, now),
    'getSession (not cached)': () => store.getSession(randomUUID(), now),
    createSession: () => store.createSession(newSession(), newHash()),
    findRefreshToken: () => store.findRefreshToken(newHash(), now),
    advanceRefreshToken: () => store.advanceRefreshToken({ sessionId: randomUUID(), expectedHash: newHash(), nextHash: newHash(), now, idleExpiresAt: now }),
    touchSession: () => store.touchSession(randomUUID(), now),
    revokeSession: () => store.revokeSession(randomUUID(), now),
    revokeUserSessions: () => store.revokeUserSessions(`user-${randomUUID()}`, now),
    listSessions: () => store.listSessions(`user-${randomUUID()}`, now),
    purgeExpired: () => store.purgeExpired(now),
    ping: () => store.ping(),
  };
}

/** Pauses every client of the Redis at `url` for `ms` (CLIENT PAUSE ... ALL) from a connection of its own. */
async function pause(url: string, ms: number): Promise<number> {
  const admin = new Redis(url);
  try {
    await admin.client('PAUSE', ms, 'ALL');
    return Date.now();
  } finally {
    admin.disconnect();
  }
}

describe('connecting to a Redis that is not there', () => {
  it(
    'fails with StoreUnavailableError instead of waiting forever',
    async () => {
      const port = await freePort();
      await expect(RedisSessionStore.connect(`redis://127.0.0.1:${port}`, uniquePrefix('nowhere'))).rejects.toBeInstanceOf(StoreUnavailableError);
    },
    5000,
  );
});

describeWithRedisServer('a Redis that dies or stalls under a store', () => {
  let redis: PrivateRedis;
  let store: RedisSessionStore;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    store = await RedisSessionStore.connectWith({ host: '127.0.0.1', port: redis.port }, uniquePrefix('failure'));
  });
  afterAll(async () => {
    await store?.close();
    await redis?.kill();
  });

  /** A live session read once, so the store holds it in its cache. */
  async function cachedSession(): Promise<string> {
    await eventually(5000, async () => expect(store.caching).toBe(true));
    const session = newSession();
    await store.createSession(session, newHash());
    expect(await store.getSession(session.id, Date.now())).toEqual(session);
    return session.id;
  }

  it('rejects every method with StoreUnavailableError within 1 s of Redis dying, and recovers by itself when it is back', async () => {
    const cachedId = await cachedSession();
    const killedAt = Date.now();
    await redis.kill();
    await Promise.all(Object.values(everyMethod(store, cachedId)).map((call) => unavailableBy(killedAt + BOUND_MS, call)));

    await redis.start();
    await eventually(5000, () => store.ping());
    const session = newSession();
    const token = newHash();
    await store.createSession(session, token);
    expect(await rotateRefreshToken(store, token, newHash(), at(session.createdAt + 1000))).toMatchObject({ status: 'rotated' });
    await eventually(5000, async () => expect(store.caching).toBe(true));
  });

  it('rejects every method with StoreUnavailableError within 1 s while Redis is paused, instead of queueing', async () => {
    const session = newSession();
    const token = newHash();
    await store.createSession(session, token);
    const cachedId = await cachedSession();
    const pausedAt = await pause(redis.url, 3000);
    await Promise.all(Object.values(everyMethod(store, cachedId)).map((call) => unavailableBy(pausedAt + BOUND_MS, call)));

    await eventually(5000, () => store.ping());
    expect(await store.getSession(session.id, Date.now())).toEqual(session);
    expect(await rotateRefreshToken(store, token, newHash(), at(session.createdAt + 1000))).toMatchObject({ status: 'rotated' });
  });

  describe('over HTTP', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ STORE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('http') });
      await server.addUser('alice', 'correct horse battery');
    });
    afterAll(() => server?.close());

    /** Polls a protected route until it answers 503, each answer within the bound; returns that answer. */
    async function unavailableResponse(bearer: string, since: number): Promise<request.Response> {
      for (;;) {
        const started = Date.now();
        const res = await request(server.app).get('/api/me').set('Authorization', `Bearer ${bearer}`);
        expect(Date.now() - started).toBeLessThan(BOUND_MS);
        if (res.status === 503) return res;
        expect(res.status).toBe(200);
        if (Date.now() - since > BOUND_MS) throw new Error('the protected route still answered 200 a second after the store failed');
        await sleep(20);
      }
    }

    async function expectNothingIssued(refreshToken: string): Promise<void> {
      const client = await makeClientKey();
      const denied = await request(server.app)
        .post('/auth/login')
        .send({ username: 'alice', password: 'correct horse battery', client_key: client.publicJwk, refresh_transport: 'body' });
      expect(denied.status).toBe(503);
      expect(denied.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      expect(denied.headers['set-cookie']).toBeUndefined();
      const refreshed = await request(server.app).post('/auth/refresh').send({ refresh_token: refreshToken });
      expect(refreshed.status).toBe(503);
      expect(refreshed.body.access_token).toBeUndefined();
    }

    it('answers 503 temporarily_unavailable with Retry-After within 1 s while Redis is paused, issues nothing, then serves again', async () => {
      const session = await login(server.app, 'alice', 'correct horse battery');
      await request(server.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`).expect(200);
      const pausedAt = await pause(redis.url, 3000);
      const res = await unavailableResponse(session.bearer, pausedAt);
      expect(res.body.error).toBe('temporarily_unavailable');
      expect(res.headers['retry-after']).toBeDefined();
      await expectNothingIssued(session.refreshToken as string);

      await eventually(5000, () => request(server.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`).expect(200));
    });

    it('answers 503 within 1 s after Redis dies, and logs in again once it is back', async () => {
      const session = await login(server.app, 'alice', 'correct horse battery');
      await request(server.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`).expect(200);
      const killedAt = Date.now();
      await redis.kill();
      const res = await unavailableResponse(session.bearer, killedAt);
      expect(res.body.error).toBe('temporarily_unavailable');
      expect(res.headers['retry-after']).toBeDefined();
      await expectNothingIssued(session.refreshToken as string);

      await redis.start();
      await eventually(5000, () => request(server.app).get('/readyz').expect(200));
      const again = await login(server.app, 'alice', 'correct horse battery');
      await request(server.app).get('/api/me').set('Authorization', `Bearer ${again.bearer}`).expect(200);
    });
  });
});
