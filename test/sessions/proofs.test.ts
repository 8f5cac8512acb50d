import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { KeyManager } from '../../src/keys/manager.js';
import type { Credentials, ProofPresentation } from '../../src/sessions/proofs.js';
import { SessionService } from '../../src/sessions/service.js';
import { MemorySessionStore } from '../../src/store/memory.js';
import { parseClientKey } from '../../src/tokens/client-key.js';
import { DPOP_POLICY } from '../../src/tokens/policy.js';
import { MemoryUserDirectory } from '../../src/users/memory.js';
import { hashPassword } from '../../src/users/password.js';
import { fakeClock } from '../helpers/clock.js';
import { makeClientKey, openAccessToken, sealToServer } from '../helpers/client.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { tempDir } from '../helpers/runtime.js';

/**
 * DPoP in the session life cycle, on a fake clock: the `iat` window and the replay memory move with
 * the server's clock, not the wall clock.
 */
const PASSWORD = 'correct horse battery';
const ISSUER = 'https://auth.example';
const temp = tempDir('jwe-auth-proofs-');
const config = loadConfig({ STORE: 'memory', KEYS_DIR: path.join(temp.dir, 'keys'), ISSUER });
const time = fakeClock();
let service: SessionService;
let key: ProofKey;
let sealed: string;
let serverKeys: KeyManager;

const seconds = () => Math.floor(time.now() / 1000);
const at = (htm: string, route: string, proof: string | undefined): ProofPresentation => ({ proof, htm, htu: [`${ISSUER}${route}`] });
const me = async (iat: number, jti?: string): Promise<Credentials> => ({
  scheme: 'DPoP',
  token: sealed,
  ...at('GET', '/api/me', await makeProof(key, { htm: 'GET', htu: `${ISSUER}/api/me`, token: sealed, iat, jti })),
});
/** The reason the service refused, or `accepted`. */
const outcome = (credentials: Credentials) =>
  service.authenticate(credentials).then(
    () => 'accepted',
    (error: Error) => `${error.name}: ${error.message}`,
  );

beforeAll(async () => {
  const keys = (serverKeys = await KeyManager.create(config));
  const users = new MemoryUserDirectory();
  await users.add('alice', await hashPassword(PASSWORD), time.now());
  service = new SessionService(config, keys, new MemorySessionStore(), users, { clock: time.clock });
  key = await makeProofKey();
  const client = await makeClientKey();
  const loginProof = await makeProof(key, { htm: 'POST', htu: `${ISSUER}/auth/login`, iat: seconds() });
  const grant = await service.login('alice', PASSWORD, await parseClientKey(client.publicJwk), null, at('POST', '/auth/login', loginProof));
  expect(grant.body.token_type).toBe('DPoP');
  sealed = await sealToServer(await openAccessToken(grant.body.access_token, client), keys.jwks());
});
afterAll(() => temp.remove());

describe('DPoP proofs on the server clock', () => {
  it('refuses a proof made 61 s before the server clock, and accepts one made now', async () => {
    const made = seconds();
    expect(await outcome(await me(made))).toBe('accepted');
    time.advance(61_000);
    expect(await outcome(await me(made))).toBe('DpopProofRejectedError: iat outside the window');
    expect(await outcome(await me(seconds()))).toBe('accepted');
  });

  it('refuses a proof dated more than 60 s ahead of the server clock', async () => {
    expect(await outcome(await me(seconds() + 61))).toBe('DpopProofRejectedError: iat outside the window');
    expect(await outcome(await me(seconds() + 60))).toBe('accepted');
  });

  it('remembers a jti until past its iat window plus the margin, then forgets it', async () => {
    const jti = 'remembered-jti';
    expect(await outcome(await me(seconds(), jti))).toBe('accepted');
    time.advance(DPOP_POLICY.iatWindowSeconds * 1000 + 1000);
    expect(await outcome(await me(seconds(), jti))).toBe('DpopProofRejectedError: jti replayed');
    time.advance(DPOP_POLICY.replayMarginSeconds * 1000);
    expect(await outcome(await me(seconds(), jti))).toBe('accepted');
  });

  it('refuses the bound token as Bearer, whatever the clock', async () => {
    const bearer: Credentials = { scheme: 'Bearer', token: sealed, proof: undefined, htm: 'GET', htu: [] };
    expect(await outcome(bearer)).toBe('TokenRejectedError: DPoP-bound token sent as Bearer');
  });
});

describe('DPoP in the rest of the life cycle', () => {
  let users: MemoryUserDirectory;
  let keys: KeyManager;
  beforeAll(async () => {
    keys = await KeyManager.create(config);
    users = new MemoryUserDirectory();
    await users.add('bob', await hashPassword(PASSWORD), time.now());
  });
  const serviceWith = (dpopRequired: boolean) => new SessionService({ ...config, dpopRequired }, keys, new MemorySessionStore(), users, { clock: time.clock });
  const clientKey = async () => parseClientKey((await makeClientKey()).publicJwk);
  const codeOf = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: Error) => `${error.name}: ${error.message}`);
  const proofAt = async (htm: string, route: string, by: ProofKey = key) => at(htm, route, await makeProof(by, { htm, htu: `${ISSUER}${route}`, iat: seconds() }));

  it('refuses a login request without a proof under DPOP_REQUIRED, and takes one with a proof', async () => {
    const required = serviceWith(true);
    expect(await codeOf(required.login('bob', PASSWORD, await clientKey(), null, at('POST', '/auth/login', undefined)))).toBe('DpopProofRejectedError: proof required (DPOP_REQUIRED)');
    expect((await required.login('bob', PASSWORD, await clientKey(), null, await proofAt('POST', '/auth/login'))).body.token_type).toBe('DPoP');
    // Without DPOP_REQUIRED the same request without a proof opens an unbound session.
    expect((await serviceWith(false).login('bob', PASSWORD, await clientKey(), null, at('POST', '/auth/login', undefined))).body.token_type).toBe('Bearer');
  });

  it('refreshes a bound session only with a proof by its key', async () => {
    const bound = serviceWith(false);
    const grant = await bound.login('bob', PASSWORD, await clientKey(), null, await proofAt('POST', '/auth/login'));
    expect(await codeOf(bound.refresh(grant.refreshToken))).toBe('DpopProofRejectedError: proof required for a bound session');
    const other = await makeProofKey();
    expect(await codeOf(bound.refresh(grant.refreshToken, await proofAt('POST', '/auth/refresh', other)))).toBe('DpopProofRejectedError: proof key is not the key the token is bound to');
    expect((await bound.refresh(grant.refreshToken, await proofAt('POST', '/auth/refresh'))).body.token_type).toBe('DPoP');
  });

  it('checks and spends a proof sent to refresh an unbound session, which stays unbound', async () => {
    const unbound = serviceWith(false);
    const grant = await unbound.login('bob', PASSWORD, await clientKey(), null);
    const proof = await proofAt('POST', '/auth/refresh');
    const next = await unbound.refresh(grant.refreshToken, proof);
    expect(next.body.token_type).toBe('Bearer');
    expect(await codeOf(unbound.refresh(next.refreshToken, proof))).toBe('DpopProofRejectedError: jti replayed');
    const forGet = await makeProof(key, { htm: 'GET', htu: `${ISSUER}/auth/refresh`, iat: seconds() });
    expect(await codeOf(unbound.refresh(next.refreshToken, at('POST', '/auth/refresh', forGet)))).toBe('DpopProofRejectedError: htm does not match');
  });

  it('refuses an unbound token sent as DPoP, and a bound token with a proof by another key', async () => {
    const client = await makeClientKey();
    const grant = await service.login('alice', PASSWORD, await parseClientKey(client.publicJwk), null);
    const unboundSealed = await sealToServer(await openAccessToken(grant.body.access_token, client), serverKeys.jwks());
    const proof = await makeProof(key, { htm: 'GET', htu: `${ISSUER}/api/me`, token: unboundSealed, iat: seconds() });
    expect(await outcome({ scheme: 'DPoP', token: unboundSealed, ...at('GET', '/api/me', proof) })).toBe('TokenRejectedError: unbound token sent as DPoP');
    const other = await makeProofKey();
    const foreign = await makeProof(other, { htm: 'GET', htu: `${ISSUER}/api/me`, token: sealed, iat: seconds() });
    expect(await outcome({ scheme: 'DPoP', token: sealed, ...at('GET', '/api/me', foreign) })).toBe('DpopProofRejectedError: proof key is not the key the token is bound to');
  });
});
