import request from 'supertest';
import type { Express } from 'express';
import { login } from '../helpers/flow.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';
const refresh = (app: Express, token: string) => request(app).post('/auth/refresh').send({ refresh_token: token });
const me = (app: Express, bearer: string) => request(app).get('/api/me').set('Authorization', `Bearer ${bearer}`);

describe('a refresh answers for the state of the user now, not at login', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('refuses a disabled user and ends the session, which stays ended once the user is enabled again', async () => {
    await server.addUser('dana', PASSWORD);
    const dana = await login(server.app, 'dana', PASSWORD);
    await server.runtime.users.setDisabled('dana', true);
    const res = await refresh(server.app, dana.refreshToken as string).expect(401);
    expect(res.body.error).toBe('invalid_grant');
    await server.runtime.users.setDisabled('dana', false);
    await me(server.app, dana.bearer).expect(401);
    expect((await refresh(server.app, dana.refreshToken as string).expect(401)).body.error).toBe('invalid_grant');
  });

  it('refuses a deleted user, even when a new user of the same name exists', async () => {
    await server.addUser('erin', PASSWORD);
    const erin = await login(server.app, 'erin', PASSWORD);
    await server.runtime.users.remove('erin');
    await server.addUser('erin', PASSWORD);
    expect((await refresh(server.app, erin.refreshToken as string).expect(401)).body.error).toBe('invalid_grant');
  });

  it('still refreshes an enabled user (the two refusals above are about the user)', async () => {
    await server.addUser('fay', PASSWORD);
    const fay = await login(server.app, 'fay', PASSWORD);
    await refresh(server.app, fay.refreshToken as string).expect(200);
  });
});

describe('sessions of an earlier boot (keys not preserved) are never honoured', () => {
  const shared = tempDir();
  let before: TestServer;
  let after: TestServer;
  let earlier: Awaited<ReturnType<typeof login>>;
  beforeAll(async () => {
    // Two boots over one SQLite file: the second has fresh keys and a new session epoch.
    before = await startTestServer({}, shared.dir);
    await before.addUser('gus', PASSWORD);
    earlier = await login(before.app, 'gus', PASSWORD);
    after = await startTestServer({}, shared.dir);
  });
  afterAll(async () => {
    await before.close();
    await after.close();
    shared.remove();
  });

  it('lists only the sessions of this boot', async () => {
    const now = await login(after.app, 'gus', PASSWORD);
    const res = await request(after.app).get('/auth/sessions').set('Authorization', `Bearer ${now.bearer}`).expect(200);
    expect((res.body.sessions as Array<{ id: string }>).map((s) => s.id)).toEqual([now.body.session_id]);
  });

  it('cannot revoke a session of an earlier boot, and cannot refresh it', async () => {
    const now = await login(after.app, 'gus', PASSWORD);
    await request(after.app).delete(`/auth/sessions/${earlier.body.session_id}`).set('Authorization', `Bearer ${now.bearer}`).expect(404);
    expect((await refresh(after.app, earlier.refreshToken as string).expect(401)).body.error).toBe('invalid_grant');
  });
});
