import type Database from 'better-sqlite3';
import type { Config } from '../config/index.js';
import type { PostgresDatabase } from '../db/postgres.js';
import { MemorySessionStore } from './memory.js';
import { SqliteSessionStore } from './sqlite.js';
import type { SessionStore } from './types.js';

export type { SessionStore, SessionRecord, RefreshTokenFacts, RefreshAdvance } from './types.js';
export { isLive } from './types.js';
export { MemorySessionStore } from './memory.js';
export { SqliteSessionStore, type SqliteStoreOptions } from './sqlite.js';
export { RedisSessionStore, DEFAULT_REDIS_PREFIX, type RedisStoreOptions } from './redis.js';
export { PostgresSessionStore } from './postgres.js';

/** The open connections a store may use, made once by the runtime. */
export interface StoreConnections {
  /** The SQLite file at `SQLITE_PATH` (needed by `sqlite`). */
  readonly sqlite?: Database.Database;
  /** The PostgreSQL pool at `DATABASE_URL` (needed by `postgres`). */
  readonly postgres?: PostgresDatabase;
}

/**
 * Creates the session store `STORE` names, over the connections the runtime opened. Redis is
 * loaded only when chosen and connects with a deadline.
 *
 * @throws {import('../errors.js').StoreUnavailableError} when Redis or PostgreSQL does not answer.
 * @throws {import('../errors.js').MigrationError} when the store's tables cannot be brought up to date.
 */
export async function createStore(config: Pick<Config, 'store' | 'redisUrl' | 'redisPrefix' | 'databaseUrl'>, connections: StoreConnections): Promise<SessionStore> {
  switch (config.store) {
    case 'memory':
      return new MemorySessionStore();
    case 'sqlite':
      // Without DATABASE_URL the users live in the same SQLite file.
      return new SqliteSessionStore(required(connections.sqlite, 'SQLite'), { usersInSameFile: config.databaseUrl === undefined });
    case 'postgres': {
      const { PostgresSessionStore } = await import('./postgres.js');
      return PostgresSessionStore.open(required(connections.postgres, 'PostgreSQL'));
    }
    case 'redis': {
      const { RedisSessionStore } = await import('./redis.js');
      return RedisSessionStore.connect(config.redisUrl as string, config.redisPrefix);
    }
  }
}

function required<T>(connection: T | undefined, name: string): T {
  if (connection === undefined) throw new Error(`createStore: the ${name} connection is missing`);
  return connection;
}
