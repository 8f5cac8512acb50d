import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { JWK } from 'jose';
import { makeClientKey, openAccessToken, sealToServer } from '../helpers/client.js';
import { cli, killAll, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/runtime.js';
import { LoadRun } from './load.js';

/**
 * WORKERS=2: a primary and two node:cluster workers sharing the port round-robin, with the keys
 * handed over by the primary (they are not preserved here) and the throttle in the shared SQLite file.
 */
const PASSWORD = 'correct horse battery staple';
const temp = tempDir('jwe-auth-cluster-');
const env = { SQLITE_PATH: path.join(temp.dir, 'auth.db'), WORKERS: '2', LOGIN_RATE_LIMIT: '3', COOKIE_SECURE: 'false' };
let server: ServerProcess;

beforeAll(async () => {
  await cli(['users', 'add', 'alice', '--password-stdin'], { env, stdin: `${PASSWORD}\n` });
  server = await startServerProcess({ env });
  // Both workers listen once the primary says so (the first boots alone).
  while (!server.stdout().includes('cluster of 2 workers listening')) await new Promise((resolve) => setTimeout(resolve, 50));
}, 60_000);

afterAll(async () => {
  await killAll();
  temp.remove();
});

/** The worker processes of the primary. */
const workers = (): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(server.child.pid)], { encoding: 'utf8' })
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);

/** A request on a connection of its own, so the primary deals it to the next worker. */
const fresh = (pathname: string, init: RequestInit = {}) => fetch(`${server.url}${pathname}`, { ...init, headers: { ...init.headers, Connection: 'close' } });

const loginBody = async (password: string) => JSON.stringify({ username: 'alice', password, client_key: (await makeClientKey()).publicJwk, refresh_transport: 'body' });

describe('a cluster of two workers', () => {
  it('accepts on every worker a token issued by one: the keys and epoch are shared', async () => {
    const client = await makeClientKey();
    const res = await fresh('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD, client_key: client.publicJwk, refresh_transport: 'body' }),
    });
    expect(res.status).toBe(200);
    const jwks = (await (await fresh('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    const bearer = await sealToServer(await openAccessToken(((await res.json()) as { access_token: string }).access_token, client), jwks);
    const statuses = await Promise.all(Array.from({ length: 16 }, () => fresh('/api/me', { headers: { Authorization: `Bearer ${bearer}` } }).then((r) => r.status)));
    expect(statuses).toEqual(new Array(16).fill(200));
  });

  it('counts failed logins across workers', async () => {
    for (let i = 0; i < 3; i++) expect((await fresh('/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: await loginBody('wrong') })).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await fresh('/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: await loginBody('wrong') })).status).toBe(429);
  });

  it('starts another worker when one crashes', async () => {
    const [victim] = workers();
    process.kill(victim as number, 'SIGKILL');
    while (!(workers().length === 2 && !workers().includes(victim as number))) await new Promise((resolve) => setTimeout(resolve, 50));
    while (server.stdout().split('listening on').length < 4) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.stdout()).toContain('worker died; starting another');
    expect((await fresh('/healthz')).status).toBe(200);
  }, 30_000);

  it('drains every worker on SIGTERM under load and exits 0', async () => {
    const load = new LoadRun([server.url]);
    for (let i = 0; i < 4; i++) load.loop('readyz', () => ({ method: 'GET', path: '/readyz' }));
    await load.warmedUp(3, 1);
    const running = workers();
    load.mark();
    const exit = await server.stop(30_000);
    await load.stop();
    expect(load.failures()).toEqual([]);
    expect(exit).toEqual({ code: 0, signal: null });
    // Every loop was answered during the drain and told to go elsewhere.
    expect(load.outcomes.filter((o) => o.closing && o.status === 503)).toHaveLength(4);
    expect(server.stdout().split('"msg":"drained"').length - 1).toBe(running.length);
  }, 60_000);
});
