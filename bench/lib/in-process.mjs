/**
 * The in-process figures (no HTTP): issuing, accepting and refusing a token, verifying a DPoP proof,
 * and an argon2id hash, each timed over many iterations in this process with the built library.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compactDecrypt } from 'jose';
import { acceptAccessToken, accessTokenHash, buildRuntime, hashPassword, issueAccessToken, loadConfig, parseClientKey, verifyDpopProof } from '../../dist/index.js';
import { makeClientKey } from './client.mjs';
import { makeProof, makeProofKey, sealerFor } from './native-jose.mjs';

async function timed(label, iterations, step) {
  for (let i = 0; i < Math.min(50, iterations); i++) await step(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await step(i);
  const ns = Number(process.hrtime.bigint() - started);
  return { label, opsPerSecond: iterations / (ns / 1e9), usPerOp: ns / iterations / 1000, iterations };
}

/** Runs every in-process figure; `scale` (0..1] shortens the loops for a smoke run. */
export async function inProcessFigures(scale = 1) {
  const n = (count) => Math.max(5, Math.round(count * scale));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jwe-auth-bench-'));
  const config = loadConfig({ SQLITE_PATH: path.join(dir, 'auth.db'), LOG_LEVEL: 'silent', COOKIE_SECURE: 'false' });
  const runtime = await buildRuntime(config);
  try {
    const client = await makeClientKey();
    const issueInput = {
      issuer: config.issuer, audience: config.audience, subject: 'bench-user', sessionId: 'bench-session',
      ttlMs: config.accessTokenTtl, signingKey: runtime.keys.signing, clientKey: await parseClientKey(client.publicJwk),
    };
    const sample = await issueAccessToken(issueInput);
    const jws = new TextDecoder().decode((await compactDecrypt(sample.token, client.privateKey)).plaintext);
    const sealed = sealerFor(runtime.keys.encryption.publicJwk)(jws);
    const acceptOptions = { issuer: config.issuer, audience: config.audience, accessTokenTtlMs: config.accessTokenTtl };
    const proofKey = makeProofKey();
    const htu = 'http://127.0.0.1:3000/api/me';
    const proofs = Array.from({ length: n(2000) + 50 }, () => makeProof(proofKey, { htm: 'GET', htu, token: sealed }));
    const ath = accessTokenHash(sealed);
    return [
      await timed(`issue: sign ${runtime.keys.signing.alg} + encrypt to X25519`, n(2000), () => issueAccessToken(issueInput)),
      await timed(`accept: decrypt ${runtime.keys.encryption.alg} + verify ${runtime.keys.signing.alg}`, n(2000), () => acceptAccessToken(sealed, runtime.keys, acceptOptions)),
      await timed('refuse: garbage bearer (format check)', n(20000), () => acceptAccessToken('x.y', runtime.keys, acceptOptions).catch(() => undefined)),
      await timed('DPoP proof: verify ES256 + claims (verifyDpopProof)', n(2000), (i) => verifyDpopProof(proofs[i % proofs.length], { htm: 'GET', htu, ath, now: Date.now() })),
      await timed('argon2id hash (OWASP parameters)', n(10), () => hashPassword('bench password')),
    ];
  } finally {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
