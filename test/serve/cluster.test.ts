import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { JWK } from 'jose';
import { makeClientKey, openAccessToken, sealToServer } from '../helpers/client.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { cli, freePort, killAll, startServerExpectingFailure, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/runtime.js';
import { LoadRun } from './load.js';

/**
 * WORKERS=2: a primary and two node:cluster workers sharing the port round-robin, with the keys
 * handed over by the primary (they are not preserved here), the throttle and the DPoP proof ids in
 * the shared SQLite file, and the metrics served by the primary. Which worker answered a request is
 * read from the `pid` of its access log line.
 */
const PASSWORD = 'correct horse battery staple';
const ISSUER = 'https://auth.example';
const temp = tempDir('jwe-auth-cluster-');
const env: Record<string, string> = { SQLITE_PATH: path.join(temp.dir, 'auth.db'), WORKERS: '2', LOGIN_RATE_LIMIT: '3', COOKIE_SECURE: 'false', ISSUER };
let server: ServerProcess;

beforeAll(async () => {
  env.METRICS_PORT = String(await freePort());
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

let requests = 0;
/**
 * A request on a connection of its own, so the primary deals it to the next worker; it carries a
 * fresh `X-Request-Id`, returned as `id` for {@link answeredBy}.
 */
const fresh = async (pathname: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
  const id = `cluster-test-${++requests}`;
  const res = await fetch(`${server.url}${pathname}`, { ...init, headers: { ...init.headers, Connection: 'close', 'X-Request-Id': id } });
  return Object.assign(res, { id });
};

/** The pid of the worker whose access log line has this request id (the line follows the response). */
async function answeredBy(id: string): Promise<number> {
  for (;;) {
    const line = server.stdout().split('\n').find((l) => l.includes(`"request_id":"${id}"`));
    if (line) return (JSON.parse(line) as { pid: number }).pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const loginBody = async (password: string) => JSON.stringify({ username: 'alice', password, client_key: (await makeClientKey()).publicJwk, refresh_transport: 'body' });
const json = { 'Content-Type': 'application/json' };

/** One scrape of the cluster's metrics port. */
const scrape = async () => {
  const res = await fetch(`http://127.0.0.1:${env.METRICS_PORT}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
};

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

  it('names the metrics URL in the primary\'s line, and stops with one line when METRICS_PORT is taken', async () => {
    const ready = server.stdout().split('\n').find((line) => line.includes('cluster of 2 workers listening'));
    expect(JSON.parse(ready as string)).toMatchObject({ pid: server.child.pid, metrics: `http://127.0.0.1:${env.METRICS_PORT}/metrics` });
    // A second cluster on the same metrics port: the primary refuses before forking any worker.
    const taken = await startServerExpectingFailure({ env: { ...env, SQLITE_PATH: path.join(temp.dir, 'other.db') } });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe(`jwe-auth-server: cannot listen on port ${env.METRICS_PORT} of 127.0.0.1 (METRICS_PORT): it is already in use (EADDRINUSE)\n`);
    expect(taken.stdout).not.toContain('listening on');
  });

  it('serves one scrape, from the primary, with the requests of both workers summed', async () => {
    const jwks = { method: 'GET', route: '/.well-known/jwks.json', status: '200' };
    const before = valueOf(await scrape(), 'jwe_auth_http_requests_total', jwks);
    const answers = await Promise.all(Array.from({ length: 10 }, () => fresh('/.well-known/jwks.json')));
    expect(answers.map((res) => res.status)).toEqual(new Array(10).fill(200));
    // Both workers answered some, so one worker's own count would fall short of ten.
    expect(new Set(await Promise.all(answers.map((res) => answeredBy(res.id))))).toEqual(new Set(workers()));
    expect(valueOf(await scrape(), 'jwe_auth_http_requests_total', jwks) - before).toBe(10);
  });

  it('refuses on every worker a DPoP proof that one worker accepted', async () => {
    const key = await makeProofKey();
    const client = await makeClientKey();
    const login = await fresh('/auth/login', {
      method: 'POST',
      headers: { ...json, DPoP: await makeProof(key, { htm: 'POST', htu: `${ISSUER}/auth/login` }) },
      body: JSON.stringify({ username: 'alice', password: PASSWORD, client_key: client.publicJwk, refresh_transport: 'body' }),
    });
    expect(login.status).toBe(200);
    const jwks = (await (await fresh('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    const sealed = await sealToServer(await openAccessToken(((await login.json()) as { access_token: string }).access_token, client), jwks);
    const once = await makeProof(key, { htm: 'GET', htu: `${ISSUER}/api/me`, token: sealed });
    const me = () => fresh('/api/me', { headers: { Authorization: `DPoP ${sealed}`, DPoP: once } });

    const accepted = await me();
    expect(accepted.status).toBe(200);
    const replays = [await me(), await me(), await me()];
    for (const replay of replays) expect([replay.status, ((await replay.json()) as { error: string }).error]).toEqual([401, 'invalid_dpop_proof']);
    // At least one replay reached the worker that did not see the proof.
    const acceptedBy = await answeredBy(accepted.id);
    expect((await Promise.all(replays.map((res) => answeredBy(res.id)))).some((pid) => pid !== acceptedBy)).toBe(true);
  });

  it('counts failed logins across workers: the limit holds whichever worker gets the next attempt', async () => {
    const failed = [];
    for (let i = 0; i < 3; i++) failed.push(await fresh('/auth/login', { method: 'POST', headers: json, body: await loginBody('wrong') }));
    expect(failed.map((res) => res.status)).toEqual([401, 401, 401]);
    const refused = [];
    for (let i = 0; i < 4; i++) refused.push(await fresh('/auth/login', { method: 'POST', headers: json, body: await loginBody('wrong') }));
    expect(refused.map((res) => res.status)).toEqual([429, 429, 429, 429]);
    // Failures were counted on both workers, and both refused.
    expect(new Set(await Promise.all(failed.map((res) => answeredBy(res.id))))).toEqual(new Set(workers()));
    expect(new Set(await Promise.all(refused.map((res) => answeredBy(res.id))))).toEqual(new Set(workers()));
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
