/**
 * Revocation lag between two server processes sharing a store: log in on A, make one request on B
 * (so anything B remembers about the session is warm), log out on A, then poll `/api/me` on B until
 * it answers 401. The lag is the time from A's 204 to B's first 401 (one poll round trip included).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import { percentile } from './load.mjs';
import { addUser, cli, login } from './client.mjs';
import { startServer } from './processes.mjs';
import { probeRedis, withPostgres } from '../../test/helpers/probes.mjs';

const POLL_LIMIT_MS = 5000;

async function deleteRedisKeys(url, prefix) {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, disconnectTimeout: 100 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/**
 * The stores to measure, pushed onto `stores` as soon as each exists (so an interrupted run still
 * cleans up): `{name, env, cleanup}` when reachable, else `{name, skipped}`. PostgreSQL gets a fresh
 * database `jwe_bench_<random>`, dropped by its `cleanup`.
 */
export async function revocationStores({ redisUrl, postgresUrl, dir, stores }) {
  if (await probeRedis(redisUrl)) {
    const prefix = `jwe-auth-bench:${randomBytes(4).toString('hex')}:`;
    stores.push({
      name: 'redis',
      env: { STORE: 'redis', REDIS_URL: redisUrl, REDIS_PREFIX: prefix, SQLITE_PATH: path.join(dir, 'redis-users.db') },
      cleanup: () => deleteRedisKeys(redisUrl, prefix),
    });
  } else stores.push({ name: 'redis', skipped: `no Redis at ${redisUrl} (set BENCH_REDIS_URL)` });
  const name = `jwe_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  const store = {
    name: 'postgres',
    env: { STORE: 'postgres', DATABASE_URL: url.toString() },
    cleanup: () =>
      withPostgres(postgresUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch((error) => {
        process.stderr.write(`could not drop the bench database ${name} (${error.message}): drop it by hand\n`);
      }),
  };
  stores.push(store);
  try {
    await withPostgres(postgresUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  } catch {
    delete store.env;
    delete store.cleanup;
    store.skipped = `no PostgreSQL at ${url.host} (set BENCH_PG_URL)`;
  }
  return stores;
}

async function status(url, init) {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

/** One trial: the lag in ms, or null when B still accepted the token after {@link POLL_LIMIT_MS}. */
async function trial(a, b) {
  const session = await login(a.url);
  const auth = { authorization: `Bearer ${session.sealed}` };
  if ((await status(`${b.url}/api/me`, { headers: auth })) !== 200) throw new Error('instance B refused a live token');
  const loggedOut = await status(`${a.url}/auth/logout`, { method: 'POST', headers: auth });
  if (loggedOut !== 204) throw new Error(`logout on A answered ${loggedOut}`);
  const started = performance.now();
  while (performance.now() - started < POLL_LIMIT_MS) {
    if ((await status(`${b.url}/api/me`, { headers: auth })) === 401) return performance.now() - started;
  }
  return null;
}

/** Starts instances A and B on `store` with keys of their own in `dir` (both load the same files). */
export async function startPair(store, { serverJs, cliJs, dir }) {
  const env = {
    ...store.env,
    PRESERVE_SESSIONS_ON_REBOOT: '1',
    PRIVATE_KEY_PASSPHRASE: 'a passphrase long enough for the bench keys',
    KEYS_DIR: path.join(dir, `${store.name}-keys`),
    LOG_LEVEL: 'silent',
    COOKIE_SECURE: 'false',
  };
  await Promise.all([cli(cliJs, ['keys', 'generate'], env), addUser(cliJs, env)]);
  const [a, b] = await Promise.all([startServer(`${store.name} A`, serverJs, env), startServer(`${store.name} B`, serverJs, env)]);
  return { store: store.name, a, b, stop: () => Promise.all([a.stop(), b.stop()]) };
}

/** Runs `trials` on a pair and reports the lag's p50/p99 in ms. */
export async function revocationLag({ store, a, b }, trials) {
  const lags = [];
  let timeouts = 0;
  for (let i = 0; i < trials; i++) {
    const lag = await trial(a, b);
    if (lag === null) timeouts++;
    else lags.push(lag);
  }
  return { store, trials, p50Ms: percentile(lags, 50), p99Ms: percentile(lags, 99), maxMs: percentile(lags, 100), timeouts };
}
