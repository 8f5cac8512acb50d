import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, probeRedis } from './probes.mjs';
import { describeNeeding } from './requirement.js';

/** A free TCP port on 127.0.0.1 (for a private Redis; the suites import it from here). */
export { freePort };

/** The Redis the shared-Redis suites use: `REDIS_TEST_URL`, default the local default port. */
export const REDIS_TEST_URL = process.env.REDIS_TEST_URL || 'redis://127.0.0.1:6379';

/** Whether the shared test Redis answered when this file was loaded (probed once). */
export const redisReachable = await probeRedis(REDIS_TEST_URL);

/** Whether a `redis-server` binary is on PATH, for suites that start their own. */
export const redisServerInstalled = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

const HINT = 'set REDIS_TEST_URL';

/** A suite that needs the shared Redis at {@link REDIS_TEST_URL}. */
export function describeWithRedis(name: string, body: () => void): void {
  describeNeeding('Redis', redisReachable, `no Redis at ${REDIS_TEST_URL}`, HINT, name, body);
}

/** A suite that starts its own `redis-server` processes. */
export function describeWithRedisServer(name: string, body: () => void): void {
  describeNeeding('Redis', redisServerInstalled, 'no redis-server on PATH to start a private Redis', HINT, name, body);
}

/** A key prefix no other test run uses. */
export function uniquePrefix(label = 'test'): string {
  return `jwe-auth-${label}:${randomUUID().slice(0, 8)}:`;
}

/**
 * The environment of server processes forming a fleet on the test Redis: sessions under `prefix`,
 * keys preserved in `dir/keys` (generate them first), users in `dir/auth.db`.
 */
export function redisFleetEnv(dir: string, prefix: string): Record<string, string> {
  return {
    STORE: 'redis',
    REDIS_URL: REDIS_TEST_URL,
    REDIS_PREFIX: prefix,
    PRESERVE_SESSIONS_ON_REBOOT: '1',
    PRIVATE_KEY_PASSPHRASE: 'a passphrase long enough for the keys',
    KEYS_DIR: path.join(dir, 'keys'),
    SQLITE_PATH: path.join(dir, 'auth.db'),
    COOKIE_SECURE: 'false',
    LOG_LEVEL: 'silent',
  };
}

/** Deletes every key under `prefix` (a test run's own keys). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, disconnectTimeout: 100 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A `redis-server` child process of this test, on a fixed port across restarts. */
export class PrivateRedis {
  #child: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  /** Starts a private Redis (no persistence) on a free port and waits until it answers. */
  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on its port and waits until it answers PING. */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const deadline = Date.now() + 5000;
    while (!(await probeRedis(this.url))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Kills the server (SIGKILL, like a crash) and waits until it has exited. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
