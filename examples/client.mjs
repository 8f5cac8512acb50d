#!/usr/bin/env node
/**
 * A minimal client written from the contract, with jose alone: generate a key pair, log in, open the
 * access token, verify it against the JWKS, seal it to the server, call a protected route, log out.
 *
 *   npm start                                   # in another terminal
 *   printf '%s' 'correct horse battery staple' | node examples/client.mjs alice [http://localhost:3000]
 *
 * The password is read from standard input. ISSUER and AUDIENCE default to the server's defaults.
 */
import {
  CompactEncrypt,
  compactDecrypt,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';

const [username, baseUrl = 'http://localhost:3000'] = process.argv.slice(2);
if (!username) {
  process.stderr.write('usage: printf %s PASSWORD | node examples/client.mjs USERNAME [BASE_URL]\n');
  process.exit(2);
}
const issuer = process.env.ISSUER ?? 'http://localhost:3000';
const audience = process.env.AUDIENCE ?? 'jwe-auth-server';

async function readPassword() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function call(method, path, { bearer, json } = {}) {
  const headers = { accept: 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (json) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, baseUrl), { method, headers, body: json && JSON.stringify(json) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// 1. The client's own key pair. The private key never leaves this process.
const { privateKey, publicKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519' });
const clientKey = await exportJWK(publicKey);

// 2. Log in; ask for the refresh token in the body (a browser would use the cookie).
const login = await call('POST', '/auth/login', {
  json: { username, password: await readPassword(), client_key: clientKey, refresh_transport: 'body' },
});
if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);

// 3. Open the access token (JWE to our key) and verify the JWS inside against the server's JWKS.
const { plaintext } = await compactDecrypt(login.body.access_token, privateKey);
const jws = new TextDecoder().decode(plaintext);
const jwks = (await call('GET', '/.well-known/jwks.json')).body;
const { payload } = await jwtVerify(jws, createLocalJWKSet(jwks), { typ: 'at+jwt', issuer, audience });
console.log('verified access token for sub', payload.sub, 'session', payload.sid, 'expires', new Date(payload.exp * 1000).toISOString());

// 4. Seal the JWS to the server's encryption key: this is the bearer.
const enc = jwks.keys.find((k) => k.use === 'enc');
const bearer = await new CompactEncrypt(new TextEncoder().encode(jws))
  .setProtectedHeader({ alg: enc.alg, enc: 'A256GCM', cty: 'JWT', kid: enc.kid })
  .encrypt(await importJWK(enc, enc.alg));

// 5. Call a protected route, then log out; the same bearer is refused afterwards.
console.log('GET /api/me ->', await call('GET', '/api/me', { bearer }));
console.log('POST /auth/logout ->', (await call('POST', '/auth/logout', { bearer })).status);
console.log('GET /api/me ->', (await call('GET', '/api/me', { bearer })).status);
