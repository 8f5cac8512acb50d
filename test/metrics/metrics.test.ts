import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SqliteSessionStore } from '../../src/store/sqlite.js';
import { login } from '../helpers/flow.js';
import { serveMetrics, valueOf, type MetricsEndpoint, type Sample } from '../helpers/metrics.js';
import { startTestServer, whileLocked, type TestServer } from '../helpers/runtime.js';

const PASSWORD = 'correct horse battery';

describe('metrics scraped over HTTP after a real flow', () => {
  let server: TestServer;
  let endpoint: MetricsEndpoint;
  let samples: Sample[];
  let text: string;
  const revokedId = randomUUID();

  beforeAll(async () => {
    server = await startTestServer({ METRICS_PORT: '0', LOGIN_RATE_LIMIT: '3' });
    await server.addUser('alice', PASSWORD);
    if (!server.runtime.metrics) throw new Error('METRICS_PORT is set, so the runtime must have metrics');
    endpoint = await serveMetrics(server.runtime.metrics);

    const app = server.app;
    const alice = await login(app, 'alice', PASSWORD);
    await request(app).get('/api/me').set('Authorization', `Bearer ${alice.bearer}`).expect(200);
    await request(app).get('/api/me').set('Authorization', `Bearer ${alice.bearer}`).expect(200);
    await request(app).post('/auth/refresh').send({ refresh_token: alice.refreshToken }).expect(200);
    await request(app).delete(`/auth/sessions/${revokedId}`).set('Authorization', `Bearer ${alice.bearer}`).expect(404);
    await request(app).post('/auth/logout').set('Authorization', `Bearer ${alice.bearer}`).expect(204);
    await request(app).post('/auth/logout').expect(401);
    await request(app).get('/api/me').set('Authorization', `Bearer ${alice.bearer}`).expect(401);
    await request(app).get(`/no/such/path/${revokedId}`).expect(404);
    await request(app).get('/api/me').set('Authorization', `Bearer ${alice.bearer.slice(0, -4)}AAAA`).expect(401);
    await request(app).post('/auth/login').set('Content-Type', 'application/json').send('{"username":').expect(400);
    for (const status of [401, 401, 401, 429]) {
      await request(app).post('/auth/login').send({ username: 'mallory', password: 'not the password', client_key: alice.client.publicJwk }).expect(status);
    }
    await whileLocked(server, async () => {
      // The failure-only throttle shares the locked file, so the login is refused before the session store.
      await request(app).post('/auth/login').send({ username: 'alice', password: PASSWORD, client_key: alice.client.publicJwk }).expect(503);
      await expect(server.runtime.store.revokeSession(revokedId, Date.now())).rejects.toMatchObject({ code: 'store_unavailable' });
    });

    const res = await fetch(endpoint.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await res.text();
    samples = await endpoint.scrape();
  }, 60_000);

  afterAll(async () => {
    await endpoint?.close();
    await server?.close();
  });

  const requests = (method: string, route: string, status: string) => valueOf(samples, 'jwe_auth_http_requests_total', { method, route, status });

  it('counts requests by method, route pattern and status', () => {
    expect(requests('POST', '/auth/login', '200')).toBe(1);
    expect(requests('GET', '/api/me', '200')).toBe(2);
    expect(requests('GET', '/api/me', '401')).toBe(2);
    expect(requests('POST', '/auth/login', '401')).toBe(3);
    expect(requests('POST', '/auth/login', '429')).toBe(1);
    expect(requests('POST', '/auth/refresh', '200')).toBe(1);
    expect(requests('POST', '/auth/logout', '204')).toBe(1);
    expect(requests('POST', '/auth/login', '503')).toBe(1);
  });

  it('labels a route by its pattern, also when an error left a nested router, and never by the raw path', () => {
    expect(requests('DELETE', '/auth/sessions/:id', '404')).toBe(1);
    expect(requests('POST', '/auth/logout', '401')).toBe(1);
    expect(requests('GET', 'unmatched', '404')).toBe(1);
    expect(text).not.toContain(revokedId);
    expect(text).not.toContain('/no/such/path');
  });

  it('counts the logins the HTTP layer answered by outcome', () => {
    const logins = (outcome: string) => valueOf(samples, 'jwe_auth_logins_total', { outcome });
    expect([logins('invalid_request'), logins('throttled'), logins('unavailable')]).toEqual([1, 1, 1]);
  });

  it('counts refused tokens by kind, never by their raw reason', () => {
    expect(valueOf(samples, 'jwe_auth_tokens_refused_total', { reason: 'session' })).toBe(1);
    expect(valueOf(samples, 'jwe_auth_tokens_refused_total', { reason: 'decryption' })).toBe(1);
    expect(text).not.toContain('ERR_JWE');
  });

  it('has a latency histogram per route and status', () => {
    const bucket = (le: string) => valueOf(samples, 'jwe_auth_http_request_duration_seconds_bucket', { method: 'GET', route: '/api/me', status: '200', le });
    expect(bucket('+Inf')).toBe(2);
    expect(valueOf(samples, 'jwe_auth_http_request_duration_seconds_count', { method: 'GET', route: '/api/me', status: '200' })).toBe(2);
    expect(valueOf(samples, 'jwe_auth_http_request_duration_seconds_sum', { method: 'GET', route: '/api/me', status: '200' })).toBeGreaterThan(0);
    expect(bucket('0.001')).toBeLessThanOrEqual(bucket('10'));
  });

  it('times every store operation and counts the ones that failed', () => {
    const calls = (operation: string) => valueOf(samples, 'jwe_auth_store_operation_duration_seconds_count', { operation });
    expect(calls('createSession')).toBe(1);
    // A refresh reads its token's facts once for the DPoP binding check, then once in the rotation.
    expect(calls('findRefreshToken')).toBe(2);
    expect(calls('advanceRefreshToken')).toBe(1);
    expect(calls('getSession')).toBeGreaterThanOrEqual(3);
    expect(calls('revokeSession')).toBe(2);
    expect(valueOf(samples, 'jwe_auth_store_errors_total', { operation: 'revokeSession' })).toBe(1);
    expect(valueOf(samples, 'jwe_auth_store_errors_total', { operation: 'createSession' })).toBe(0);
    expect(valueOf(samples, 'jwe_auth_store_errors_total', { operation: 'getSession' })).toBe(0);
  });

  it('exposes the process and Node.js runtime series', () => {
    const names = new Set(samples.map((s) => s.name));
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(names).toContain(name);
    }
  });

  it('answers only GET and HEAD, and only at /metrics', async () => {
    expect((await fetch(endpoint.url, { method: 'POST' })).status).toBe(405);
    expect((await fetch(endpoint.url, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(endpoint.url.replace('/metrics', '/'))).status).toBe(404);
  });

  it('is not served on the public port', async () => {
    const res = await request(server.app).get('/metrics');
    expect({ status: res.status, error: res.body.error as unknown }).toEqual({ status: 404, error: 'not_found' });
  });
});

describe('metrics off (the default)', () => {
  it('makes no registry and leaves the store unwrapped', async () => {
    const server = await startTestServer();
    try {
      expect(server.runtime.metrics).toBeNull();
      expect(server.runtime.store).toBeInstanceOf(SqliteSessionStore);
    } finally {
      await server.close();
    }
  });
});
