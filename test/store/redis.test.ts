import { rotateRefreshToken } from '../../src/sessions/rotation.js';
import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../src/errors.js';
import { RedisSessionStore } from '../../src/store/redis.js';
import type { SessionStore } from '../../src/store/types.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { at, describeStoreContract, newHash, newSession } from './contract.js';

const prefix = uniquePrefix('store');
let stores = 0;

describeWithRedis('RedisSessionStore', () => {
  afterAll(() => deleteKeys(REDIS_TEST_URL, prefix));

  // Each store gets its own prefix, so purging and listing see only that test's sessions; a peer
  // (another instance, with its own connections) shares its store's prefix.
  const prefixOf = new WeakMap<SessionStore, string>();
  describeStoreContract(
    'redis',
    async () => {
      const own = `${prefix}${stores++}:`;
      const store = await RedisSessionStore.connect(REDIS_TEST_URL, own);
      prefixOf.set(store, own);
      return store;
    },
    { peerOf: (store) => RedisSessionStore.connect(REDIS_TEST_URL, prefixOf.get(store) as string) },
  );

  describe('keys in Redis', () => {
    const own = `${prefix}keys:`;
    let store: RedisSessionStore;
    let raw: Redis;
    beforeAll(async () => {
      store = await RedisSessionStore.connect(REDIS_TEST_URL, own);
      raw = new Redis(REDIS_TEST_URL);
    });
    afterAll(async () => {
      await store.close();
      raw.disconnect();
    });

    async function keysUnder(p: string): Promise<string[]> {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await raw.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 500);
        found.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      return found.sort();
    }

    it("keeps every key under the prefix, expiring at the session's absolute end", async () => {
      const session = newSession();
      const token = newHash();
      const next = newHash();
      await store.createSession(session, token);
      await rotateRefreshToken(store, token, next, at(session.createdAt + 1000));
      const keys = await keysUnder(`${own}session:${session.id}`);
      keys.push(...(await keysUnder(`${own}refresh:`)), ...(await keysUnder(`${own}user:${session.userId}`)));
      expect([...keys].sort()).toEqual(
        [
          `${own}session:${session.id}`,
          `${own}session:${session.id}:tokens`,
          `${own}refresh:${token}`,
          `${own}refresh:${next}`,
          `${own}user:${session.userId}:sessions`,
        ].sort(),
      );
      for (const key of keys) {
        const ttl = await raw.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        // PTTL is relative to now: the key ends at the session's end, give or take this test's own duration.
        expect(Math.abs(Date.now() + ttl - session.expiresAt)).toBeLessThan(5000);
      }
    });

    it('does not recreate a vanished session when it is touched', async () => {
      const id = 'never-created';
      await store.touchSession(id, Date.now());
      expect(await raw.exists(`${own}session:${id}`)).toBe(0);
    });

    it('refuses a second session with the same id as an error, not as an unavailable store', async () => {
      const session = newSession();
      await store.createSession(session, newHash());
      const duplicate = store.createSession({ ...session, userId: 'someone-else' }, newHash());
      await expect(duplicate).rejects.toThrow(/already exists/);
      await expect(store.createSession(session, newHash())).rejects.not.toBeInstanceOf(StoreUnavailableError);
      expect(await store.getSession(session.id, Date.now())).toEqual(session);
    });

    it('publishes a revocation on the revocations channel, and nothing for a touch', async () => {
      const listener = new Redis(REDIS_TEST_URL);
      const messages: string[] = [];
      listener.on('message', (_channel: string, message: string) => messages.push(message));
      await listener.subscribe(`${own}revocations`);
      try {
        const session = newSession();
        await store.createSession(session, newHash());
        await store.touchSession(session.id, Date.now());
        await store.revokeSession(session.id, Date.now());
        await store.revokeSession(session.id, Date.now());
        await listener.ping();
        expect(messages.map((m) => JSON.parse(m))).toEqual([[session.id]]);
      } finally {
        listener.disconnect();
      }
    });
  });
});
