import { randomUUID } from 'node:crypto';
import { CompactEncrypt } from 'jose';
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

/** The same token with unused low bits set in the last character of its last segment: same bytes, other text. */
function withUnusedBitsSet(compact: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = compact.at(-1) as string;
  const lastSegment = compact.slice(compact.lastIndexOf('.') + 1);
  expect(lastSegment.length % 4).toBe(2);
  const spelled = `${compact.slice(0, -1)}${alphabet[alphabet.indexOf(last) | 0b0101]}`;
  expect(Buffer.from(lastSegment, 'base64url')).toEqual(Buffer.from(spelled.slice(compact.lastIndexOf('.') + 1), 'base64url'));
  return spelled;
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

  it('accepts the cnf of a DPoP-bound token, and refuses a cnf of any other form', async () => {
    const jkt = 'A'.repeat(43);
    const bound = await sealTo(await signInner(accessClaims(TARGET, { cnf: { jkt } }), keys.signing), keys.encryption);
    expect((await acceptAccessToken(bound, keys, OPTIONS)).cnf).toEqual({ jkt });
    for (const cnf of [jkt, { jkt: 'short' }, { jkt: 42 }, { jkt: [jkt] }, { jwk: { kty: 'EC' } }, { jkt, x5t: 'A' }, [jkt], null]) {
      const forged = await sealTo(await signInner(accessClaims(TARGET, { cnf }), keys.signing), keys.encryption);
      expect(await refusal(forged)).toBe('verify: cnf is not {jkt}');
    }
  });

  it('refuses a compressed JWE on its header, before decrypting or inflating anything', async () => {
    const header = { alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT', kid: keys.encryption.kid, zip: 'DEF', epk: { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) } };
    expect(await refusal(opaqueJwe(header, 0))).toMatch(/compressed|zip/);
    const genuine = handmadeEcdhEsJwe(await signInner(accessClaims(TARGET), keys.signing), keys.encryption.publicJwk, { deflate: true });
    expect(await refusal(genuine)).toMatch(/compressed|zip/);
  });

  it.each([
    ['jwk', { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) }],
    ['jku', 'https://keys.example/jwks.json'],
    ['x5u', 'https://keys.example/cert.pem'],
    ['x5c', ['MIIB']],
    ['x5t', 'AAAA'],
    ['p2s', 'AAAAAAAAAAAAAAAAAAAAAA'],
    ['p2c', 1000],
    ['zip', 'DEF'],
  ])('refuses a correctly encrypted JWE of a valid token whose header carries %s', async (member, value) => {
    const jws = await signInner(accessClaims(TARGET), keys.signing);
    await expect(acceptAccessToken(handmadeEcdhEsJwe(jws, keys.encryption.publicJwk), keys, OPTIONS)).resolves.toMatchObject({ sid: 'session-1' });
    const token = handmadeEcdhEsJwe(jws, keys.encryption.publicJwk, { header: { [member]: value } });
    expect(await refusal(token)).toBe(`decrypt: JWE header member ${member}`);
  });

  it('refuses a correctly encrypted JWE whose header has crit (jose refuses it before the header policy)', async () => {
    const jws = await signInner(accessClaims(TARGET), keys.signing);
    expect(await refusal(handmadeEcdhEsJwe(jws, keys.encryption.publicJwk, { header: { crit: ['exp'], exp: 1 } }))).toBe('decrypt: ERR_JOSE_NOT_SUPPORTED');
  });

  it('allows exactly the JWE header members a sealed bearer needs', () => {
    expect([...ACCEPT_POLICY.jweHeaderMembers].sort()).toEqual(['alg', 'apu', 'apv', 'cty', 'enc', 'epk', 'kid', 'typ']);
  });

  it('refuses a cty other than JWT before decrypting', async () => {
    const header = { alg: 'ECDH-ES', enc: 'A256GCM', cty: 'json', kid: keys.encryption.kid, epk: { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) } };
    expect(await refusal(opaqueJwe(header, 0))).toMatch(/cty/);
  });

  it('refuses an over-long token before parsing it', async () => {
    expect(await refusal('a'.repeat(ACCEPT_POLICY.maxTokenLength + 1))).toMatch(/too long/);
    expect(await refusal('a'.repeat(ACCEPT_POLICY.maxTokenLength))).toBe('not a compact JWE');
  });

  it('refuses a JWE or an inner JWS spelled in non-canonical base64url, though it opens to the same bytes', async () => {
    const jws = await signInner(accessClaims(TARGET), keys.signing);
    const bearer = await sealTo(jws, keys.encryption);
    await expect(acceptAccessToken(bearer, keys, OPTIONS)).resolves.toMatchObject({ sid: TARGET.sessionId });
    // A 16-byte tag is 22 characters whose last one carries 4 unused bits; an ES256 signature likewise.
    expect(await refusal(withUnusedBitsSet(bearer))).toBe('JWE not canonical base64url');
    expect(await refusal(await sealTo(withUnusedBitsSet(jws), keys.encryption))).toBe('JWS not canonical base64url');
  });

  it.each([
    ['sub', 42],
    ['sid', { id: 'session-1' }],
    ['jti', ['a']],
  ])('refuses a %s that is not a string, under the server’s own signature', async (claim, value) => {
    const bearer = await sealTo(await signInner(accessClaims(TARGET, { [claim]: value }), keys.signing), keys.encryption);
    expect(await refusal(bearer)).toBe('verify: claim types');
  });

  it.each([
    ['another content encryption (A128GCM)', { enc: 'A128GCM' }],
    ['another key management algorithm (ECDH-ES+A128KW)', { alg: 'ECDH-ES+A128KW' }],
  ])('refuses a genuine token sealed with %s: only the server key’s algorithm and A256GCM', async (_name, header) => {
    const jws = await signInner(accessClaims(TARGET), keys.signing);
    expect(await refusal(await sealTo(jws, keys.encryption, header))).toBe('decrypt: ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses a JWE sealed to an encryption kid the server does not hold', async () => {
    const jws = await signInner(accessClaims(TARGET), keys.signing);
    expect(await refusal(await sealTo(jws, keys.encryption, { kid: 'not-a-server-key' }))).toBe('decrypt: unknown encryption kid');
  });

  it.each([
    ['a text', 'not a token'],
    ['a JWS without a payload', 'eyJhbGciOiJFUzI1NiJ9..c2ln'],
    ['a JWE', 'a.b.c.d.e'],
  ])('refuses a JWE whose plaintext is %s, not a compact JWS', async (_name, plaintext) => {
    expect(await refusal(await sealTo(plaintext, keys.encryption))).toBe('plaintext is not a compact JWS');
  });

  it('refuses a plaintext that is not UTF-8, with the decoder’s code', async () => {
    const jws = await signInner(accessClaims(TARGET), keys.signing);
    const token = await new CompactEncrypt(Buffer.concat([Buffer.from(jws), Buffer.from([0xff])]))
      .setProtectedHeader({ alg: keys.encryption.alg, enc: 'A256GCM', cty: 'JWT', kid: keys.encryption.kid })
      .encrypt(keys.encryption.publicKey);
    expect(await refusal(token)).toBe('decrypt: ERR_ENCODING_INVALID_ENCODED_DATA');
  });

  it.each([
    ['no kid', { kid: undefined }],
    ['a kid the server does not hold', { kid: 'not-a-server-key' }],
  ])('refuses an inner JWS with %s, even one signed by the server key', async (_name, header) => {
    const jws = await signInner(accessClaims(TARGET), keys.signing, header);
    expect(await refusal(await sealTo(jws, keys.encryption))).toBe('verify: unknown signing kid');
  });

  it.each([
    ['another typ', {}, { typ: 'JWT' }],
    ['another issuer', { iss: 'https://other.example' }, {}],
    ['another audience', { aud: 'another-service' }, {}],
    ['no sid', { sid: undefined }, {}],
  ])('refuses a token with %s under the server’s own signature', async (_name, claims, header) => {
    const bearer = await sealTo(await signInner(accessClaims(TARGET, claims), keys.signing, header), keys.encryption);
    expect(await refusal(bearer)).toBe('verify: ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('refuses a token issued longer ago than the token lifetime, though its exp is ahead', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bearer = await sealTo(await signInner(accessClaims(TARGET, { iat: now - 900 - 60, exp: now + 60 }), keys.signing), keys.encryption);
    expect(await refusal(bearer)).toBe('verify: ERR_JWT_EXPIRED');
  });

  it('checks exp and iat against the time it is given, not the system clock', async () => {
    const later = Date.now() + 24 * 3600_000;
    const seconds = Math.floor(later / 1000);
    const tomorrow = await sealTo(await signInner(accessClaims(TARGET, { iat: seconds, exp: seconds + 900 }), keys.signing), keys.encryption);
    await expect(acceptAccessToken(tomorrow, keys, { ...OPTIONS, now: later })).resolves.toMatchObject({ sid: TARGET.sessionId });
    const today = await sealTo(await signInner(accessClaims(TARGET), keys.signing), keys.encryption);
    await expect(acceptAccessToken(today, keys, { ...OPTIONS, now: later })).rejects.toMatchObject({ reason: 'verify: ERR_JWT_EXPIRED' });
  });

  it('refuses tokens of any other shape with the same error type', async () => {
    for (const token of ['', 'abc', 'a.b.c', `${randomUUID()}.....`]) await refusal(token);
  });
});
