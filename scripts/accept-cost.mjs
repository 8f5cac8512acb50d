#!/usr/bin/env node
// Measures what accepting a bearer costs, node:crypto (acceptAccessToken) against jose (acceptWithJose,
// the reference it replaced), for every encryption key kind with ES256 and every signing algorithm with
// X25519: process CPU time per accept (all threads, WebCrypto's thread pool included), the median of 9
// batches, the two engines interleaved. "fresh inner" seals a new access token each time (nothing
// remembered); "re-sealed" seals the same access token afresh each time (the bench's cold case: the
// signature of that exact JWS is remembered). Run after `npm run build`: node scripts/accept-cost.mjs [batch]
import { CompactEncrypt, SignJWT } from 'jose';
import { loadConfig } from '../dist/config/index.js';
import { KeyManager } from '../dist/keys/manager.js';
import { acceptAccessToken, acceptWithJose } from '../dist/tokens/accept.js';

const batch = Number(process.argv[2] ?? 200);
const BATCHES = 9;
const issuer = 'http://localhost:3000';
const audience = 'jwe-auth-server';
const options = { issuer, audience, accessTokenTtlMs: 900_000 };

/** CPU µs per call of `step(i)`, median of the batches. */
async function cpuPerCall(step) {
  const perCall = [];
  for (let b = 0; b < BATCHES; b++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < batch; i++) await step(b * batch + i);
    const used = process.cpuUsage(cpu);
    perCall.push((used.user + used.system) / batch);
  }
  return perCall.sort((x, y) => x - y)[BATCHES >> 1];
}

const sign = (keys) =>
  new SignJWT({ sid: 'session-1' })
    .setProtectedHeader({ alg: keys.signing.alg, kid: keys.signing.kid, typ: 'at+jwt' })
    .setIssuer(issuer).setSubject('user-1').setAudience(audience).setIssuedAt().setExpirationTime('15m').setJti(crypto.randomUUID())
    .sign(keys.signing.privateKey);
const seal = (keys, jws) =>
  new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: keys.encryption.alg, enc: 'A256GCM', cty: 'JWT', kid: keys.encryption.kid })
    .encrypt(keys.encryption.publicKey);

const combos = [['x25519', 'ES256'], ['p256', 'ES256'], ['rsa', 'ES256'], ['x25519', 'EdDSA'], ['x25519', 'PS256']];
console.log(`CPU µs per accept (median of ${BATCHES} batches of ${batch})`);
console.log('keys               jose re-sealed   native re-sealed   native fresh inner');
for (const [encryption, signing] of combos) {
  const keys = await KeyManager.create(loadConfig({ ENCRYPTION_KEY_TYPE: encryption, SIGNING_ALG: signing, LOG_LEVEL: 'silent' }));
  const jws = await sign(keys);
  const count = BATCHES * batch;
  const resealed = await Promise.all(Array.from({ length: count }, () => seal(keys, jws)));
  const fresh = await Promise.all(Array.from({ length: count }, async () => seal(keys, await sign(keys))));
  for (let i = 0; i < 50; i++) await Promise.all([acceptWithJose(resealed[i], keys, options), acceptAccessToken(fresh[i], keys, options)]);
  const jose = await cpuPerCall((i) => acceptWithJose(resealed[i], keys, options));
  const native = await cpuPerCall((i) => acceptAccessToken(resealed[i], keys, options));
  const nativeFresh = await cpuPerCall((i) => acceptAccessToken(fresh[i], keys, options));
  const cell = (us) => `${us.toFixed(0).padStart(5)} (×${(jose / us).toFixed(1)})`;
  console.log(`${`${encryption} + ${signing}`.padEnd(16)} ${jose.toFixed(0).padStart(6)}      ${cell(native)}       ${cell(nativeFresh)}`);
}
