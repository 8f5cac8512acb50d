import request from 'supertest';
import { login } from '../helpers/flow.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';

/**
 * The Origin check of a cookie-borne refresh compares whole origins (scheme, host and port) with the
 * request's own origin and ISSUER's, as the outside audit asked: a host match alone is not enough.
 */
const PASSWORD = 'correct horse battery';
const servers: TestServer[] = [];

async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer({ ISSUER: 'https://auth.example', REFRESH_REUSE_GRACE: '1m', ...env });
  await server.addUser('alice', PASSWORD);
  servers.push(server);
  return server;
}
afterAll(() => Promise.all(servers.map((server) => server.close())));

/** Status of a cookie-borne refresh sent to `host` with `origin` (and extra headers). */
async function refreshStatus(server: TestServer, host: string, origin: string, headers: Record<string, string> = {}): Promise<number> {
  const session = await login(server.app, 'alice', PASSWORD, { transport: 'cookie' });
  const cookie = (session.cookie as string).split(';')[0] as string;
  const res = await request(server.app).post('/auth/refresh').set({ Host: host, Cookie: cookie, Origin: origin, ...headers });
  if (res.status === 403) expect(res.body.error).toBe('forbidden');
  return res.status;
}

describe('the Origin of a cookie-borne refresh', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serverWith({});
  });

  it('accepts the origin the request was sent to, whatever the case of its scheme and host, and ISSUER', async () => {
    expect(await refreshStatus(server, 'auth.test:8080', 'http://auth.test:8080')).toBe(200);
    expect(await refreshStatus(server, 'auth.test:8080', 'HTTP://AUTH.test:8080')).toBe(200);
    expect(await refreshStatus(server, 'anything.test', 'https://auth.example')).toBe(200);
    expect(await refreshStatus(server, 'auth.test', 'http://auth.test:80')).toBe(200);
  });

  it('refuses the same host under another scheme or port, another host, and opaque origins', async () => {
    expect(await refreshStatus(server, 'auth.test:8080', 'https://auth.test:8080')).toBe(403);
    expect(await refreshStatus(server, 'auth.test:8080', 'http://auth.test:8081')).toBe(403);
    expect(await refreshStatus(server, 'auth.test:8080', 'http://auth.test')).toBe(403);
    expect(await refreshStatus(server, 'auth.test', 'http://evil.test')).toBe(403);
    expect(await refreshStatus(server, 'auth.test', 'http://auth.example')).toBe(403);
    expect(await refreshStatus(server, 'auth.test', 'null')).toBe(403);
    expect(await refreshStatus(server, 'auth.test', 'file:///etc/passwd')).toBe(403);
  });

  it('ignores X-Forwarded-Proto and X-Forwarded-Host without TRUST_PROXY', async () => {
    const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'front.test' };
    expect(await refreshStatus(server, 'auth.test', 'https://front.test', forwarded)).toBe(403);
    expect(await refreshStatus(server, 'auth.test', 'https://auth.test', forwarded)).toBe(403);
  });
});

describe('the Origin of a cookie-borne refresh behind TRUST_PROXY=1', () => {
  it('takes the scheme and host the proxy forwarded', async () => {
    const server = await serverWith({ TRUST_PROXY: '1' });
    const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'front.test' };
    expect(await refreshStatus(server, 'auth.internal', 'https://front.test', forwarded)).toBe(200);
    expect(await refreshStatus(server, 'auth.internal', 'http://front.test', forwarded)).toBe(403);
    expect(await refreshStatus(server, 'auth.internal', 'http://auth.internal', forwarded)).toBe(403);
  });
});
