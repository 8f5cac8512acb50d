/**
 * Ports, child environments and probes shared by the test helpers and the bench (bench/lib/): plain
 * JavaScript so `npm run bench` loads it as it is; its types are in probes.d.mts.
 */
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';

/** A port nobody listened on a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** PATH, HOME and the temp dirs of this process plus `env`: a child never sees the caller's other settings. */
export function childEnv(env = {}) {
  const base = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'TEMP', 'TMP', 'SystemRoot']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return { ...base, ...env };
}

/** Whether the server at `url` answers GET /healthz with 200 within a second. */
export async function healthy(url) {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Whether a Redis at `url` answers PING within about a second. */
export async function probeRedis(url) {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 800,
    commandTimeout: 800,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    // ioredis keeps a 2 s timer after disconnecting a connection that never opened.
    disconnectTimeout: 100,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Runs `step` on a short-lived PostgreSQL connection to `url` (a second to connect, 10 s per query). */
export async function withPostgres(url, step) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000, query_timeout: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await step(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
