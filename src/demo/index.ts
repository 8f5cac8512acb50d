/**
 * `npm run demo`: starts the server in-process over a temporary SQLite file, creates a demo user,
 * and walks the whole flow over real HTTP, printing every layer of the nested token decoded.
 * Nothing secret is printed whole: the password is masked, private keys are never shown, and
 * tokens are shortened.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { buildRuntime, type Runtime } from '../boot.js';
import { loadConfig, type Config } from '../config/index.js';
import { createApp } from '../http/app.js';
import { hashPassword } from '../users/password.js';
import { makeClientKey, openAccessToken, sealToServer, verifyInner, type ClientKeyPair, type Jwks } from './client.js';
import { call } from './http.js';
import { field, json, note, redactRefresh, section, truncate, when } from './print.js';

const USERNAME = 'demo';

/** The demo server: config, runtime and the listening HTTP server. */
interface DemoServer {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly server: Server;
  readonly baseUrl: string;
  readonly dir: string;
}

async function startServer(): Promise<DemoServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jwe-auth-demo-'));
  try {
    const config = loadConfig({
      STORE: 'sqlite',
      SQLITE_PATH: path.join(dir, 'auth.db'),
      KEYS_DIR: path.join(dir, 'keys'),
      PRESERVE_SESSIONS_ON_REBOOT: '0',
      COOKIE_SECURE: 'false',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
    });
    const runtime = await buildRuntime(config);
    const server = createApp(runtime).listen(0, config.host);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return { config, runtime, server, baseUrl: `http://127.0.0.1:${port}`, dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function stopServer(demo: DemoServer): Promise<void> {
  demo.server.closeAllConnections();
  await new Promise<void>((resolve) => demo.server.close(() => resolve()));
  await demo.runtime.close();
  rmSync(demo.dir, { recursive: true, force: true });
}

/** Opens an access token from a token response, verifies it, and seals it back to the server. */
async function bearerFrom(accessToken: string, client: ClientKeyPair, jwks: Jwks, config: Config): Promise<{ jws: string; bearer: string }> {
  const { jws } = await openAccessToken(accessToken, client);
  await verifyInner(jws, jwks, { issuer: config.issuer, audience: config.audience });
  return { jws, bearer: (await sealToServer(jws, jwks)).bearer };
}

async function walkthrough({ config, runtime, baseUrl }: DemoServer): Promise<void> {
  section(0, 'Server started in-process');
  field('listening on', baseUrl);
  field('store', `${config.store} (${config.sqlitePath})`);
  field('sessions preserved', `${config.preserveSessions} (fresh keys for this run)`);
  field('signing key', `${runtime.keys.signing.alg}  kid ${runtime.keys.signing.kid}`);
  field('encryption key', `${runtime.keys.encryption.alg}  kid ${runtime.keys.encryption.kid}`);
  const password = randomBytes(18).toString('base64url');
  await runtime.users.add(USERNAME, await hashPassword(password), Date.now());
  field('demo user', `${USERNAME} (password: random, never printed)`);

  section(1, 'Client generates its own key pair');
  const client = await makeClientKey();
  json('public JWK (sent to the server)', client.publicJwk);
  field('RFC 7638 thumbprint', client.thumbprint);
  note('the private key stays in this process and is never printed');

  section(2, 'POST /auth/login');
  const loginBody = { username: USERNAME, password, client_key: client.publicJwk, refresh_transport: 'body' };
  json('request body', { ...loginBody, password: '********' });
  const login = await call(baseUrl, 'POST', '/auth/login', { json: loginBody, expect: 200 });
  const grant = login.body as Record<string, string | number>;
  const accessToken = String(grant.access_token);
  const refreshToken = String(grant.refresh_token);
  field('status', login.status);
  field('cache-control', login.headers.get('cache-control') ?? '(none)');
  json('token response', { ...grant, access_token: truncate(accessToken), refresh_token: redactRefresh(refreshToken) });

  section(3, 'Outer layer: JWE protected header (readable without any key)');
  json('header', decodeProtectedHeader(accessToken));
  field('kid is our thumbprint', decodeProtectedHeader(accessToken).kid === client.thumbprint);
  note('only the holder of the client private key can open this token');

  section(4, 'Client decrypts the JWE with its private key');
  const opened = await openAccessToken(accessToken, client);
  field('plaintext (a JWS)', truncate(opened.jws));
  field('content type (cty)', String(opened.header.cty));

  section(5, 'Inner layer: JWS header and claims');
  json('header', decodeProtectedHeader(opened.jws));
  const claims = decodeJwt(opened.jws);
  json('claims', claims);
  field('issued at', when(claims.iat));
  field('expires', when(claims.exp));

  section(6, 'Client verifies the inner JWS against the server JWKS');
  const jwksResponse = await call(baseUrl, 'GET', '/.well-known/jwks.json', { expect: 200 });
  const jwks = jwksResponse.body as unknown as Jwks;
  json('GET /.well-known/jwks.json (public keys only)', jwks.keys.map(({ kid, use, alg, kty, crv }) => ({ kid, use, alg, kty, crv })));
  const verified = await verifyInner(opened.jws, jwks, { issuer: config.issuer, audience: config.audience });
  field('result', 'signature valid');
  field('checked', `typ=${verified.header.typ} iss=${config.issuer} aud=${config.audience} exp in the future`);
  field('signed by kid', String(verified.header.kid));
  note('this signature is what proves the token genuine; the outer JWE only hid it');

  section(7, 'Client seals the JWS to the server encryption key');
  const sealed = await sealToServer(opened.jws, jwks);
  json('outer header of the bearer', sealed.header);
  field('bearer', truncate(sealed.bearer));
  note('anyone can encrypt to the server public key: the seal hides the token in transit, it does not');
  note('prove who sent it. A stolen sealed bearer works until it expires or its session is revoked,');
  note('unless the session is bound to a DPoP key (the SDK and /demo do that): see docs/protocol.md.');

  section(8, 'GET /api/me and GET /auth/verify with the sealed bearer');
  const me = await call(baseUrl, 'GET', '/api/me', { bearer: sealed.bearer, expect: 200 });
  json(`GET /api/me -> ${me.status}`, me.body);
  const check = await call(baseUrl, 'GET', '/auth/verify', { bearer: sealed.bearer, expect: 200 });
  json(`GET /auth/verify -> ${check.status}`, check.body);

  section(9, 'POST /auth/refresh: the refresh token rotates');
  const refreshed = await call(baseUrl, 'POST', '/auth/refresh', { json: { refresh_token: refreshToken }, expect: 200 });
  const next = refreshed.body as Record<string, string | number>;
  const nextRefresh = String(next.refresh_token);
  field('status', refreshed.status);
  field('old refresh token', redactRefresh(refreshToken));
  field('new refresh token', redactRefresh(nextRefresh));
  field('rotated', nextRefresh !== refreshToken);
  field('same session', next.session_id === grant.session_id);
  const nextOuter = decodeProtectedHeader(String(next.access_token));
  field('new access token kid', `${String(nextOuter.kid)} (same client key)`);
  const { jws: nextJws, bearer: nextBearer } = await bearerFrom(String(next.access_token), client, jwks, config);
  const nextClaims = decodeJwt(nextJws);
  field('new jti', `${String(nextClaims.jti)} (was ${String(claims.jti)})`);
  note(`the old refresh token is spent. Presented again within REFRESH_REUSE_GRACE (${config.refreshReuseGrace / 1000}s) it counts`);
  note('as a duplicate and rotates again (one live successor only); after the window it revokes the session');
  const meAgain = await call(baseUrl, 'GET', '/api/me', { bearer: nextBearer, expect: 200 });
  json(`GET /api/me with the new token -> ${meAgain.status}`, meAgain.body);

  section(10, 'POST /auth/logout, then the session is dead');
  const logout = await call(baseUrl, 'POST', '/auth/logout', { bearer: nextBearer, expect: 204 });
  field('POST /auth/logout', `${logout.status} (no body)`);
  const after = await call(baseUrl, 'GET', '/api/me', { bearer: nextBearer, expect: 401 });
  field('GET /api/me', after.status);
  field('WWW-Authenticate', after.headers.get('www-authenticate') ?? '(none)');
  json('body', after.body);
  const refreshAfter = await call(baseUrl, 'POST', '/auth/refresh', { json: { refresh_token: nextRefresh }, expect: 401 });
  field('POST /auth/refresh', `${refreshAfter.status} ${String(refreshAfter.body?.error)} (the refresh token died with the session)`);
}

async function main(): Promise<void> {
  process.stdout.write('jwe-auth-server demo: the whole flow over real HTTP, every layer decoded\n');
  const demo = await startServer();
  try {
    await walkthrough(demo);
  } finally {
    await stopServer(demo);
  }
  process.stdout.write('\nDone: server and runtime closed, temporary directory removed.\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
