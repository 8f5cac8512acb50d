import { exportJWK } from 'jose';
import request from 'supertest';
import { bearerFor, login } from '../helpers/flow.js';
import { captureLog } from '../helpers/log.js';
import { startTestServer, whileLocked } from '../helpers/runtime.js';

const PASSWORD = 'first-password correct horse';
const NEW_PASSWORD = 'second-password battery staple';

/** A secret and, for compact tokens, each of its dot-separated parts long enough to identify it. */
const fragments = (secret: string): string[] => [secret, ...secret.split('.').filter((part) => part.length >= 16)];

it('logs a whole flow without one secret it used: passwords, refresh tokens, access tokens, bearers, keys', async () => {
  const log = captureLog();
  const server = await startTestServer({}, undefined, { logger: log.logger });
  const secrets: string[] = [PASSWORD, NEW_PASSWORD];
  try {
    await server.addUser('alice', PASSWORD);
    const app = server.app;
    const me = (bearer: string) => request(app).get('/api/me').set('Authorization', `Bearer ${bearer}`);

    // Login with the refresh token in the body, and a second session with it in the cookie.
    const phone = await login(app, 'alice', PASSWORD);
    const laptop = await login(app, 'alice', PASSWORD, { transport: 'cookie' });
    const cookieValue = (laptop.cookie ?? '').split(';')[0]?.split('=')[1] ?? '';
    expect(cookieValue).toHaveLength(43);
    secrets.push(phone.accessToken, phone.jws, phone.bearer, phone.refreshToken as string, laptop.accessToken, laptop.jws, laptop.bearer, cookieValue);
    secrets.push(String((await exportJWK(phone.client.privateKey)).d));

    await me(phone.bearer).expect(200);
    await request(app).get('/auth/verify').set('Authorization', `Bearer ${phone.bearer}`).expect(200);

    // Refresh both ways; present the first refresh token again after rotation.
    const rotated = await request(app).post('/auth/refresh').send({ refresh_token: phone.refreshToken }).expect(200);
    secrets.push(rotated.body.refresh_token, rotated.body.access_token);
    const refreshedBearer = await bearerFor(app, rotated.body.access_token, phone.client);
    secrets.push(refreshedBearer);
    const cookieRefresh = await request(app).post('/auth/refresh').set('Cookie', `refresh_token=${cookieValue}`).expect(200);
    secrets.push(String(cookieRefresh.headers['set-cookie']).split(';')[0]?.split('=')[1] ?? '', cookieRefresh.body.access_token);

    // Refusals: a tampered bearer, a wrong password, a store that cannot answer.
    const tampered = `${refreshedBearer.slice(0, -4)}AAAA`;
    secrets.push(tampered);
    await me(tampered).expect(401);
    await request(app).post('/auth/login').send({ username: 'alice', password: `${PASSWORD}-wrong`, client_key: phone.client.publicJwk }).expect(401);
    secrets.push(`${PASSWORD}-wrong`);
    await whileLocked(server, async () => {
      await request(app).post('/auth/refresh').send({ refresh_token: rotated.body.refresh_token }).expect(503);
    });

    // Password change (revokes the laptop), then logout.
    await request(app).post('/auth/password').set('Authorization', `Bearer ${refreshedBearer}`).send({ current_password: PASSWORD, new_password: NEW_PASSWORD }).expect(204);
    await me(laptop.bearer).expect(401);
    await request(app).post('/auth/logout').set('Authorization', `Bearer ${refreshedBearer}`).expect(204);
    await me(refreshedBearer).expect(401);
  } finally {
    await server.close();
  }

  const text = log.text();
  expect(log.lines().filter((line) => line.msg === 'request').length).toBeGreaterThanOrEqual(15);
  const leaked = secrets.flatMap(fragments).filter((fragment) => text.includes(fragment));
  expect(leaked).toEqual([]);
});
