import request from 'supertest';
import { hashRefreshToken } from '../../src/tokens/refresh.js';
import { fakeClock } from '../helpers/clock.js';
import { bearerFor, login, type LoggedIn } from '../helpers/flow.js';
import { sqliteOf, startTestServer, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';
const time = fakeClock();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ REFRESH_REUSE_GRACE: '2s' }, undefined, { clock: time.clock });
  await server.addUser('alice', PASSWORD);
  await server.addUser('bob', PASSWORD);
});
afterAll(() => server.close());

const me = (bearer: string) => request(server.app).get('/api/me').set('Authorization', `Bearer ${bearer}`);
const refresh = (token: string) => request(server.app).post('/auth/refresh').send({ refresh_token: token });
const liveSessions = async (bearer: string) =>
  (await request(server.app).get('/auth/sessions').set('Authorization', `Bearer ${bearer}`).expect(200)).body.sessions as Array<{
    id: string;
    current: boolean;
  }>;

describe('refresh', () => {
  it('rotates the refresh token and re-encrypts a new access token to the same client key', async () => {
    const first = await login(server.app, 'alice', PASSWORD);
    const res = await refresh(first.refreshToken as string).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ token_type: 'Bearer', session_id: first.body.session_id });
    expect(res.body.refresh_token).not.toBe(first.refreshToken);
    const bearer = await bearerFor(server.app, res.body.access_token, first.client);
    await me(bearer).expect(200);
  });

  it('lets exactly one of 20 racing refreshes of one token leave a live successor', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(session.refreshToken as string)));
    // Within the grace window every racer is the current presentation or a duplicate: all succeed.
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const successors = results.map((r) => r.body.refresh_token as string);
    // Which successors are still live: the session's current refresh token is the only live one.
    const row = sqliteOf(server).prepare('SELECT current_refresh_hash AS hash FROM sessions WHERE id = ?').get(session.body.session_id) as { hash: string };
    const live = successors.filter((token) => hashRefreshToken(token) === row.hash);
    expect(live).toHaveLength(1);
  });

  it('keeps the session when a rotated token is presented again within the grace window', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    await refresh(session.refreshToken as string).expect(200);
    time.advance(2000);
    const again = await refresh(session.refreshToken as string).expect(200);
    await me(session.bearer).expect(200);
    await refresh(again.body.refresh_token).expect(200);
  });

  it('revokes the whole session when a rotated token is reused after the grace window', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    const next = await refresh(session.refreshToken as string).expect(200);
    time.advance(2001);
    const reuse = await refresh(session.refreshToken as string).expect(401);
    expect(reuse.body.error).toBe('invalid_grant');
    await me(session.bearer).expect(401);
    await me(await bearerFor(server.app, next.body.access_token, session.client)).expect(401);
    expect((await refresh(next.body.refresh_token).expect(401)).body.error).toBe('invalid_grant');
  });

  it('answers 401 invalid_grant for an unknown, malformed or missing refresh token', async () => {
    for (const token of ['A'.repeat(43), 'not a token', '']) {
      const res = await refresh(token);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_grant');
    }
    expect((await request(server.app).post('/auth/refresh').expect(401)).body.error).toBe('invalid_grant');
  });

  it('refreshes from the cookie and refuses a cookie-borne refresh from a foreign Origin', async () => {
    const session = await login(server.app, 'alice', PASSWORD, { transport: 'cookie' });
    expect(session.refreshToken).toBeUndefined();
    const cookie = (session.cookie as string).split(';')[0] as string;
    const foreign = await request(server.app).post('/auth/refresh').set('Cookie', cookie).set('Origin', 'https://evil.example').expect(403);
    expect(foreign.body.error).toBe('forbidden');
    const ok = await request(server.app).post('/auth/refresh').set('Cookie', cookie).expect(200);
    expect(ok.body.refresh_token).toBeUndefined();
    expect(String(ok.headers['set-cookie'])).toMatch(/^refresh_token=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/auth; Max-Age=\d+$/);
  });
});

describe('logout and revocation', () => {
  it('stops the session at once, clears the cookie, and is idempotent', async () => {
    const session = await login(server.app, 'alice', PASSWORD);
    const out = await request(server.app).post('/auth/logout').set('Authorization', `Bearer ${session.bearer}`).expect(204);
    expect(String(out.headers['set-cookie'])).toBe('refresh_token=; HttpOnly; SameSite=Strict; Path=/auth; Max-Age=0');
    await me(session.bearer).expect(401);
    expect((await refresh(session.refreshToken as string).expect(401)).body.error).toBe('invalid_grant');
    const again = await request(server.app).post('/auth/logout').set('Authorization', `Bearer ${session.bearer}`).expect(401);
    expect(again.headers['www-authenticate']).toContain('invalid_token');
  });

  it('logs out every device of the user, while a login right after still works', async () => {
    const a = await login(server.app, 'bob', PASSWORD);
    const b = await login(server.app, 'bob', PASSWORD);
    const alice = await login(server.app, 'alice', PASSWORD);
    await request(server.app).post('/auth/logout-all-devices').set('Authorization', `Bearer ${a.bearer}`).expect(204);
    await me(a.bearer).expect(401);
    await me(b.bearer).expect(401);
    await refresh(b.refreshToken as string).expect(401);
    await me(alice.bearer).expect(200);
    const fresh = await login(server.app, 'bob', PASSWORD);
    await me(fresh.bearer).expect(200);
  });

  it('lists the live sessions, marks the current one, and revokes another of the same user', async () => {
    const one = await login(server.app, 'alice', PASSWORD);
    const two = await login(server.app, 'alice', PASSWORD);
    const list = await liveSessions(one.bearer);
    expect(list.find((s) => s.id === one.body.session_id)?.current).toBe(true);
    expect(list.find((s) => s.id === two.body.session_id)?.current).toBe(false);
    expect(Object.keys(list[0] as object).sort()).toEqual(['created_at', 'current', 'id', 'last_used_at', 'user_agent']);
    await request(server.app).delete(`/auth/sessions/${two.body.session_id}`).set('Authorization', `Bearer ${one.bearer}`).expect(204);
    await me(two.bearer).expect(401);
    expect((await liveSessions(one.bearer)).some((s) => s.id === two.body.session_id)).toBe(false);
  });

  it("answers 404 for another user's session and for an unknown id, revoking nothing", async () => {
    const alice = await login(server.app, 'alice', PASSWORD);
    const bob = await login(server.app, 'bob', PASSWORD);
    const res = await request(server.app).delete(`/auth/sessions/${bob.body.session_id}`).set('Authorization', `Bearer ${alice.bearer}`).expect(404);
    expect(res.body.error).toBe('not_found');
    await request(server.app).delete('/auth/sessions/nope').set('Authorization', `Bearer ${alice.bearer}`).expect(404);
    await me(bob.bearer).expect(200);
  });
});

describe('password change', () => {
  let carol: LoggedIn;
  beforeAll(async () => {
    await server.addUser('carol', PASSWORD);
    carol = await login(server.app, 'carol', PASSWORD);
  });

  it('refuses a wrong current password or a short new one, changing nothing', async () => {
    const wrong = await request(server.app)
      .post('/auth/password')
      .set('Authorization', `Bearer ${carol.bearer}`)
      .send({ current_password: 'nope-nope', new_password: 'another good one' })
      .expect(401);
    expect(wrong.body.error).toBe('invalid_credentials');
    const short = await request(server.app)
      .post('/auth/password')
      .set('Authorization', `Bearer ${carol.bearer}`)
      .send({ current_password: PASSWORD, new_password: 'short' })
      .expect(400);
    expect(short.body.error).toBe('invalid_request');
    await login(server.app, 'carol', PASSWORD);
  });

  it('changes the password and revokes every other session of the user, keeping this one', async () => {
    const other = await login(server.app, 'carol', PASSWORD);
    await request(server.app)
      .post('/auth/password')
      .set('Authorization', `Bearer ${carol.bearer}`)
      .send({ current_password: PASSWORD, new_password: 'a brand new secret' })
      .expect(204);
    await me(carol.bearer).expect(200);
    await me(other.bearer).expect(401);
    await refresh(other.refreshToken as string).expect(401);
    await request(server.app)
      .post('/auth/login')
      .send({ username: 'carol', password: PASSWORD, client_key: carol.client.publicJwk })
      .expect(401);
    await login(server.app, 'carol', 'a brand new secret');
  });
});
