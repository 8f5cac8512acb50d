import { Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../errors.js';
import { RevocationFeed, SessionCache, type SessionCacheOptions } from './redis-cache.js';
import {
  CREATE_SESSION,
  PURGE_USER_SESSIONS,
  REVOKE_SESSION,
  REVOKE_USER_SESSIONS,
  FIND_REFRESH_TOKEN,
  ADVANCE_REFRESH_TOKEN,
  TOUCH_SESSION,
  decodeSession,
  encodeSession,
  pairs,
  redisKeys,
  runScript,
} from './redis-scripts.js';
import { isLive, type RefreshAdvance, type RefreshTokenFacts, type SessionRecord, type SessionStore } from './types.js';

/** The key prefix used when `REDIS_PREFIX` is not set. */
export const DEFAULT_REDIS_PREFIX = 'jwe-auth:';

/** How long {@link RedisSessionStore.connect} waits for Redis at boot. */
export const CONNECT_TIMEOUT_MS = 2000;

/**
 * ioredis options that make a dead or paused Redis fail a command in well under a second instead of
 * queueing it, and reconnect by themselves forever:
 * - `enableOfflineQueue: false`: while disconnected, a command is refused at once ("Stream isn't
 *   writeable") instead of waiting for a connection that may never come.
 * - `maxRetriesPerRequest: 0`: a command in flight when the connection drops fails instead of being
 *   resent after the reconnect, when its caller has long given up.
 * - `commandTimeout: 400`: a paused or overloaded Redis fails a command after 400 ms.
 * - `connectTimeout: 500`: a connection attempt to a host that does not answer gives up after 500 ms.
 * - `retryStrategy: () => 200`: reconnect every 200 ms, never give up, so the server recovers by
 *   itself when Redis is back.
 * - `disconnectTimeout: 200`: a socket that does not close within 200 ms of a disconnect is destroyed
 *   (the default keeps the process alive for 2 s after closing a connection that never opened).
 * - `lazyConnect: true`: the store connects explicitly, with a deadline.
 */
export const REDIS_CLIENT_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 400,
  connectTimeout: 500,
  retryStrategy: () => 200,
  disconnectTimeout: 200,
  lazyConnect: true,
});

/** Tuning of a {@link RedisSessionStore} beyond its connection; the defaults suit production. */
export interface RedisStoreOptions extends SessionCacheOptions {
  /** How long connecting may take before it fails with `StoreUnavailableError`. Default 2 s. */
  readonly connectTimeoutMs?: number;
}

/**
 * A {@link SessionStore} in Redis, shared by several server processes. Every multi-step change is
 * one Lua script (see `redis-scripts.ts`), so it is atomic; every key expires at its session's
 * absolute end.
 *
 * Each instance keeps the live sessions it read in a local cache, so a warm protected request needs
 * no round trip, and subscribes to `<prefix>revocations`: every revocation (logout, logout of all
 * devices, refresh token reuse) is published by the script that makes it, and every instance drops
 * those sessions on receipt. The cache is used only while that subscription is healthy.
 *
 * Every ioredis failure becomes {@link StoreUnavailableError}. A command that timed out may still be
 * applied when Redis wakes up; each script is safe to have run unseen (a rotated token presented
 * again within the grace window still rotates).
 *
 * @example
 * const store = await RedisSessionStore.connect('redis://127.0.0.1:6379', 'jwe-auth:');
 */
export class RedisSessionStore implements SessionStore {
  readonly #keys;
  readonly #cache: SessionCache;
  readonly #feed: RevocationFeed;

  private constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    options: RedisStoreOptions,
  ) {
    this.#keys = redisKeys(prefix);
    this.#cache = new SessionCache(options);
    this.#feed = new RevocationFeed(subscriber, this.#keys.channel, this.#cache, options);
  }

  /**
   * Connects to Redis at `url`, failing within `connectTimeoutMs` (2 s) when it cannot.
   *
   * @param url - `redis://` or `rediss://` URL (`REDIS_URL`).
   * @param prefix - Prefix of every key and of the revocation channel (`REDIS_PREFIX`).
   * @throws {StoreUnavailableError} when Redis does not answer in time.
   */
  static connect(url: string, prefix: string = DEFAULT_REDIS_PREFIX, options: RedisStoreOptions = {}): Promise<RedisSessionStore> {
    return RedisSessionStore.#open((role) => new Redis(url, { ...REDIS_CLIENT_OPTIONS, ...role }), prefix, options);
  }

  /**
   * Connects with explicit ioredis options (host, port, password, tls...), merged over
   * `REDIS_CLIENT_OPTIONS`.
   *
   * @throws {StoreUnavailableError} when Redis does not answer in time.
   * @example const store = await RedisSessionStore.connectWith({ port: 6380 }, 'test:');
   */
  static connectWith(redisOptions: RedisOptions, prefix: string = DEFAULT_REDIS_PREFIX, options: RedisStoreOptions = {}): Promise<RedisSessionStore> {
    return RedisSessionStore.#open(
      (role) => new Redis({ ...REDIS_CLIENT_OPTIONS, ...redisOptions, ...role, lazyConnect: true }),
      prefix,
      options,
    );
  }

  static async #open(make: (role: RedisOptions) => Redis, prefix: string, options: RedisStoreOptions): Promise<RedisSessionStore> {
    const name = prefix.replace(/[^\w:.-]/g, '_');
    const client = make({ connectionName: `${name}commands` });
    // The feed subscribes again itself once it knows the connection is back.
    const subscriber = make({ connectionName: `${name}revocations`, autoResubscribe: false });
    const timeout = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    try {
      await Promise.all([waitReady(client, timeout), waitReady(subscriber, timeout)]);
    } catch (error) {
      client.disconnect();
      subscriber.disconnect();
      throw error;
    }
    const store = new RedisSessionStore(client, subscriber, prefix, options);
    await store.#feed.beat();
    return store;
  }

  /** Whether sessions are served from the local cache now (the revocation subscription is healthy). */
  get caching(): boolean {
    return this.#cache.active;
  }

  async createSession(session: SessionRecord, refreshHash: string): Promise<void> {
    const k = this.#keys;
    await this.#call(() =>
      runScript(
        this.client,
        CREATE_SESSION,
        [k.session(session.id), k.refresh(refreshHash), k.tokens(session.id), k.user(session.userId)],
        [session.expiresAt, refreshHash, session.id, ...encodeSession(session, refreshHash)],
      ),
    );
  }

  async getSession(id: string, now: number): Promise<SessionRecord | null> {
    const cached = this.#cache.get(id, now);
    if (cached) return cached;
    const generation = this.#cache.generation;
    const record = decodeSession(await this.#call(() => this.client.hgetall(this.#keys.session(id))));
    if (!record || now >= record.expiresAt) return null;
    this.#cache.set(record, generation);
    return record;
  }

  async findRefreshToken(hash: string, now: number): Promise<RefreshTokenFacts | null> {
    const k = this.#keys;
    const reply = (await this.#call(() => runScript(this.client, FIND_REFRESH_TOKEN, [k.refresh(hash)], [k.prefix, now]))) as unknown[];
    const fields = pairs(reply.slice(1));
    const session = decodeSession(fields);
    if (!session || fields.current === undefined) return null;
    return { session, currentHash: fields.current, supersededAt: reply[0] === '' ? null : Number(reply[0]) };
  }

  async advanceRefreshToken(advance: RefreshAdvance): Promise<SessionRecord | null> {
    const k = this.#keys;
    const generation = this.#cache.generation;
    const reply = (await this.#call(() =>
      runScript(
        this.client,
        ADVANCE_REFRESH_TOKEN,
        [k.session(advance.sessionId), k.refresh(advance.expectedHash), k.refresh(advance.nextHash), k.tokens(advance.sessionId)],
        [advance.sessionId, advance.expectedHash, advance.nextHash, advance.now, advance.idleExpiresAt],
      ),
    )) as unknown[];
    const session = decodeSession(reply);
    if (session) this.#cache.set(session, generation);
    return session;
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.#call(() => runScript(this.client, TOUCH_SESSION, [this.#keys.session(id)], [now]));
    this.#cache.touch(id, now);
  }

  async revokeSession(id: string, now: number): Promise<boolean> {
    const revoked = await this.#call(() => runScript(this.client, REVOKE_SESSION, [this.#keys.session(id)], [now, this.#keys.channel, id]));
    this.#cache.drop([id]);
    return revoked === 1;
  }

  async revokeUserSessions(userId: string, now: number, exceptId = ''): Promise<string[]> {
    const k = this.#keys;
    const ids = (await this.#call(() => runScript(this.client, REVOKE_USER_SESSIONS, [k.user(userId)], [k.prefix, now, exceptId, k.channel]))) as string[];
    this.#cache.drop(ids);
    return ids;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const ids = await this.#call(() => this.client.smembers(this.#keys.user(userId)));
    if (ids.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(this.#keys.session(id));
    const replies = (await this.#call(() => pipeline.exec())) ?? [];
    const sessions: SessionRecord[] = [];
    for (const [error, fields] of replies) {
      if (error) throw this.#translate(error);
      const session = decodeSession(fields as Record<string, string>);
      if (session && session.userId === userId && isLive(session, now)) sessions.push(session);
    }
    return sessions.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Deletes sessions not live at `now` by walking the user indexes; sessions past their absolute end already expired by TTL. */
  async purgeExpired(now: number): Promise<number> {
    const k = this.#keys;
    let purged = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.#call(() => this.client.scan(cursor, 'MATCH', k.userPattern, 'COUNT', 200));
      for (const key of keys) purged += Number(await this.#call(() => runScript(this.client, PURGE_USER_SESSIONS, [key], [k.prefix, now])));
      cursor = next;
    } while (cursor !== '0');
    return purged;
  }

  /**
   * `SET NX PXAT`: atomic on the one Redis every instance shares, and forgotten by Redis itself at
   * `expiresAt` (by its clock; `now` is not needed).
   */
  async rememberProofId(id: string, expiresAt: number, _now: number): Promise<boolean> {
    return (await this.#call(() => this.client.set(this.#keys.proof(id), '1', 'PXAT', expiresAt, 'NX'))) === 'OK';
  }

  async ping(): Promise<void> {
    await this.#call(() => this.client.ping());
  }

  async close(): Promise<void> {
    this.#feed.stop();
    await Promise.all([quit(this.client), quit(this.subscriber)]);
  }

  async #call<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      throw this.#translate(error);
    }
  }

  /** ioredis errors become `StoreUnavailableError`, except a refusal written into a script. */
  #translate(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('jwe-auth: ')) return new Error(`redis: ${message}`);
    this.#cache.suspend();
    return new StoreUnavailableError(`redis: ${message}`);
  }
}

/**
 * Connects a lazy client and waits for it to be ready, retrying until `timeoutMs`.
 *
 * @throws {StoreUnavailableError} when it is not ready in time.
 */
export function waitReady(client: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastError = 'no answer';
    const onError = (error: Error) => {
      lastError = error.message;
    };
    const done = () => {
      clearTimeout(timer);
      client.off('error', onError);
      client.off('ready', onReady);
    };
    const onReady = () => {
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new StoreUnavailableError(`redis: not ready within ${timeoutMs} ms (${lastError})`));
    }, timeoutMs);
    // Connection errors are reported by the commands that fail; without a listener ioredis prints them.
    client.on('error', () => undefined);
    client.on('error', onError);
    client.once('ready', onReady);
    client.connect().catch(() => undefined);
  });
}

async function quit(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
  } catch {
    // Nothing to release beyond the socket.
  }
  client.disconnect();
}
