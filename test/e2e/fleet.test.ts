import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';
import { makeClientKey, openAccessToken, sealToServer } from '../helpers/client.js';
import { cli, killAll, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/runtime.js';

/**
 * A fleet as the contract describes it: three server processes, each with its own folders (keys
 * copied to each "host", a SQLITE_PATH of its own that must stay unused), sharing nothing but
 * PostgreSQL and, in one topology, Redis. Users are managed with the CLI against DATABASE_URL.
 */
const PASSWORD = 'correct horse battery staple';
const PASSPHRASE = 'a passphrase long enough for the keys';
/** The contract's bound for a revocation or a disabled user to hold on every other instance. */
const PROPAGATION_MS = 100;

const TOPOLOGIES = [
  { name: 'users in PostgreSQL, sessions in Redis', store: 'redis' },
  { name: 'users and sessions in PostgreSQL', store: 'postgres' },
] as const;

interface Login {
  readonly bearer: string;
  readonly refreshToken: string;
  readonly sessionId: string;
}

const post = (server: ServerProcess, route: string, bearer: string) =>
  fetch(`${server.url}${route}`, { method: 'POST', headers: { Authorization: `Bearer ${bearer}` } });
const meStatus = async (server: ServerProcess, bearer: string) => {
  const res = await fetch(`${server.url}/api/me`, { headers: { Authorization: `Bearer ${bearer}` } });
  await res.arrayBuffer();
  return res.status;
};

/** Logs in on `server` with a fresh client key and seals the access token back for the bearer header. */
async function loginAt(server: ServerProcess): Promise<Login> {
  const client = await makeClientKey();
  const res = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: PASSWORD, client_key: client.publicJwk, refresh_transport: 'body' }),
  });
  const body = (await res.json()) as { access_token: string; refresh_token: string; session_id: string };
  expect(res.status).toBe(200);
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  return { bearer: await sealToServer(await openAccessToken(body.access_token, client), jwks), refreshToken: body.refresh_token, sessionId: body.session_id };
}

/**
 * For each server, the latest time after `since` at which it still served `bearer`: the send time of
 * the last request answered 200 (0 when none was), polling until it answers 401. A 503 (a store too
 * slow on a loaded machine) serves nothing, so it is not counted as served. Requests go one after
 * another, as fast as the server answers.
 */
async function servedAfter(servers: readonly ServerProcess[], bearer: string, since: number): Promise<number[]> {
  return Promise.all(
    servers.map(async (server) => {
      let lastServed = 0;
      while (performance.now() - since < 5000) {
        const sent = performance.now();
        const status = await meStatus(server, bearer);
        if (status === 401) return lastServed;
        if (status === 200) lastServed = sent - since;
      }
      throw new Error(`${server.url} never refused the bearer`);
    }),
  );
}

describeWithPostgres('a fleet of three instances sharing only PostgreSQL and Redis', () => {
  for (const { name, store } of TOPOLOGIES) (store === 'redis' ? describeWithRedis : describe)(name, () => fleetSuite(store));
});

/** The fleet's tests for one topology. */
function fleetSuite(store: (typeof TOPOLOGIES)[number]['store']): void {
  {
    const temp = tempDir('jwe-auth-fleet-');
    const prefix = uniquePrefix('fleet');
    let database: TestDatabase;
    let servers: ServerProcess[] = [];
    let adminEnv: Record<string, string>;
    const server = (i: number) => servers[i] as ServerProcess;
    const [a, b, c] = [() => server(0), () => server(1), () => server(2)];

    /** One host's environment: its own folders, the shared database (and Redis). */
    const hostEnv = (host: string): Record<string, string> => ({
      STORE: store,
      DATABASE_URL: database.url,
      ...(store === 'redis' ? { REDIS_URL: REDIS_TEST_URL, REDIS_PREFIX: prefix } : {}),
      PRESERVE_SESSIONS_ON_REBOOT: '1',
      PRIVATE_KEY_PASSPHRASE: PASSPHRASE,
      KEYS_DIR: path.join(temp.dir, host, 'keys'),
      SQLITE_PATH: path.join(temp.dir, host, 'data', 'auth.db'),
      COOKIE_SECURE: 'false',
      LOG_LEVEL: 'silent',
    });

    beforeAll(async () => {
      database = await createTestDatabase();
      adminEnv = hostEnv('admin');
      await cli(['keys', 'generate'], { env: adminEnv });
      await cli(['users', 'add', 'alice', '--password-stdin'], { env: adminEnv, stdin: `${PASSWORD}\n` });
      const hosts = ['one', 'two', 'three'];
      for (const host of hosts) cpSync(adminEnv.KEYS_DIR as string, hostEnv(host).KEYS_DIR as string, { recursive: true });
      // A loaded machine can take long to boot three processes at once; readiness is not what is measured here.
      servers = await Promise.all(hosts.map((host) => startServerProcess({ env: hostEnv(host), readyTimeoutMs: 60_000 })));
    }, 180_000);
    afterAll(async () => {
      await killAll();
      await database?.drop();
      if (store === 'redis') await deleteKeys(REDIS_TEST_URL, prefix);
      temp.remove();
    });

    it('serves a session opened on one instance from the others, and refreshes it on a third', async () => {
      const session = await loginAt(a());
      expect(await meStatus(b(), session.bearer)).toBe(200);
      expect(await meStatus(c(), session.bearer)).toBe(200);
      const res = await fetch(`${c().url}/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refreshToken }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { session_id: string }).session_id).toBe(session.sessionId);
    });

    it('refuses a session logged out on one instance on every other within 100 ms', async () => {
      const session = await loginAt(b());
      expect(await Promise.all([a(), c()].map((s) => meStatus(s, session.bearer)))).toEqual([200, 200]);
      expect((await post(b(), '/auth/logout', session.bearer)).status).toBe(204);
      const lags = await servedAfter([a(), c()], session.bearer, performance.now());
      expect(Math.max(...lags)).toBeLessThan(PROPAGATION_MS);
    });

    it('refuses every device of the user on every instance after logout-all-devices on one', async () => {
      const [one, two] = [await loginAt(a()), await loginAt(c())];
      expect(await meStatus(b(), two.bearer)).toBe(200);
      expect((await post(b(), '/auth/logout-all-devices', one.bearer)).status).toBe(204);
      const since = performance.now();
      const lags = (await Promise.all([servedAfter([a(), c()], one.bearer, since), servedAfter([a(), b()], two.bearer, since)])).flat();
      expect(Math.max(...lags)).toBeLessThan(PROPAGATION_MS);
    });

    it('refuses a user disabled with the CLI on every instance within 100 ms, and serves them again once enabled', async () => {
      const session = await loginAt(c());
      expect(await Promise.all(servers.map((s) => meStatus(s, session.bearer)))).toEqual([200, 200, 200]);
      await cli(['users', 'disable', 'alice'], { env: adminEnv });
      const lags = await servedAfter(servers, session.bearer, performance.now());
      expect(Math.max(...lags)).toBeLessThan(PROPAGATION_MS);
      await cli(['users', 'enable', 'alice'], { env: adminEnv });
      expect(await Promise.all(servers.map((s) => meStatus(s, session.bearer)))).toEqual([200, 200, 200]);
    });

    it('never touched a SQLite file on any host, the CLI included', () => {
      for (const host of ['admin', 'one', 'two', 'three']) expect(existsSync(path.join(temp.dir, host, 'data'))).toBe(false);
    });
  }
}
