import path from 'node:path';
import request from 'supertest';
import { auditLinesOf, runInProcess } from '../helpers/cli.js';
import { login } from '../helpers/flow.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { startTestServer, tempDirPerTest, type TestServer } from '../helpers/runtime.js';

/**
 * `jwe-auth users passwd <name> --password-stdin` beside a running server on the same configuration:
 * the new password works, the old one does not, and every session of the user ends at once.
 */
const OLD_PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'another horse, another battery';
const SLOW = 60_000;

const dir = tempDirPerTest('jwe-auth-passwd-');

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The environment of the server and the CLI alike. */
const baseEnv = () => ({ SQLITE_PATH: path.join(dir(), 'auth.db'), KEYS_DIR: path.join(dir(), 'keys') });

async function expectResetEndsEverySession(env: Record<string, string>): Promise<void> {
  const running = (server = await startTestServer(env, dir()));
  const aliceId = await running.addUser('alice', OLD_PASSWORD);
  const bobId = await running.addUser('bob', OLD_PASSWORD);
  const phone = await login(running.app, 'alice', OLD_PASSWORD);
  const laptop = await login(running.app, 'alice', OLD_PASSWORD);
  const bob = await login(running.app, 'bob', OLD_PASSWORD);
  const me = (bearer: string) => request(running.app).get('/api/me').set('Authorization', `Bearer ${bearer}`);
  await me(phone.bearer).expect(200);

  const result = await runInProcess(['users', 'passwd', 'alice', '--password-stdin'], { env, stdin: `${NEW_PASSWORD}\n` });
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: 'changed the password of alice; ended 2 session(s)\n' });
  expect(auditLinesOf(result.stderr)).toEqual([expect.objectContaining({ event: 'user_password_reset', username: 'alice', user_id: aliceId, sessions_ended: 2 })]);
  expect(result.stderr).not.toContain(NEW_PASSWORD);

  for (const session of [phone, laptop]) {
    expect((await me(session.bearer)).status).toBe(401);
    expect((await request(running.app).post('/auth/refresh').send({ refresh_token: session.refreshToken })).status).toBe(401);
  }
  await me(bob.bearer).expect(200);
  expect(await running.runtime.sessions.listSessions(bobId)).toHaveLength(1);
  const oldLogin = await request(running.app).post('/auth/login').send({ username: 'alice', password: OLD_PASSWORD, client_key: phone.client.publicJwk });
  expect({ status: oldLogin.status, error: oldLogin.body.error as unknown }).toEqual({ status: 401, error: 'invalid_credentials' });
  await login(running.app, 'alice', NEW_PASSWORD);
}

it('sets the password and ends every session of the user in the SQLite store', () => expectResetEndsEverySession(baseEnv()), SLOW);

it('refuses STORE=memory, whose sessions the CLI cannot reach, and changes nothing', async () => {
  const running = (server = await startTestServer(baseEnv(), dir()));
  await running.addUser('alice', OLD_PASSWORD);
  const result = await runInProcess(['users', 'passwd', 'alice', '--password-stdin'], { env: { ...baseEnv(), STORE: 'memory' }, stdin: NEW_PASSWORD });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^jwe-auth: STORE=memory [^\n]+\n$/);
  await login(running.app, 'alice', OLD_PASSWORD);
}, SLOW);

it('refuses a password that is too short, and changes nothing', async () => {
  const running = (server = await startTestServer(baseEnv(), dir()));
  await running.addUser('alice', OLD_PASSWORD);
  const session = await login(running.app, 'alice', OLD_PASSWORD);
  const result = await runInProcess(['users', 'passwd', 'alice', '--password-stdin'], { env: baseEnv(), stdin: 'short\n' });
  expect({ code: result.code, lines: result.stderr.split('\n').length }).toEqual({ code: 1, lines: 2 });
  await request(running.app).get('/api/me').set('Authorization', `Bearer ${session.bearer}`).expect(200);
  await login(running.app, 'alice', OLD_PASSWORD);
}, SLOW);

describeWithRedis('users passwd with STORE=redis', () => {
  const prefix = uniquePrefix('passwd');
  afterAll(() => deleteKeys(REDIS_TEST_URL, prefix));

  it('ends every session of the user in Redis', () => expectResetEndsEverySession({ ...baseEnv(), STORE: 'redis', REDIS_URL: REDIS_TEST_URL, REDIS_PREFIX: prefix }), SLOW);
});
