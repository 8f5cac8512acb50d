import { rotateRefreshToken } from '../../src/sessions/rotation.js';
import path from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { generateKeyFiles } from '../../src/keys/key-files.js';
import { RedisSessionStore } from '../../src/store/redis.js';
import type { SessionRecord, SessionStore } from '../../src/store/types.js';
import { login } from '../helpers/flow.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';
import { at, newHash, newSession } from './contract.js';

/** The contract's bound: a session revoked on one instance is refused on every other within 100 ms. */
const PROPAGATION_MS = 100;

/** Polls `check` until it is true or `ms` have passed since `since`; returns whether it became true. */
async function within(ms: number, since: number, check: () => Promise<boolean>): Promise<boolean> {
  for (;;) {
    if (await check()) return true;
    if (Date.now() - since > ms) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const revokedOn = (store: SessionStore, id: string) => async () => (await store.getSession(id, Date.now()))?.revokedAt != null;

const prefix = uniquePrefix('instances');

describeWithRedis('several store instances sharing one Redis', () => {
  let a: RedisSessionStore;
  let b: RedisSessionStore;
  let raw: Redis;

  beforeAll(async () => {
    // A long lease, so a slow test machine cannot make B skip its cache between two reads of one test;
    // revocation notices do not depend on it.
    a = await RedisSessionStore.connect(REDIS_TEST_URL, prefix, { leaseMs: 5000 });
    b = await RedisSessionStore.connect(REDIS_TEST_URL, prefix, { leaseMs: 5000 });
    raw = new Redis(REDIS_TEST_URL);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    raw.disconnect();
    await deleteKeys(REDIS_TEST_URL, prefix);
  });

  /** A session created on A and read once on B, so B holds it in its cache. */
  async function warmOnB(overrides: Partial<SessionRecord> = {}): Promise<{ session: SessionRecord; token: string }> {
    const session = newSession(overrides);
    const token = newHash();
    await a.createSession(session, token);
    expect(b.caching).toBe(true);
    expect(await b.getSession(session.id, Date.now())).toEqual(session);
    return { session, token };
  }

  it('serves a warm session from its local cache, without asking Redis', async () => {
    const { session } = await warmOnB();
    await raw.hset(`${prefix}session:${session.id}`, 'epoch', 'changed-behind-its-back');
    expect(await b.getSession(session.id, Date.now())).toEqual(session);
    expect(await a.getSession(session.id, Date.now())).toMatchObject({ epoch: 'changed-behind-its-back' });
  });

  it('refuses on B, within 100 ms, a session revoked on A', async () => {
    const { session } = await warmOnB();
    await a.revokeSession(session.id, Date.now());
    expect(await within(PROPAGATION_MS, Date.now(), revokedOn(b, session.id))).toBe(true);
  });

  it('refuses on B, within 100 ms, every session of a user logged out of all devices on A', async () => {
    const userId = `user-${Date.now()}`;
    const [first, second] = [await warmOnB({ userId }), await warmOnB({ userId })];
    await a.revokeUserSessions(userId, Date.now());
    const since = Date.now();
    expect(await within(PROPAGATION_MS, since, revokedOn(b, first.session.id))).toBe(true);
    expect(await within(PROPAGATION_MS, since, revokedOn(b, second.session.id))).toBe(true);
  });

  it('refuses on B, within 100 ms, a session whose refresh token was reused on A', async () => {
    const { session, token } = await warmOnB();
    const t = session.createdAt;
    await rotateRefreshToken(a, token, newHash(), at(t + 1000));
    expect(await rotateRefreshToken(a, token, newHash(), at(t + 60_000))).toEqual({ status: 'reused', sessionId: session.id, userId: session.userId });
    expect(await within(PROPAGATION_MS, Date.now(), revokedOn(b, session.id))).toBe(true);
  });

  it('caches the session a rotation returned', async () => {
    const { session, token } = await warmOnB();
    const rotated = await rotateRefreshToken(b, token, newHash(), at(session.createdAt + 1000, { idleExpiresAt: session.createdAt + 50 * 60_000 }));
    expect(rotated.status).toBe('rotated');
    await raw.hset(`${prefix}session:${session.id}`, 'epoch', 'changed-behind-its-back');
    expect(await b.getSession(session.id, Date.now())).toEqual({ ...session, lastUsedAt: session.createdAt + 1000, idleExpiresAt: session.createdAt + 50 * 60_000 });
  });
});

describeWithRedis('two apps sharing one Redis', () => {
  const shared = tempDir('jwe-auth-two-apps-');
  const appPrefix = uniquePrefix('apps');
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    const env = {
      STORE: 'redis',
      REDIS_URL: REDIS_TEST_URL,
      REDIS_PREFIX: appPrefix,
      PRESERVE_SESSIONS_ON_REBOOT: '1',
      PRIVATE_KEY_PASSPHRASE: 'two apps, one passphrase',
    };
    // Both apps read the same key files and users database from one directory.
    await generateKeyFiles(
      { keysDir: path.join(shared.dir, 'keys'), privateKeyPassphrase: env.PRIVATE_KEY_PASSPHRASE, signingAlg: 'ES256', encryptionKeyType: 'x25519' },
      false,
    );
    first = await startTestServer(env, shared.dir);
    second = await startTestServer(env, shared.dir);
    await first.addUser('alice', 'correct horse battery');
  });
  afterAll(async () => {
    await Promise.all([first?.close(), second?.close()]);
    shared.remove();
    await deleteKeys(REDIS_TEST_URL, appPrefix);
  });

  it('refuses on the second app, within 100 ms, a token logged out on the first', async () => {
    const session = await login(first.app, 'alice', 'correct horse battery');
    const me = () => request(second.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`);
    expect((await me()).status).toBe(200);
    await request(first.app).post('/auth/logout').set('Authorization', `Bearer ${session.bearer}`).expect(204);
    const refused = await within(PROPAGATION_MS, Date.now(), async () => (await me()).status === 401);
    expect(refused).toBe(true);
    const res = await me();
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });
});
