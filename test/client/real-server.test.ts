import path from 'node:path';
import type { JWK } from 'jose';
import { AuthClient, AuthClientError, MemoryKeyStore, type ClientKeyKind } from '../../src/client/index.js';
import { FileKeyStore } from '../../src/client/node.js';
import { generateKeyFiles, rotateKeyFiles } from '../../src/keys/key-files.js';
import { listen, type Listening } from '../helpers/browser.js';
import { sealToServer } from '../helpers/client.js';
import { fakeClock, runningClock } from '../helpers/clock.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/runtime.js';
import { codeOf } from '../helpers/sdk.js';

const PASSWORD = 'correct horse battery';

describe('AuthClient against a real listening server', () => {
  let server: TestServer;
  let http: Listening;
  /** The server's and every client's clock, moved by hand past an access token's expiry. */
  const time = runningClock();
  const client = (options: ConstructorParameters<typeof AuthClient>[0] = {}) => new AuthClient({ baseUrl: http.url, clock: time.clock, ...options });

  beforeAll(async () => {
    server = await startTestServer({ ACCESS_TOKEN_TTL: '2s' }, undefined, { clock: time.clock });
    await server.addUser('alice', PASSWORD);
    http = await listen(server.app);
  });
  afterAll(async () => {
    await http.close();
    await server.close();
  });

  it.each<[ClientKeyKind, string]>([
    ['x25519', 'ECDH-ES'],
    ['p256', 'ECDH-ES+A256KW'],
    ['rsa', 'RSA-OAEP-256'],
  ])('signs in with a %s key, verifies the token and calls /api/me', async (keyKind, alg) => {
    const alice = client({ keyKind, issuer: server.config.issuer, audience: server.config.audience });
    const token = await alice.login('alice', PASSWORD);
    expect(token.outerHeader).toMatchObject({ alg, enc: 'A256GCM', cty: 'JWT' });
    expect(token.innerHeader).toMatchObject({ typ: 'at+jwt', kid: server.runtime.keys.signing.kid });
    expect(await alice.me()).toEqual({ sub: token.claims.sub, username: 'alice', session_id: token.claims.sid });
    await alice.logout();
  });

  it('refreshes exactly once for concurrent calls made after the access token expired', async () => {
    const alice = client();
    const first = await alice.login('alice', PASSWORD);
    const before = http.hits('POST /auth/refresh');
    expect((await alice.me()).username).toBe('alice');
    expect(http.hits('POST /auth/refresh') - before).toBe(0);
    // ACCESS_TOKEN_TTL is 2 s: at its end, by the clock the client and the server share.
    time.advance(2000);
    const answers = await Promise.all(Array.from({ length: 6 }, () => alice.me()));
    expect(answers.every((me) => me.username === 'alice')).toBe(true);
    expect(http.hits('POST /auth/refresh') - before).toBe(1);
    expect(alice.token?.claims.jti).not.toBe(first.claims.jti);
    expect(alice.token?.claims.sid).toBe(first.claims.sid);
  });

  it('binds the session to a non-extractable DPoP key by default, so the token is refused without the key', async () => {
    const keyStore = new MemoryKeyStore();
    const alice = client({ keyStore });
    const token = await alice.login('alice', PASSWORD);
    const proofKey = (await keyStore.load())?.proofKey;
    expect(proofKey?.privateKey.extractable).toBe(false);
    expect(token.tokenType).toBe('DPoP');
    expect(token.claims.cnf).toEqual({ jkt: proofKey?.jkt });
    expect((await server.runtime.store.getSession(token.claims.sid, time.now()))?.dpopJkt).toBe(proofKey?.jkt);
    expect((await alice.me()).username).toBe('alice');
    const refreshed = await alice.refresh();
    expect(refreshed.claims.cnf).toEqual({ jkt: proofKey?.jkt });
    expect((await alice.me()).username).toBe('alice');

    const jwks = (await (await fetch(`${http.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const sealed = await sealToServer(refreshed.jws, jwks);
    for (const authorization of [`Bearer ${sealed}`, `DPoP ${sealed}`]) {
      const stolen = await fetch(`${http.url}/api/me`, { headers: { Authorization: authorization } });
      expect(stolen.status).toBe(401);
    }
    await alice.logout();
  });

  it('signs in with a plain bearer token when asked not to use DPoP', async () => {
    const alice = client({ dpop: false });
    const token = await alice.login('alice', PASSWORD);
    expect(token.tokenType).toBe('Bearer');
    expect(token.claims.cnf).toBeUndefined();
    expect((await alice.me()).username).toBe('alice');
    await alice.logout();
  });

  it('fails with not_authenticated after logout, while the server refuses the old token too', async () => {
    const alice = client({ dpop: false });
    const { jws } = await alice.login('alice', PASSWORD);
    await alice.logout();
    expect(await codeOf(alice.me())).toBe('not_authenticated');
    const jwks = (await (await fetch(`${http.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const replay = await fetch(`${http.url}/api/me`, { headers: { Authorization: `Bearer ${await sealToServer(jws, jwks)}` } });
    expect(replay.status).toBe(401);
  });

  it('lists sessions, revokes another one, and that client then fails with invalid_grant', async () => {
    const laptop = client();
    const phone = client();
    await laptop.login('alice', PASSWORD);
    const phoneToken = await phone.login('alice', PASSWORD);
    const sessions = await laptop.sessions();
    expect(sessions.find((s) => s.current)?.id).toBe(laptop.token?.claims.sid);
    expect(sessions.some((s) => s.id === phoneToken.claims.sid && !s.current)).toBe(true);
    await laptop.revokeSession(phoneToken.claims.sid);
    expect(await codeOf(phone.me())).toBe('invalid_grant');
    expect(phone.token).toBeNull();
    const unknown = await laptop.revokeSession('no-such-session').catch((error: AuthClientError) => error);
    expect(unknown).toMatchObject({ code: 'not_found', status: 404, serverCode: 'not_found' });
    await laptop.logout();
  });

  it('logs out of every device: the other client fails with invalid_grant', async () => {
    const laptop = client();
    const phone = client();
    await laptop.login('alice', PASSWORD);
    await phone.login('alice', PASSWORD);
    await laptop.logoutAll();
    expect(laptop.token).toBeNull();
    expect(await codeOf(phone.me())).toBe('invalid_grant');
  });

  it('answers invalid_credentials for a wrong password', async () => {
    expect(await codeOf(client().login('alice', 'not the password'))).toBe('invalid_credentials');
  });

  it('keeps the keys in a FileKeyStore: a later run signs in with the same kid and DPoP key', async () => {
    const temp = tempDir('jwe-auth-sdk-');
    try {
      const file = path.join(temp.dir, 'client-key.json');
      const first = await client({ keyStore: new FileKeyStore(file) }).login('alice', PASSWORD);
      const later = client({ keyStore: new FileKeyStore(file) });
      const second = await later.login('alice', PASSWORD);
      expect(second.outerHeader.kid).toBe(first.outerHeader.kid);
      expect(second.claims.cnf).toEqual(first.claims.cnf);
      expect((await later.me()).username).toBe('alice');
    } finally {
      temp.remove();
    }
  });
});

describe('AuthClient on a device whose clock is 5 minutes behind the server', () => {
  const SKEW_MS = 5 * 60_000;
  let server: TestServer;
  let http: Listening;
  /** The server's clock runs 5 minutes ahead, and so does the Date of its answers. */
  const skewedFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(res.headers);
    headers.set('Date', new Date(Date.now() + SKEW_MS).toUTCString());
    return new Response(res.status === 204 ? null : await res.arrayBuffer(), { status: res.status, headers });
  };

  beforeAll(async () => {
    server = await startTestServer({}, undefined, { clock: fakeClock(Date.now() + SKEW_MS).clock });
    await server.addUser('alice', PASSWORD);
    http = await listen(server.app);
  });
  afterAll(async () => {
    await http.close();
    await server.close();
  });

  it("dates its DPoP proofs by the server's clock, read from the Date of its answers", async () => {
    const alice = new AuthClient({ baseUrl: http.url, fetch: skewedFetch });
    expect((await alice.login('alice', PASSWORD)).tokenType).toBe('DPoP');
    expect((await alice.me()).username).toBe('alice');
    await alice.refresh();
    expect((await alice.me()).username).toBe('alice');
  });

  it('cannot sign in with DPoP when the Date of the answers does not tell the skew', async () => {
    const alice = new AuthClient({ baseUrl: http.url });
    expect(await codeOf(alice.login('alice', PASSWORD))).toBe('invalid_dpop_proof');
  });
});

describe('AuthClient across a key rotation (keys preserved on disk)', () => {
  const PASSPHRASE = 'a long enough passphrase';
  let server: TestServer;
  let http: Listening;
  let temp: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    temp = tempDir('jwe-auth-rotation-');
    const keysDir = path.join(temp.dir, 'keys');
    await generateKeyFiles({ keysDir, privateKeyPassphrase: PASSPHRASE, signingAlg: 'ES256', encryptionKeyType: 'x25519' }, false);
    server = await startTestServer({ PRESERVE_SESSIONS_ON_REBOOT: '1', PRIVATE_KEY_PASSPHRASE: PASSPHRASE }, temp.dir);
    await server.addUser('alice', PASSWORD);
    http = await listen(server.app);
  });
  afterEach(async () => {
    await http.close();
    await server.close();
    temp.remove();
  });

  /** Rotates the keys, dated `agoMs` in the past (long enough ago, the old keys are no longer accepted). */
  const rotate = async (agoMs = 0) => {
    await rotateKeyFiles(server.config, Date.now() - agoMs);
    expect(await server.runtime.keys.reload()).toBe(true);
  };

  it('verifies a token signed with the new kid by refetching the JWKS once', async () => {
    const alice = new AuthClient({ baseUrl: http.url });
    const before = await alice.login('alice', PASSWORD);
    expect(http.hits('GET /.well-known/jwks.json')).toBe(1);
    await rotate();
    const after = await alice.refresh();
    expect(after.innerHeader.kid).toBe(server.runtime.keys.signing.kid);
    expect(after.innerHeader.kid).not.toBe(before.innerHeader.kid);
    expect(http.hits('GET /.well-known/jwks.json')).toBe(2);
    expect((await alice.me()).username).toBe('alice');
    await alice.refresh();
    expect(http.hits('GET /.well-known/jwks.json')).toBe(2);
  });

  it('recovers from a 401 after a rotation whose old keys are no longer accepted: one refresh, one JWKS refetch, one retry', async () => {
    const alice = new AuthClient({ baseUrl: http.url });
    await alice.login('alice', PASSWORD);
    await alice.me();
    await rotate(60 * 60_000);
    expect((await alice.me()).username).toBe('alice');
    expect(http.hits('POST /auth/refresh')).toBe(1);
    expect(http.hits('GET /api/me')).toBe(3);
    expect(http.hits('GET /.well-known/jwks.json')).toBe(2);
  });
});
