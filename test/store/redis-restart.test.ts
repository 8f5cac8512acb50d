import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../src/config/index.js';
import { generateKeyFiles } from '../../src/keys/key-files.js';
import { login } from '../helpers/flow.js';
import { deleteKeys, describeWithRedis, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';

describeWithRedis('restarting an instance over the same Redis', () => {
  const temp = tempDir();
  const prefix = uniquePrefix('restart');
  const base = {
    STORE: 'redis',
    REDIS_URL: REDIS_TEST_URL,
    REDIS_PREFIX: prefix,
    KEYS_DIR: path.join(temp.dir, 'keys'),
    PRIVATE_KEY_PASSPHRASE: 'a long enough test passphrase',
  };
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    await deleteKeys(REDIS_TEST_URL, prefix);
    temp.remove();
  });

  it('keeps sessions and revocations when preserving', async () => {
    const env = { ...base, PRESERVE_SESSIONS_ON_REBOOT: '1' };
    await generateKeyFiles(loadConfig(env), false);
    server = await startTestServer(env, temp.dir);
    await server.addUser('alice', PASSWORD);
    const kept = await login(server.app, 'alice', PASSWORD);
    const revoked = await login(server.app, 'alice', PASSWORD);
    await request(server.app).post('/auth/logout').set('Authorization', `Bearer ${revoked.bearer}`).expect(204);
    await server.runtime.close();

    server = await startTestServer(env, temp.dir);
    await request(server.app).get('/api/me').set('Authorization', `Bearer ${kept.bearer}`).expect(200);
    await request(server.app).get('/api/me').set('Authorization', `Bearer ${revoked.bearer}`).expect(401);
    await request(server.app).post('/auth/refresh').send({ refresh_token: kept.refreshToken }).expect(200);
    expect((await request(server.app).post('/auth/refresh').send({ refresh_token: revoked.refreshToken }).expect(401)).body.error).toBe('invalid_grant');
  });

  it('honours no earlier token when not preserving', async () => {
    const env = { ...base, PRESERVE_SESSIONS_ON_REBOOT: '0', REDIS_PREFIX: `${prefix}off:` };
    server = await startTestServer(env, temp.dir);
    await server.addUser('bob', PASSWORD);
    const before = await login(server.app, 'bob', PASSWORD);
    await server.runtime.close();

    server = await startTestServer(env, temp.dir);
    expect((await request(server.app).get('/api/me').set('Authorization', `Bearer ${before.bearer}`).expect(401)).body.error).toBe('invalid_token');
    expect((await request(server.app).post('/auth/refresh').send({ refresh_token: before.refreshToken }).expect(401)).body.error).toBe('invalid_grant');
  });
});
