import type { Redis } from 'ioredis';
import { isLive, type SessionRecord } from './types.js';

/** Bounds of the local session cache of a {@link RedisSessionStore}. */
export interface SessionCacheOptions {
  /** Most sessions kept; the least recently used go first. Default 10 000. */
  readonly maxEntries?: number;
  /** Longest time a session is served from memory, a second line of defence. Default 30 s. */
  readonly maxAgeMs?: number;
  /** How often the subscriber connection is pinged. Default 150 ms. */
  readonly heartbeatMs?: number;
  /** How long after a PING was sent its answer vouches for the subscription. Default 300 ms. */
  readonly leaseMs?: number;
}

interface Entry {
  readonly record: SessionRecord;
  readonly storedAt: number;
}

/**
 * Live sessions this process read from Redis, kept only while the revocation subscription is known
 * to be healthy: subscribed, and its connection answered a PING sent less than `leaseMs` ago. A PING
 * answered on the subscriber connection proves every revocation published before it has arrived,
 * since Redis answers one connection in order.
 *
 * Every event that could hide a revocation (a revocation message, a lost subscription, a failed
 * PING) bumps a generation; a read that started in an older generation is not cached, so a reply
 * that raced a revocation is never kept.
 */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  #generation = 0;
  #subscribed = false;
  #leaseUntil = 0;

  constructor(options: SessionCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxAgeMs = options.maxAgeMs ?? 30_000;
  }

  /** Whether cached sessions may be served now. */
  get active(): boolean {
    return this.#subscribed && Date.now() < this.#leaseUntil;
  }

  /** A token to pass to {@link SessionCache.set} after a read: the read is kept only if nothing happened meanwhile. */
  get generation(): number {
    return this.#generation;
  }

  /** A cached session live at `now`, or `undefined` when it must be read from Redis. */
  get(id: string, now: number): SessionRecord | undefined {
    if (!this.active) return undefined;
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#entries.delete(id);
    if (Date.now() - entry.storedAt > this.#maxAgeMs || !isLive(entry.record, now)) return undefined;
    this.#entries.set(id, entry);
    return { ...entry.record };
  }

  /** Keeps a live session read in `generation`; does nothing if anything happened since. */
  set(record: SessionRecord, generation: number): void {
    if (generation !== this.#generation || !this.active || !isLive(record, Date.now())) return;
    this.#entries.delete(record.id);
    this.#entries.set(record.id, { record: { ...record }, storedAt: Date.now() });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** Updates `lastUsedAt` of a cached session (a touch is not a revocation). */
  touch(id: string, lastUsedAt: number): void {
    const entry = this.#entries.get(id);
    if (entry) this.#entries.set(id, { ...entry, record: { ...entry.record, lastUsedAt } });
  }

  /** Forgets sessions that were revoked; `null` forgets every session (an unreadable notice). */
  drop(ids: readonly string[] | null): void {
    this.#generation++;
    if (ids === null) this.#entries.clear();
    else for (const id of ids) this.#entries.delete(id);
  }

  /** The subscription is up and a PING sent at `sentAt` was answered. */
  confirm(sentAt: number, leaseMs: number): void {
    if (!this.#subscribed) this.#generation++;
    this.#subscribed = true;
    this.#leaseUntil = Math.max(this.#leaseUntil, sentAt + leaseMs);
  }

  /** The subscription is lost or in doubt: forget everything and read from Redis until it is back. */
  suspend(): void {
    this.#generation++;
    this.#subscribed = false;
    this.#leaseUntil = 0;
    this.#entries.clear();
  }

  /** How many sessions are cached. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * The subscriber side of multi-instance revocation: listens on the revocation channel with its own
 * connection (in subscriber mode), drops revoked ids from the cache, and keeps the cache's lease
 * alive with a PING every `heartbeatMs`. A dropped connection suspends the cache at once; ioredis
 * reconnects by itself and the next heartbeat subscribes again.
 */
export class RevocationFeed {
  readonly #timer: NodeJS.Timeout;
  readonly #heartbeatMs: number;
  readonly #leaseMs: number;
  #subscribed = false;
  #beating = false;
  #failures = 0;
  #closed = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly cache: SessionCache,
    options: SessionCacheOptions = {},
  ) {
    this.#heartbeatMs = options.heartbeatMs ?? 150;
    this.#leaseMs = options.leaseMs ?? 300;
    subscriber.on('message', (from: string, message: string) => {
      if (from === this.channel) this.cache.drop(parseIds(message));
    });
    subscriber.on('close', () => this.#lost());
    subscriber.on('ready', () => void this.beat());
    this.#timer = setInterval(() => void this.beat(), this.#heartbeatMs);
    this.#timer.unref();
  }

  /** Subscribes when needed and pings; resolves `true` when the subscription is confirmed. */
  async beat(): Promise<boolean> {
    if (this.#beating || this.#closed) return false;
    this.#beating = true;
    const sentAt = Date.now();
    try {
      if (!this.#subscribed) {
        await this.subscriber.subscribe(this.channel);
        this.#subscribed = true;
      }
      await this.subscriber.ping();
      this.#failures = 0;
      if (!this.#closed) this.cache.confirm(sentAt, this.#leaseMs);
      return true;
    } catch {
      this.cache.suspend();
      // A subscriber that stops answering is replaced; messages may have been lost on it.
      if (++this.#failures >= 3 && this.subscriber.status === 'ready') {
        this.#failures = 0;
        this.subscriber.disconnect(true);
      }
      return false;
    } finally {
      this.#beating = false;
    }
  }

  /** Stops the heartbeat; the caller closes the connection. */
  stop(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.cache.suspend();
  }

  #lost(): void {
    this.#subscribed = false;
    this.cache.suspend();
  }
}

/** The ids of a revocation notice, or `null` when it cannot be read (then every session is forgotten). */
function parseIds(message: string): string[] | null {
  try {
    const ids: unknown = JSON.parse(message);
    return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? (ids as string[]) : null;
  } catch {
    return null;
  }
}
