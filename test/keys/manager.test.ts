import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { ENCRYPTION_KEY_TYPES, loadConfig, SIGNING_ALGS, type Config } from '../../src/config/index.js';
import { KeyLoadError } from '../../src/keys/pem.js';
import { generateKeyFiles, JWKS_MAX_AGE_SECONDS, keyFile, retiredUntil, rotateKeyFiles } from '../../src/keys/key-files.js';
import { generateFreshKeys, KeyManager } from '../../src/keys/manager.js';
import type { ServerKey } from '../../src/keys/server-key.js';
import { acceptAccessToken, issueAccessToken, parseClientKey } from '../../src/tokens/index.js';
import { TokenRejectedError } from '../../src/errors.js';
import { makeClientKey, openAccessToken } from '../helpers/client.js';
import { sealTo } from '../helpers/forge.js';
import { tempDirPerTest } from '../helpers/runtime.js';

const PASSPHRASE = 'a passphrase of some length';
const ISSUER = 'http://localhost:3000';
const AUDIENCE = 'jwe-auth-server';
const TTL_MS = 60_000;
/** What a retired key is accepted for beyond the access token lifetime (the manager's margin). */
const MARGIN_MS = 60_000 + JWKS_MAX_AGE_SECONDS * 1000;

const dir = tempDirPerTest('jwe-auth-keys-');

const keysDir = () => path.join(dir(), 'keys');
const fresh = (env: Record<string, string> = {}): Config => loadConfig({ KEYS_DIR: keysDir(), ACCESS_TOKEN_TTL: '60s', ...env });
const preserving = (env: Record<string, string> = {}): Config =>
  fresh({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE, ...env });

/**
 * Issues an access token with a signing key, opens it as the client, seals it to an encryption key
 * and has the manager accept it: the whole nested pipeline over these keys.
 */
async function roundTrip(keys: KeyManager, signingKey: ServerKey = keys.signing, encryptionKey: ServerKey = keys.encryption) {
  const client = await makeClientKey();
  const issued = await issueAccessToken({
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'user-1',
    sessionId: 'session-1',
    ttlMs: TTL_MS,
    signingKey,
    clientKey: await parseClientKey(client.publicJwk),
  });
  const bearer = await sealTo(await openAccessToken(issued.token, client), encryptionKey);
  return acceptAccessToken(bearer, keys, { issuer: ISSUER, audience: AUDIENCE, accessTokenTtlMs: TTL_MS });
}

async function expectThumbprintKid(key: ServerKey): Promise<void> {
  const { kid, use, alg, ...members } = key.publicJwk;
  expect(kid).toBe(key.kid);
  expect({ use, alg }).toEqual({ use: key.use, alg: key.alg });
  expect(kid).toBe(await calculateJwkThumbprint(members, 'sha256'));
}

describe('without PRESERVE_SESSIONS_ON_REBOOT', () => {
  it('makes fresh, distinct keys at every create() and writes no file', async () => {
    const [first, second] = await Promise.all([KeyManager.create(fresh()), KeyManager.create(fresh())]);
    expect(second.signing.kid).not.toBe(first.signing.kid);
    expect(second.encryption.kid).not.toBe(first.encryption.kid);
    expect(existsSync(keysDir())).toBe(false);
    expect(await first.reload()).toBe(false);
  });

  it('opens a new epoch with every set of fresh keys', async () => {
    const [first, second] = await Promise.all([KeyManager.create(fresh()), KeyManager.create(fresh())]);
    expect(second.epoch).not.toBe(first.epoch);
    expect(first.epoch).not.toBe('preserved');
  });

  it.each([
    ['ES256', 'x25519'],
    ['PS256', 'rsa'],
  ] as const)('shares %s and %s keys made once (a cluster primary hands them to its workers): same kids, same epoch, tokens accepted across', async (alg, type) => {
    const config = fresh({ SIGNING_ALG: alg, ENCRYPTION_KEY_TYPE: type });
    const shared = generateFreshKeys(config);
    const [one, other] = await Promise.all([KeyManager.create(config, shared), KeyManager.create(config, shared)]);
    expect([other.signing.kid, other.encryption.kid, other.epoch]).toEqual([one.signing.kid, one.encryption.kid, one.epoch]);
    expect(await roundTrip(other, one.signing, one.encryption)).toMatchObject({ sid: 'session-1' });
  });

  it('refuses in one manager the tokens of another boot', async () => {
    const [before, after] = await Promise.all([KeyManager.create(fresh()), KeyManager.create(fresh())]);
    await expect(roundTrip(after, before.signing, after.encryption)).rejects.toBeInstanceOf(TokenRejectedError);
    await expect(roundTrip(after, after.signing, before.encryption)).rejects.toBeInstanceOf(TokenRejectedError);
  });

  it.each(SIGNING_ALGS)('signs with %s under a thumbprint kid, and its tokens round-trip', async (alg) => {
    const keys = await KeyManager.create(fresh({ SIGNING_ALG: alg }));
    expect(keys.signing).toMatchObject({ alg, use: 'sig' });
    await expectThumbprintKid(keys.signing);
    expect(await roundTrip(keys)).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', sid: 'session-1' });
  });

  it.each([
    ['x25519', 'ECDH-ES', 'OKP'],
    ['p256', 'ECDH-ES+A256KW', 'EC'],
    ['rsa', 'RSA-OAEP-256', 'RSA'],
  ] as const)('receives with a %s key (%s, kty %s) under a thumbprint kid, and tokens round-trip', async (type, alg, kty) => {
    expect(ENCRYPTION_KEY_TYPES).toContain(type);
    const keys = await KeyManager.create(fresh({ ENCRYPTION_KEY_TYPE: type }));
    expect(keys.encryption).toMatchObject({ alg, use: 'enc' });
    expect(keys.encryption.publicJwk.kty).toBe(kty);
    await expectThumbprintKid(keys.encryption);
    expect(await roundTrip(keys)).toMatchObject({ sub: 'user-1', sid: 'session-1' });
  });

  it('publishes exactly the two current keys, public members only', async () => {
    const keys = await KeyManager.create(fresh({ SIGNING_ALG: 'PS256', ENCRYPTION_KEY_TYPE: 'rsa' }));
    const { keys: published } = keys.jwks();
    expect(published.map((k) => k.kid)).toEqual([keys.signing.kid, keys.encryption.kid]);
    for (const key of published) expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });
});

describe('with PRESERVE_SESSIONS_ON_REBOOT', () => {
  it('loads the same keys at every create(), so tokens survive a restart', async () => {
    await generateKeyFiles(preserving(), false);
    const before = await KeyManager.create(preserving());
    const after = await KeyManager.create(preserving());
    expect(after.signing.kid).toBe(before.signing.kid);
    expect(after.encryption.kid).toBe(before.encryption.kid);
    expect([before.epoch, after.epoch]).toEqual(['preserved', 'preserved']);
    expect(await roundTrip(after, before.signing, before.encryption)).toMatchObject({ sid: 'session-1' });
  });

  it.each([
    ['EdDSA', 'p256'],
    ['PS256', 'rsa'],
  ] as const)('round-trips PEM keys of %s and %s', async (signingAlg, encryptionType) => {
    const config = preserving({ SIGNING_ALG: signingAlg, ENCRYPTION_KEY_TYPE: encryptionType });
    await generateKeyFiles(config, false);
    const keys = await KeyManager.create(config);
    expect((await KeyManager.create(config)).signing.kid).toBe(keys.signing.kid);
    expect(await roundTrip(keys)).toMatchObject({ sid: 'session-1' });
  });
});

describe('a rotation (keys rotate, then reload)', () => {
  let keys: KeyManager;
  let old: { signing: ServerKey; encryption: ServerKey };
  beforeEach(async () => {
    await generateKeyFiles(preserving(), false);
    keys = await KeyManager.create(preserving());
    old = { signing: keys.signing, encryption: keys.encryption };
    await rotateKeyFiles(preserving());
    expect(await keys.reload()).toBe(true);
  });

  it('makes new keys current and leaves the previous PEMs on disk', async () => {
    expect(keys.signing.kid).not.toBe(old.signing.kid);
    expect(keys.encryption.kid).not.toBe(old.encryption.kid);
    for (const role of ['signing', 'encryption'] as const) expect(existsSync(keyFile(keysDir(), role, 'previous'))).toBe(true);
    expect(await roundTrip(keys)).toMatchObject({ sid: 'session-1' });
    expect(await keys.reload()).toBe(false);
  });

  it('keeps publishing and accepting the previous keys while their tokens may live', async () => {
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.signing.kid, keys.encryption.kid, old.signing.kid, old.encryption.kid]);
    expect(keys.find('signing', old.signing.kid)?.kid).toBe(old.signing.kid);
    expect(keys.find('encryption', old.encryption.kid)?.kid).toBe(old.encryption.kid);
    expect(await roundTrip(keys, old.signing, old.encryption)).toMatchObject({ sid: 'session-1' });
    expect(await roundTrip(keys, old.signing, keys.encryption)).toMatchObject({ sid: 'session-1' });
  });

  it('drops the previous keys once the access token lifetime and the margin have passed', () => {
    const later = Date.now() + TTL_MS + MARGIN_MS + 1000;
    expect(keys.find('signing', old.signing.kid, later)).toBeUndefined();
    expect(keys.find('encryption', old.encryption.kid, later)).toBeUndefined();
    expect(keys.jwks(later).keys.map((k) => k.kid)).toEqual([keys.signing.kid, keys.encryption.kid]);
    expect(keys.find('signing', keys.signing.kid, later)).toBe(keys.signing);
  });

  it('refuses tokens of previous keys rotated out longer ago than their window (previous PEMs dated back)', async () => {
    const past = new Date(Date.now() - TTL_MS - MARGIN_MS - 5000);
    for (const role of ['signing', 'encryption'] as const) await fs.utimes(keyFile(keysDir(), role, 'previous'), past, past);
    expect(await keys.reload()).toBe(true);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.signing.kid, keys.encryption.kid]);
    await expect(roundTrip(keys, old.signing, keys.encryption)).rejects.toBeInstanceOf(TokenRejectedError);
    await expect(roundTrip(keys, keys.signing, old.encryption)).rejects.toBeInstanceOf(TokenRejectedError);
    const rebooted = await KeyManager.create(preserving());
    await expect(roundTrip(rebooted, old.signing, rebooted.encryption)).rejects.toBeInstanceOf(TokenRejectedError);
  });

  it('never accepts a retired signing key for the encryption role or the other way round', () => {
    expect(keys.find('encryption', old.signing.kid)).toBeUndefined();
    expect(keys.find('signing', old.encryption.kid)).toBeUndefined();
  });

  it('refuses a second rotation while the previous keys are still accepted, naming the file', async () => {
    const error = (await rotateKeyFiles(preserving()).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(KeyLoadError);
    expect(error.message).toContain(keyFile(keysDir(), 'signing', 'previous'));
    expect(error.message).not.toContain('\n');
    expect(await keys.reload()).toBe(false);
    expect(await roundTrip(keys, old.signing, old.encryption)).toMatchObject({ sid: 'session-1' });
  });

  it('rotates again once the previous keys are past their window', async () => {
    const second = { signing: keys.signing, encryption: keys.encryption };
    await rotateKeyFiles(preserving(), Date.now() + TTL_MS + MARGIN_MS + 1000);
    expect(await keys.reload()).toBe(true);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.signing.kid, keys.encryption.kid, second.signing.kid, second.encryption.kid]);
    expect(keys.find('signing', old.signing.kid)).toBeUndefined();
  });

  it('keeps the keys in use when a reload fails', async () => {
    const current = keys.signing.kid;
    await fs.writeFile(keyFile(keysDir(), 'signing', 'current'), 'not a key', { mode: 0o600 });
    await expect(keys.reload()).rejects.toBeInstanceOf(KeyLoadError);
    expect(keys.signing.kid).toBe(current);
    expect(await roundTrip(keys)).toMatchObject({ sid: 'session-1' });
  });

  it('refuses to rotate keys it cannot read with the passphrase', async () => {
    await expect(rotateKeyFiles(preserving({ PRIVATE_KEY_PASSPHRASE: 'another passphrase, long enough' }))).rejects.toBeInstanceOf(KeyLoadError);
    expect(await keys.reload()).toBe(false);
  });
});

describe('the retirement window', () => {
  it('covers the reload interval or the JWKS cache, whichever is longer, plus the token lifetime and a minute', () => {
    const retired = 1_000_000;
    expect(retiredUntil(retired, { accessTokenTtl: 900_000, keyReloadInterval: 30_000 })).toBe(retired + 300_000 + 900_000 + 60_000);
    expect(retiredUntil(retired, { accessTokenTtl: 900_000, keyReloadInterval: 600_000 })).toBe(retired + 600_000 + 900_000 + 60_000);
  });
});
