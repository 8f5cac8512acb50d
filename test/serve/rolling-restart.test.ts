import path from 'node:path';
import type { JWK } from 'jose';
import { makeClientKey, openAccessToken, sealToServer } from '../helpers/client.js';
import { cli, killAll, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/runtime.js';
import { LoadRun, slowBody } from './load.js';

/**
 * A rolling restart seen from outside: two server processes over one SQLite file and one key folder,
 * keep-alive clients on the one being stopped (logins busy hashing, slow bodies, protected requests
 * and a readiness probe), SIGTERM, and clients that move to the other instance when told
 * `Connection: close`, as a load balancer would.
 */
const PASSWORD = 'correct horse battery staple';
const PASSPHRASE = 'a passphrase long enough for the keys';

const temp = tempDir('jwe-auth-rolling-');
const env = {
  SQLITE_PATH: path.join(temp.dir, 'auth.db'),
  KEYS_DIR: path.join(temp.dir, 'keys'),
  PRESERVE_SESSIONS_ON_REBOOT: '1',
  PRIVATE_KEY_PASSPHRASE: PASSPHRASE,
  COOKIE_SECURE: 'false',
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_IP_RATE_LIMIT: '100000',
};

afterAll(async () => {
  await killAll();
  temp.remove();
});

/** A bearer for alice, obtained from `url`, sealed to the servers' shared encryption key. */
async function bearerFrom(url: string): Promise<string> {
  const client = await makeClientKey();
  const res = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: PASSWORD, client_key: client.publicJwk, refresh_transport: 'body' }),
  });
  const { access_token: token } = (await res.json()) as { access_token: string };
  const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  return sealToServer(await openAccessToken(token, client), jwks);
}

/** Puts load on `stopping` (clients fall over to `staying`), sends it SIGTERM mid-load, and checks nothing received was lost. */
async function rollOne(stopping: ServerProcess, staying: ServerProcess, bearer: string): Promise<void> {
  const clientKey = (await makeClientKey()).publicJwk;
  const login = JSON.stringify({ username: 'alice', password: PASSWORD, client_key: clientKey, refresh_transport: 'body' });
  const load = new LoadRun([stopping.url, staying.url]);
  for (let i = 0; i < 4; i++) load.loop('me', () => ({ method: 'GET', path: '/api/me', headers: { Authorization: `Bearer ${bearer}` } }));
  for (let i = 0; i < 4; i++) load.loop('login', () => ({ method: 'POST', path: '/auth/login', headers: { 'Content-Type': 'application/json' }, body: login }));
  load.loop('readyz', () => ({ method: 'GET', path: '/readyz' }));
  await load.warmedUp(2, 3);
  const slow = [slowBody(stopping.url, '/auth/login', login, 10, 150), slowBody(stopping.url, '/auth/login', login, 10, 150)];
  // The slow bodies' headers are in once the other clients had a few more answers.
  const seen = load.outcomes.length;
  while (load.outcomes.length < seen + 8) await new Promise((resolve) => setTimeout(resolve, 10));

  load.mark();
  const exit = await stopping.stop(30_000);
  const slowOutcomes = await Promise.all(slow);
  await load.stop();

  expect(load.failures()).toEqual([]);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(stopping.stdout()).toContain('"msg":"drained"');
  for (const outcome of slowOutcomes) expect(outcome).toEqual({ status: 200, closing: true });
  const fromStopping = load.outcomes.filter((outcome) => outcome.url === stopping.url);
  // Logins hashing when the signal came were answered, with Connection: close.
  expect(fromStopping.filter((o) => o.kind === 'login' && o.spannedMark && o.status === 200 && o.closing).length).toBeGreaterThan(0);
  // Readiness turned 503 on the instance that was stopping, while it answered the rest.
  expect(fromStopping.some((o) => o.kind === 'readyz' && o.status === 503 && o.closing)).toBe(true);
  expect(fromStopping.filter((o) => o.kind !== 'readyz' && o.status !== 200)).toEqual([]);
  // Everyone carried on against the other instance.
  for (const kind of ['me', 'login']) expect(load.outcomes.some((o) => o.kind === kind && o.url === staying.url && o.status === 200)).toBe(true);
}

describe('SIGTERM under load, in a rolling restart of two instances', () => {
  it('answers every request it received (no connection reset), closes keep-alive connections, and exits 0, twice in a row', async () => {
    await cli(['keys', 'generate'], { env });
    await cli(['users', 'add', 'alice', '--password-stdin'], { env, stdin: `${PASSWORD}\n` });
    const first = await startServerProcess({ env });
    const second = await startServerProcess({ env });
    const bearer = await bearerFrom(first.url);

    await rollOne(first, second, bearer);
    const restarted = await startServerProcess({ env });
    await rollOne(second, restarted, bearer);
    expect(await restarted.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);
});
