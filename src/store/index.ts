import type Database from 'better-sqlite3';
import type { Config } from '../config/index.js';
import { MemorySessionStore } from './memory.js';
import { SqliteSessionStore } from './sqlite.js';
import type { SessionStore } from './types.js';

export type { SessionStore, SessionRecord, RotateResult, RotateOptions } from './types.js';
export { isLive } from './types.js';
export { MemorySessionStore } from './memory.js';
export { SqliteSessionStore } from './sqlite.js';
export { RedisSessionStore, DEFAULT_REDIS_PREFIX, type RedisStoreOptions } from './redis.js';

/**
 * Creates the session store `STORE` names. SQLite shares the users database; Redis is loaded only
 * when chosen and connects with a deadline.
 *
 * @param db - The open SQLite database (used by `sqlite`).
 * @throws {StoreUnavailableError} when `STORE=redis` and Redis does not answer within 2 s.
 */
export async function createStore(config: Pick<Config, 'store' | 'redisUrl' | 'redisPrefix'>, db: Database.Database): Promise<SessionStore> {
  switch (config.store) {
    case 'memory':
      return new MemorySessionStore();
    case 'sqlite':
      return new SqliteSessionStore(db);
    case 'redis': {
      const { RedisSessionStore } = await import('./redis.js');
      return RedisSessionStore.connect(config.redisUrl as string, config.redisPrefix);
    }
  }
}
