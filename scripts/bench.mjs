// Prints throughput figures for the token pipeline and a protected route. Run with `npm run bench`.
// Loopback only, bounded in time: each HTTP run lasts BENCH_SECONDS (default 5).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { CompactEncrypt, calculateJwkThumbprint, compactDecrypt, exportJWK, generateKeyPair, importJWK } from 'jose';
import { acceptAccessToken, buildRuntime, createApp, hashPassword, issueAccessToken, loadConfig, parseClientKey } from '../dist/index.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const dir = mkdtempSync(path.join(os.tmpdir(), 'jwe-auth-bench-'));

async function timed(label, iterations, step) {
  for (let i = 0; i < Math.min(50, iterations); i++) await step();
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await step();
  const ns = Number(process.hrtime.bigint() - started);
  console.log(`${label.padEnd(44)} ${(iterations / (ns / 1e9)).toFixed(0).padStart(8)} ops/s  ${(ns / iterations / 1000).toFixed(1).padStart(8)} µs/op`);
}

async function sealFor(runtime, accessToken, privateKey) {
  const { plaintext } = await compactDecrypt(accessToken, privateKey);
  const enc = runtime.keys.encryption.publicJwk;
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: enc.alg, enc: 'A256GCM', cty: 'JWT', kid: enc.kid })
    .encrypt(await importJWK(enc, enc.alg));
}

async function http(label, url, bearer) {
  const result = await autocannon({ url, connections: 10, duration: seconds, headers: { authorization: `Bearer ${bearer}` } });
  const ok = result['2xx'];
  console.log(
    `${label.padEnd(44)} ${result.requests.average.toFixed(0).padStart(8)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  (${ok} 2xx, ${result.non2xx} other)`,
  );
}

// BENCH_STORE=redis (with REDIS_URL, default the local Redis) measures the Redis store instead of SQLite.
const store = process.env.BENCH_STORE ?? 'sqlite';
const config = loadConfig({
  SQLITE_PATH: path.join(dir, 'auth.db'),
  LOG_LEVEL: 'silent',
  COOKIE_SECURE: 'false',
  STORE: store,
  ...(store === 'redis' ? { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_PREFIX: `jwe-auth-bench:${process.pid}:` } : {}),
});
const runtime = await buildRuntime(config);
try {
  const { privateKey, publicKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519' });
  const clientJwk = await exportJWK(publicKey);
  const clientKey = await parseClientKey(clientJwk);
  console.log(`node ${process.version}, ${os.cpus().length} cores; signing ${runtime.keys.signing.alg}, encryption ${runtime.keys.encryption.alg}`);
  console.log(`client key X25519 ${await calculateJwkThumbprint(clientJwk)}\n`);

  const user = await runtime.users.add('bench', await hashPassword('bench password'), Date.now());
  const issueInput = {
    issuer: config.issuer, audience: config.audience, subject: user.id, sessionId: 'bench-session',
    ttlMs: config.accessTokenTtl, signingKey: runtime.keys.signing, clientKey,
  };
  const sample = await issueAccessToken(issueInput);
  const sealed = await sealFor(runtime, sample.token, privateKey);
  const acceptOptions = { issuer: config.issuer, audience: config.audience, accessTokenTtlMs: config.accessTokenTtl };

  console.log('in process');
  await timed('issue: sign ES256 + encrypt to X25519', 2000, () => issueAccessToken(issueInput));
  await timed('accept: decrypt X25519 + verify ES256', 2000, () => acceptAccessToken(sealed, runtime.keys, acceptOptions));
  await timed('refuse: garbage bearer (format check)', 20000, () => acceptAccessToken('x.y', runtime.keys, acceptOptions).catch(() => undefined));
  await timed('argon2id hash (OWASP parameters)', 10, () => hashPassword('bench password'));

  const app = createApp(runtime);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: 'bench password', client_key: clientJwk, refresh_transport: 'body' }),
  }).then((r) => r.json());
  const bearer = await sealFor(runtime, login.access_token, privateKey);

  console.log(`\nHTTP over loopback, 10 connections, ${seconds} s each (${store} store)`);
  await http('GET /api/me (full pipeline + session check)', `${base}/api/me`, bearer);
  await http('GET /api/me with an invalid token (401)', `${base}/api/me`, 'not-a-token');
  await http('GET /.well-known/jwks.json', `${base}/.well-known/jwks.json`, '');
  await new Promise((resolve) => server.close(resolve));
} finally {
  if (store === 'redis') {
    const { Redis } = await import('ioredis');
    const redis = new Redis(config.redisUrl);
    for (const key of await redis.keys(`${config.redisPrefix}*`)) await redis.unlink(key);
    redis.disconnect();
  }
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
}
