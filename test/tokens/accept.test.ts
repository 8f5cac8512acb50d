import { randomUUID } from 'node:crypto';
import { TokenRejectedError } from '../../src/errors.js';
import { loadConfig } from '../../src/config/index.js';
import { KeyManager } from '../../src/keys/manager.js';
import { ACCEPT_POLICY, acceptAccessToken, issueAccessToken, parseClientKey } from '../../src/tokens/index.js';
import { makeClientKey, openAccessToken } from '../helpers/client.js';
import { accessClaims, handmadeEcdhEsJwe, opaqueJwe, sealTo, signInner } from '../helpers/forge.js';

const ISSUER = 'http://localhost:3000';
const AUDIENCE = 'jwe-auth-server';
const OPTIONS = { issuer: ISSUER, audience: AUDIENCE, accessTokenTtlMs: 900_000 };
const TARGET = { issuer: ISSUER, audience: AUDIENCE, subject: 'user-1', sessionId: 'session-1' };

let keys: KeyManager;
beforeAll(async () => {
  keys = await KeyManager.create(loadConfig({}));
});

/** The reason acceptAccessToken gave for refusing a token (kept for logs, never sent to clients). */
async function refusal(token: string): Promise<string> {
  const error = await acceptAccessToken(token, keys, OPTIONS).then(
    () => new Error('accepted'),
    (e: unknown) => e as Error,
  );
  expect(error).toBeInstanceOf(TokenRejectedError);
  return error.message;
}

describe('ACCEPT_POLICY', () => {
  it('is frozen data with single-entry allowlists', () => {
    expect(Object.isFrozen(ACCEPT_POLICY)).toBe(true);
    expect(ACCEPT_POLICY).toMatchObject({
      maxTokenLength: 8192,
      contentEncryptionAlgorithms: ['A256GCM'],
      contentType: 'JWT',
      tokenType: 'at+jwt',
      maxDecompressedLength: 0,
    });
    expect(ACCEPT_POLICY.requiredClaims.sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
  });
});

describe('acceptAccessToken', () => {
  it('accepts a token issued to a client, opened by it and sealed back to the server', async () => {
    const client = await makeClientKey();
    const { token, jti } = await issueAccessToken({
      ...OPTIONS,
      subject: 'user-1',
      sessionId: 'session-1',
      ttlMs: OPTIONS.accessTokenTtlMs,
      signingKey: keys.signing,
      clientKey: await parseClientKey(client.publicJwk),
    });
    const bearer = await sealTo(await openAccessToken(token, client), keys.encryption);
    expect(await acceptAccessToken(bearer, keys, OPTIONS)).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      sid: 'session-1',
      jti,
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
  });

  it('refuses a compressed JWE on its header, before decrypting or inflating anything', async () => {
    const header = { alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT', kid: keys.encryption.kid, zip: 'DEF', epk: { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) } };
    expect(await refusal(opaqueJwe(header, 0))).toMatch(/compressed|zip/);
    const genuine = handmadeEcdhEsJwe(await signInner(accessClaims(TARGET), keys.signing), keys.encryption.publicJwk, { deflate: true });
    expect(await refusal(genuine)).toMatch(/compressed|zip/);
  });

  it('refuses a cty other than JWT before decrypting', async () => {
    const header = { alg: 'ECDH-ES', enc: 'A256GCM', cty: 'json', kid: keys.encryption.kid, epk: { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) } };
    expect(await refusal(opaqueJwe(header, 0))).toMatch(/cty/);
  });

  it('refuses an over-long token before parsing it', async () => {
    expect(await refusal('a'.repeat(ACCEPT_POLICY.maxTokenLength + 1))).toMatch(/too long/);
  });

  it('refuses tokens of any other shape with the same error type', async () => {
    for (const token of ['', 'abc', 'a.b.c', `${randomUUID()}.....`]) await refusal(token);
  });
});
