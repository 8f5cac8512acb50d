import request from 'supertest';
import { captureLog, type CapturedLog } from '../helpers/log.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('the access log', () => {
  let log: CapturedLog;
  let server: TestServer;

  beforeAll(async () => {
    log = captureLog();
    server = await startTestServer({}, undefined, { logger: log.logger });
  });
  afterAll(() => server.close());

  const accessLines = () => log.lines().filter((line) => line.msg === 'request');
  const lastAccess = () => accessLines().at(-1) as Record<string, unknown>;

  it('writes one JSON line per request: method, route pattern, status, duration, request id, client IP', async () => {
    const before = accessLines().length;
    const res = await request(server.app).delete('/auth/sessions/6d1c1a4e-3f9a-4c9e-9a53-5b0c43c0a001').set('Authorization', 'Bearer x.y.z.w.v');
    expect(res.status).toBe(401);
    expect(accessLines()).toHaveLength(before + 1);
    const line = lastAccess();
    expect(line).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: expect.any(Number),
      hostname: expect.any(String),
      request_id: res.headers['x-request-id'],
      method: 'DELETE',
      route: '/auth/sessions/:id',
      status: 401,
      duration_ms: expect.any(Number),
      ip: expect.stringMatching(/127\.0\.0\.1$/),
      msg: 'request',
    });
  });

  it('makes a request id when none is sent, and echoes it', async () => {
    const res = await request(server.app).get('/healthz').expect(200);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(lastAccess()).toMatchObject({ request_id: res.headers['x-request-id'], route: '/healthz', status: 200 });
  });

  it('keeps a sane X-Request-Id and echoes it', async () => {
    const id = 'req-01HZX3K4:edge.7_a';
    const res = await request(server.app).get('/healthz').set('X-Request-Id', id).expect(200);
    expect(res.headers['x-request-id']).toBe(id);
    expect(lastAccess()).toMatchObject({ request_id: id });
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['with a space', 'two words'],
    ['with markup', '<script>'],
    ['with a quote', 'a"b'],
  ])('replaces an X-Request-Id %s with a fresh one', async (_case, presented) => {
    const res = await request(server.app).get('/healthz').set('X-Request-Id', presented).expect(200);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(log.text()).not.toContain(presented);
  });

  it('gives the other lines of a request its request id', async () => {
    const res = await request(server.app).get('/api/me').set('Authorization', 'Bearer not.a.real.token.at-all').set('X-Request-Id', 'trace-7').expect(401);
    expect(res.headers['x-request-id']).toBe('trace-7');
    expect(log.lines().filter((line) => line.request_id === 'trace-7').map((line) => line.msg)).toEqual(['token refused', 'request']);
  });

  it('names requests no route handled "unmatched", and never writes the raw path or query', async () => {
    await request(server.app).get('/wp-admin/setup.php?token=hunter2').expect(404);
    expect(lastAccess()).toMatchObject({ method: 'GET', route: 'unmatched', status: 404 });
    expect(log.text()).not.toContain('wp-admin');
    expect(log.text()).not.toContain('hunter2');
  });

  it('names a malformed JSON body by the route that refused it, and one sent to no route "unmatched", with its 400', async () => {
    await request(server.app).post('/auth/login').set('Content-Type', 'application/json').send('{"password": "hunter2"').expect(400);
    expect(lastAccess()).toMatchObject({ method: 'POST', route: '/auth/login', status: 400 });
    await request(server.app).post('/no/such/route').set('Content-Type', 'application/json').send('{"password": "hunter3"').expect(400);
    expect(lastAccess()).toMatchObject({ method: 'POST', route: 'unmatched', status: 400 });
    expect(log.text()).not.toMatch(/hunter[23]/);
  });

  it('writes no header value and no body, whatever the request carries', async () => {
    const secrets = { authorization: 'Bearer s3cret-bearer-value', cookie: 'refresh_token=s3cret-cookie-value', dpop: 's3cret-proof-value' };
    await request(server.app)
      .post('/auth/password')
      .set('Authorization', secrets.authorization)
      .set('Cookie', secrets.cookie)
      .set('DPoP', secrets.dpop)
      .set('User-Agent', 's3cret-agent')
      .send({ current_password: 's3cret-current', new_password: 's3cret-new-password' })
      .expect(401);
    expect(lastAccess()).toMatchObject({ route: '/auth/password', status: 401 });
    expect(log.text()).not.toMatch(/s3cret/);
  });
});
