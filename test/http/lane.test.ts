import { jest } from '@jest/globals';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import request from 'supertest';
import { createApp } from '../../src/http/app.js';
import { FastLane } from '../../src/http/lane.js';
import { login, type LoggedIn } from '../helpers/flow.js';
import { captureLog, type CapturedLog } from '../helpers/log.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';

/** Whether Express's router saw a request of `app` while `send` ran. */
async function routerSaw(app: Express, send: () => Promise<unknown>): Promise<boolean> {
  const router = (app as unknown as { router: { handle: (...args: unknown[]) => unknown } }).router;
  const spy = jest.spyOn(router, 'handle');
  try {
    await send();
    return spy.mock.calls.length > 0;
  } finally {
    spy.mockRestore();
  }
}

/** Headers two answers must share: all but the per-answer ones. */
function comparableHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const { date: _date, 'x-request-id': _id, ...rest } = headers;
  return rest;
}

describe('the fast lane against the router, answer for answer', () => {
  let server: TestServer;
  let log: CapturedLog;
  let reference: Express;
  let alice: LoggedIn;
  let loggedOut: LoggedIn;

  beforeAll(async () => {
    log = captureLog();
    server = await startTestServer({ TRUST_PROXY: '1', METRICS_PORT: '0' }, undefined, { logger: log.logger });
    await server.addUser('alice', PASSWORD);
    reference = createApp(server.runtime, { fastLane: false });
    alice = await login(server.app, 'alice', PASSWORD);
    loggedOut = await login(server.app, 'alice', PASSWORD);
    await request(server.app).post('/auth/logout').set('Authorization', `Bearer ${loggedOut.bearer}`).expect(204);
  });
  afterAll(() => server.close());

  type Case = { name: string; method: 'get' | 'head' | 'post' | 'options'; path: string; headers: () => Record<string, string>; lane: boolean };
  const cases: Case[] = [
    { name: 'a live Bearer token', method: 'get', path: '/api/me', headers: () => ({ Authorization: `Bearer ${alice.bearer}` }), lane: true },
    { name: 'HEAD with a live Bearer token', method: 'head', path: '/api/me', headers: () => ({ Authorization: `Bearer ${alice.bearer}` }), lane: true },
    { name: 'a query string', method: 'get', path: '/api/me?view=full', headers: () => ({ Authorization: `Bearer ${alice.bearer}` }), lane: true },
    { name: 'the scheme in lower case', method: 'get', path: '/api/me', headers: () => ({ Authorization: `bearer ${alice.bearer}` }), lane: true },
    { name: 'a client address behind the trusted proxy', method: 'get', path: '/api/me', headers: () => ({ Authorization: `Bearer ${alice.bearer}`, 'X-Forwarded-For': '203.0.113.7' }), lane: true },
    { name: 'a token that is no JWE', method: 'get', path: '/api/me', headers: () => ({ Authorization: 'Bearer not-a-token' }), lane: true },
    { name: 'the token of a logged-out session', method: 'get', path: '/api/me', headers: () => ({ Authorization: `Bearer ${loggedOut.bearer}` }), lane: true },
    { name: 'two spaces after the scheme', method: 'get', path: '/api/me', headers: () => ({ Authorization: `Bearer  ${alice.bearer}` }), lane: true },
    { name: 'no Authorization header', method: 'get', path: '/api/me', headers: () => ({}), lane: false },
    { name: 'an empty Bearer', method: 'get', path: '/api/me', headers: () => ({ Authorization: 'Bearer ' }), lane: false },
    { name: 'the DPoP scheme', method: 'get', path: '/api/me', headers: () => ({ Authorization: `DPoP ${alice.bearer}` }), lane: false },
    { name: 'a trailing slash', method: 'get', path: '/api/me/', headers: () => ({ Authorization: `Bearer ${alice.bearer}` }), lane: false },
    { name: 'another spelling of the path', method: 'get', path: '/API/Me', headers: () => ({ Authorization: `Bearer ${alice.bearer}` }), lane: false },
    { name: 'POST', method: 'post', path: '/api/me', headers: () => ({ Authorization: `Bearer ${alice.bearer}` }), lane: false },
    { name: 'OPTIONS', method: 'options', path: '/api/me', headers: () => ({}), lane: false },
  ];

  it.each(cases)('$name: the same status, headers, body and access line; the router skipped only where the lane takes it', async (spec) => {
    const send = (app: Express, id: string) => request(app)[spec.method](spec.path).set({ ...spec.headers(), 'X-Request-Id': id });
    const id = `${spec.method}-${cases.indexOf(spec)}`;
    let laneAnswer: request.Response | undefined;
    let referenceAnswer: request.Response | undefined;
    const laneUsedRouter = await routerSaw(server.app, async () => (laneAnswer = await send(server.app, `lane-${id}`)));
    const referenceUsedRouter = await routerSaw(reference, async () => (referenceAnswer = await send(reference, `ref-${id}`)));
    const [a, b] = [laneAnswer as request.Response, referenceAnswer as request.Response];

    expect(referenceUsedRouter).toBe(true);
    expect(laneUsedRouter).toBe(!spec.lane);
    expect(a.status).toBe(b.status);
    expect(a.text).toBe(b.text);
    expect(comparableHeaders(a.headers)).toEqual(comparableHeaders(b.headers));
    expect(a.headers['x-request-id']).toBe(`lane-${id}`);

    const line = (requestId: string) => {
      const found = log.lines().filter((l) => l.request_id === requestId && l.msg === 'request');
      expect(found).toHaveLength(1);
      const { method, route, status, ip } = found[0] as Record<string, unknown>;
      return { method, route, status, ip };
    };
    expect(line(`lane-${id}`)).toEqual(line(`ref-${id}`));
  });

  it('serves a live Bearer request on the lane with the route, the client address and the metrics of the router', async () => {
    const metrics = server.runtime.metrics;
    if (!metrics) throw new Error('METRICS_PORT is set, so the runtime has metrics');
    const count = async () => (await metrics.httpRequests.get()).values.find((v) => v.labels.route === '/api/me' && v.labels.status === '200')?.value ?? 0;
    const before = await count();
    const res = await request(server.app).get('/api/me').set({ Authorization: `Bearer ${alice.bearer}`, 'X-Forwarded-For': '198.51.100.4', 'X-Request-Id': 'lane-ip' }).expect(200);
    expect(res.body).toEqual({ sub: expect.any(String), username: 'alice', session_id: expect.any(String) });
    expect(await count()).toBe(before + 1);
    expect(log.lines().find((l) => l.request_id === 'lane-ip')).toEqual(expect.objectContaining({ route: '/api/me', status: 200, ip: '198.51.100.4' }));
    // The security headers and the no-store answer of the built-in route.
    expect(res.headers).toEqual(expect.objectContaining({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' }));
  });

  it('answers a refusal on the lane through the error handler: the uniform 401 with its challenge, the reason logged with the request id', async () => {
    const res = await request(server.app).get('/api/me').set({ Authorization: `Bearer ${loggedOut.bearer}`, 'X-Request-Id': 'lane-refused' }).expect(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: expect.any(String) });
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(log.lines().find((l) => l.request_id === 'lane-refused' && l.msg === 'token refused')).toEqual(expect.objectContaining({ path: '/api/me' }));
  });
});

describe('FastLane', () => {
  const errors: unknown[] = [];
  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    errors.push(error);
    // The error handler gets Express's request and response, as the router would give them.
    res.status(500).json({ error: String((error as Error).message), path: req.path });
  };
  const notFound: RequestHandler = (req, res) => {
    res.status(404).json({ error: 'not_found', path: req.path });
  };

  /** An app whose GET /lane the lane serves with `handlers` (for requests with `X-Lane`), the router otherwise. */
  function appWith(...handlers: RequestHandler[]): Express {
    const app = express();
    const front: RequestHandler = (_req, res, next) => {
      res.setHeader('X-Front', 'yes');
      next();
    };
    app.use(front);
    app.get('/lane', (_req, res) => {
      res.json({ by: 'router' });
    });
    app.use(notFound);
    app.use(onError);
    const lane = new FastLane();
    lane.use(front);
    lane.get('/lane', (req) => req.headers['x-lane'] !== undefined, ...handlers);
    lane.end(notFound, onError);
    lane.install(app);
    return app;
  }

  beforeEach(() => errors.splice(0));

  it('runs the front middleware and the handlers on Node’s own request and response, with res.locals', async () => {
    const seen: string[] = [];
    const app = appWith(
      (req, res, next) => {
        seen.push(typeof (req as { get?: unknown }).get, typeof (res as { json?: unknown }).json, String(res.locals.routeLabel));
        next();
      },
      (_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end('{"by":"lane"}');
      },
    );
    const res = await request(app).get('/lane').set('X-Lane', '1').expect(200);
    expect(res.body).toEqual({ by: 'lane' });
    expect(res.headers['x-front']).toBe('yes');
    expect(seen).toEqual(['undefined', 'undefined', '/lane']);
    // Not taken: the router answers.
    expect((await request(app).get('/lane').expect(200)).body).toEqual({ by: 'router' });
  });

  it('ends a chain whose handlers all call next() with the 404 handler, on Express’s request and response', async () => {
    const app = appWith((_req, _res, next) => next());
    expect((await request(app).get('/lane?q=1').set('X-Lane', '1').expect(404)).body).toEqual({ error: 'not_found', path: '/lane' });
    expect(errors).toEqual([]);
  });

  it.each([
    ['an error passed to next()', ((_req, _res, next) => next(new Error('passed'))) as RequestHandler, 'passed'],
    ['a thrown error', (() => {
      throw new Error('thrown');
    }) as RequestHandler, 'thrown'],
    ['a rejected promise', (async () => {
      await Promise.resolve();
      throw new Error('rejected');
    }) as RequestHandler, 'rejected'],
    ["next('route'), which the lane cannot follow", ((_req, _res, next) => next('route')) as RequestHandler, "next('route') in the fast lane"],
  ])('hands %s to the error handler', async (_name, handler, message) => {
    const res = await request(appWith(handler)).get('/lane').set('X-Lane', '1').expect(500);
    expect(res.body).toEqual({ error: message, path: '/lane' });
    expect(res.headers['x-front']).toBe('yes');
    expect(errors).toHaveLength(1);
  });

  it('takes HEAD as GET, and only the registered path: a query string is not part of it', async () => {
    const handler: RequestHandler = (_req, res) => {
      res.setHeader('X-By', 'lane');
      res.end();
    };
    const app = appWith(handler);
    expect((await request(app).head('/lane').set('X-Lane', '1').expect(200)).headers['x-by']).toBe('lane');
    expect((await request(app).get('/lane?x=/other').set('X-Lane', '1').expect(200)).headers['x-by']).toBe('lane');
    expect((await request(app).get('/lane/').set('X-Lane', '1').expect(200)).body).toEqual({ by: 'router' });
  });

  it('refuses front middleware added after a route, and an install before its ends are known', () => {
    const lane = new FastLane();
    lane.get('/x', () => true, (_req, res) => res.end());
    expect(() => lane.use((_req, _res, next) => next())).toThrow(/after a route/);
    expect(() => lane.install(express())).toThrow(/before FastLane.end/);
  });
});
