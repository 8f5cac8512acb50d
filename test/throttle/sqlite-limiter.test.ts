import path from 'node:path';
import { jest } from '@jest/globals';
import type Database from 'better-sqlite3';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { openDatabase } from '../../src/db/sqlite.js';
import { openThrottleBackend, THROTTLE_TABLE, type ThrottleBackend } from '../../src/throttle/index.js';
import { tempDir } from '../helpers/runtime.js';

// The SQLite limiter runs its write statement prepared once (backends.ts): what a login costs on the
// event loop. These tests hold it to the library's counting, on a real file.
describe('the SQLite throttle limiter', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Database.Database;
  let backend: ThrottleBackend;

  beforeEach(async () => {
    dir = tempDir();
    db = openDatabase(path.join(dir.dir, 'auth.db'));
    backend = await openThrottleBackend({ store: 'sqlite', redisUrl: undefined, redisPrefix: '', databaseUrl: undefined } as never, { sqlite: db });
  });

  afterEach(async () => {
    await backend.close();
    db.close();
    dir.remove();
  });

  it('prepares its write statement once, not once per count (the library would prepare it every time)', async () => {
    const limiter = backend.limiter('once', 100);
    const prepare = jest.spyOn(db, 'prepare');
    for (let i = 0; i < 10; i++) {
      await limiter.consume('k', 1);
      await limiter.reward('k', 1);
    }
    // One upsert text serves consume and reward: prepared on the first call, then reused.
    expect(prepare.mock.calls.map((c) => String(c[0]).trim().split(/\s+/).slice(0, 3).join(' '))).toEqual([`INSERT INTO ${THROTTLE_TABLE}`]);
    prepare.mockRestore();
  });

  it('counts, refuses past the limit with the time left, and takes points back, in the file', async () => {
    const limiter = backend.limiter('count', 3);
    const first = await limiter.consume('k', 1);
    expect(first.remainingPoints).toBe(2);
    await limiter.consume('k', 2);
    const refused = await limiter.consume('k', 1).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimiterRes);
    expect((refused as RateLimiterRes).msBeforeNext).toBeGreaterThan(0);
    expect((refused as RateLimiterRes).msBeforeNext).toBeLessThanOrEqual(60_000);
    await limiter.reward('k', 2);
    expect((await limiter.consume('k', 1)).remainingPoints).toBe(0);
    const row = db.prepare(`SELECT points FROM ${THROTTLE_TABLE} WHERE key = ?`).get('count:k') as { points: number } | undefined;
    expect(row?.points).toBe(3);
  });

  it('never lets a burst of parallel reservations past the limit', async () => {
    const limiter = backend.limiter('burst', 5);
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => limiter.consume('k', 1)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof RateLimiterRes)).toHaveLength(7);
  });

  it('keeps each key to its own count, and each limiter to its own keys', async () => {
    const a = backend.limiter('a', 2);
    const b = backend.limiter('b', 2);
    await a.consume('k', 2);
    expect((await a.consume('other', 1)).remainingPoints).toBe(1);
    expect((await b.consume('k', 1)).remainingPoints).toBe(1);
  });
});
