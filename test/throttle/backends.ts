import { Redis } from 'ioredis';
import pg from 'pg';
import { THROTTLE_TABLE } from '../../src/throttle/index.js';
import { createTestDatabase, describeWithPostgres } from '../helpers/postgres.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';

/** Two instances sharing a throttle store, and a way to count what that store holds. */
export interface ThrottleFleet {
  readonly instances: readonly [TestServer, TestServer];
  /** Adds a user with a password on every instance's user database. */
  addUser(username: string, password: string): Promise<void>;
  /** How many keys (rows) the throttle's store holds now. */
  storeSize(): Promise<number>;
  close(): Promise<void>;
}

/** How a throttle backend is set up for a test: its environment and how to count its keys. */
interface Backend {
  readonly describe: (name: string, body: () => void) => void;
  /** Environment of both instances, and how to count the store and clean up. */
  prepare(): Promise<{
    env: Record<string, string>;
    /** Both instances use one SQLite folder. */
    sharedDir: boolean;
    /** Both instances see the same users (one SQLite file, or PostgreSQL). */
    sharedUsers: boolean;
    size: (first: TestServer) => Promise<number>;
    cleanup: () => Promise<void>;
  }>;
}

/** The backends every instance of a fleet can share. */
export const SHARED_BACKENDS: Record<string, Backend> = {
  'SQLite (one file)': {
    describe,
    async prepare() {
      const size = async (first: TestServer) => ((first.runtime.db as NonNullable<typeof first.runtime.db>).prepare(`SELECT COUNT(*) AS n FROM ${THROTTLE_TABLE}`).get() as { n: number }).n;
      return { env: {}, sharedDir: true, sharedUsers: true, size, cleanup: async () => undefined };
    },
  },
  Redis: {
    describe: describeWithRedis,
    async prepare() {
      const prefix = uniquePrefix('throttle');
      const size = async () => {
        const client = new Redis(REDIS_TEST_URL);
        try {
          return (await client.keys(`${prefix}throttle:*`)).length;
        } finally {
          client.disconnect();
        }
      };
      return { env: { STORE: 'redis', REDIS_URL: REDIS_TEST_URL, REDIS_PREFIX: prefix }, sharedDir: false, sharedUsers: false, size, cleanup: () => deleteKeys(REDIS_TEST_URL, prefix) };
    },
  },
  PostgreSQL: {
    describe: describeWithPostgres,
    async prepare() {
      const database = await createTestDatabase();
      const size = async () => {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          return Number((await client.query(`SELECT COUNT(*) AS n FROM ${THROTTLE_TABLE}`)).rows[0].n);
        } finally {
          await client.end();
        }
      };
      return { env: { DATABASE_URL: database.url }, sharedDir: false, sharedUsers: true, size, cleanup: () => database.drop() };
    },
  },
};

/**
 * Starts two app instances on one throttle backend. With SQLite they share the database file; with
 * Redis or PostgreSQL each has its own SQLite folder, so only the backend (and with PostgreSQL the
 * users) is shared.
 */
export async function startFleet(backend: Backend, env: Record<string, string>): Promise<ThrottleFleet> {
  const setup = await backend.prepare();
  const shared = setup.sharedDir ? tempDir() : null;
  const start = () => startTestServer({ ...setup.env, ...env }, shared?.dir);
  const instances = [await start(), await start()] as const;
  return {
    instances,
    async addUser(username, password) {
      if (setup.sharedUsers) await instances[0].addUser(username, password);
      else for (const instance of instances) await instance.addUser(username, password);
    },
    storeSize: () => setup.size(instances[0]),
    async close() {
      for (const instance of instances) await instance.close();
      await setup.cleanup();
      shared?.remove();
    },
  };
}
