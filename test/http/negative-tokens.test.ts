import { createHmac, createPublicKey, randomBytes, randomUUID, type JsonWebKey } from 'node:crypto';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { calculateJwkThumbprint, CompactEncrypt, compactDecrypt, exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  accessClaims,
  base64url,
  handmadeEcdhEsJwe,
  handmadeJws,
  opaqueJwe,
  sealTo,
  signInner,
  type ClaimsTarget,
} from '../helpers/forge.js';
import { login, type LoggedIn } from '../helpers/flow.js';
import { startTestServer, type TestServer } from '../helpers/runtime.js';
import { openTables, type TableView } from '../helpers/sqlite-tables.js';

const PASSWORD = 'correct horse battery';
/** Every refused token gets exactly this body, whatever the reason. */
const INVALID_TOKEN = { error: 'invalid_token', error_description: 'The access token is invalid' };

let server: TestServer;
let tables: TableView;
let alice: LoggedIn;
let alicesSession: ClaimsTarget;
let malloryId: string;

beforeAll(async () => {
  server = await startTestServer();
  const aliceId = await server.addUser('alice', PASSWORD);
  malloryId = await server.addUser('mallory', PASSWORD);
  alice = await login(server.app, 'alice', PASSWORD);
  alicesSession = {
    issuer: server.config.issuer,
    audience: server.config.audience,
    subject: aliceId,
    sessionId: alice.body.session_id as string,
  };
  tables = openTables(server.config.sqlitePath);
});
afterAll(async () => {
  tables.close();
  await server.close();
});

const keys = () => server.runtime.keys;
const bearer = (token: string) => `Bearer ${token}`;
const now = () => Math.floor(Date.now() / 1000);
/** An inner token signed with the server's real signing key, for Alice's live session. */
const forged = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  signInner(accessClaims(alicesSession, claims), keys().signing, header);
/** Sealed to the server's real encryption key, as a client seals its bearer. */
const sealed = (plaintext: string, header: Record<string, unknown> = {}) => sealTo(plaintext, keys().encryption, header);
const serverEncryptionJwk = (): JWK => alice.jwks.keys.find((k) => k.use === 'enc') as JWK;
const serverSigningJwk = (): JWK => alice.jwks.keys.find((k) => k.use === 'sig') as JWK;

async function attackerSigningKey(kid?: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, alg: 'ES256', kid: kid ?? (await calculateJwkThumbprint(await exportJWK(publicKey))) };
}

async function attackerEncryptionKey(kid?: string) {
  const { publicKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519' });
  return { publicKey, alg: 'ECDH-ES', kid: kid ?? (await calculateJwkThumbprint(await exportJWK(publicKey))) };
}

/**
 * Presents a token to three protected routes (one of which would revoke every session if it
 * accepted it) and checks the uniform refusal and that not one stored row changed.
 */
async function expectRefused(authorization: string): Promise<void> {
  const before = tables.snapshot();
  for (const call of [
    () => request(server.app).get('/api/me'),
    () => request(server.app).get('/auth/verify'),
    () => request(server.app).post('/auth/logout-all-devices'),
  ]) {
    const res = await call().set('Authorization', authorization);
    expect({ status: res.status, body: res.body as unknown }).toEqual({ status: 401, body: INVALID_TOKEN });
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  }
  expect(tables.snapshot()).toEqual(before);
}

describe('the forging helpers', () => {
  it('make tokens the server accepts when nothing is wrong with them', async () => {
    const jws = await forged();
    const withJose = await request(server.app).get('/api/me').set('Authorization', bearer(await sealed(jws))).expect(200);
    expect(withJose.body).toEqual({ sub: alicesSession.subject, username: 'alice', session_id: alicesSession.sessionId });
    const byHand = handmadeEcdhEsJwe(jws, serverEncryptionJwk());
    await request(server.app).get('/api/me').set('Authorization', bearer(byHand)).expect(200);
  });

  it('make a well-formed zip:DEF JWE that plain jose would decrypt and inflate', async () => {
    const jws = await forged();
    const compressed = handmadeEcdhEsJwe(jws, serverEncryptionJwk(), { deflate: true });
    const opened = await compactDecrypt(compressed, keys().encryption.privateKey);
    expect(opened.protectedHeader.zip).toBe('DEF');
    expect(new TextDecoder().decode(opened.plaintext)).toBe(jws);
  });
});

interface RefusalCase {
  readonly name: string;
  /** The whole `Authorization` header value. */
  readonly authorization: () => Promise<string>;
}

const signatureCases: RefusalCase[] = [
  {
    name: 'an unsigned JWS (alg none, empty signature) sealed to the server',
    authorization: async () => bearer(await sealed(handmadeJws({ alg: 'none', typ: 'at+jwt', kid: keys().signing.kid }, accessClaims(alicesSession), () => ''))),
  },
  {
    name: 'an alg none JWS with a junk signature segment sealed to the server',
    authorization: async () =>
      bearer(await sealed(handmadeJws({ alg: 'none', typ: 'at+jwt', kid: keys().signing.kid }, accessClaims(alicesSession), () => randomBytes(64)))),
  },
  {
    name: "an HS256 JWS keyed with the server's public signing key PEM (algorithm confusion)",
    authorization: async () => {
      const pem = createPublicKey({ key: serverSigningJwk() as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      const header = { alg: 'HS256', typ: 'at+jwt', kid: keys().signing.kid };
      return bearer(await sealed(handmadeJws(header, accessClaims(alicesSession), (input) => createHmac('sha256', pem).update(input).digest())));
    },
  },
  {
    name: "an HS256 JWS keyed with the server's public signing JWK text (algorithm confusion)",
    authorization: async () => {
      const secret = JSON.stringify(serverSigningJwk());
      const header = { alg: 'HS256', typ: 'at+jwt', kid: keys().signing.kid };
      return bearer(await sealed(handmadeJws(header, accessClaims(alicesSession), (input) => createHmac('sha256', secret).update(input).digest())));
    },
  },
  {
    name: 'a JWS signed by another key under its own, unknown kid',
    authorization: async () => bearer(await sealed(await signInner(accessClaims(alicesSession), await attackerSigningKey()))),
  },
  {
    name: "a JWS signed by an attacker's key that claims the server's kid",
    authorization: async () => bearer(await sealed(await signInner(accessClaims(alicesSession), await attackerSigningKey(keys().signing.kid)))),
  },
  {
    name: 'a JWS without a kid',
    authorization: async () => bearer(await sealed(await forged({}, { kid: undefined }))),
  },
];

const envelopeCases: RefusalCase[] = [
  { name: 'a JWE whose cty is "json"', authorization: async () => bearer(await sealed(await forged(), { cty: 'json' })) },
  { name: 'a JWE without cty', authorization: async () => bearer(await sealed(await forged(), { cty: undefined })) },
  { name: 'a bare JWS, not encrypted', authorization: async () => bearer(await forged()) },
  { name: 'a JWE of bare JSON claims, not a JWS', authorization: async () => bearer(await sealed(JSON.stringify(accessClaims(alicesSession)))) },
  { name: 'a valid bearer sealed inside another JWE', authorization: async () => bearer(await sealed(await sealed(await forged()))) },
  {
    name: 'a handcrafted, correctly encrypted zip:DEF JWE of a valid token',
    authorization: async () => bearer(handmadeEcdhEsJwe(await forged(), serverEncryptionJwk(), { deflate: true })),
  },
  {
    name: 'a zip:DEF header spliced into a valid JWE (refused on the header, before the tag check)',
    authorization: async () => {
      const [header, ...rest] = (await sealed(await forged())).split('.');
      const edited = { ...(JSON.parse(Buffer.from(header as string, 'base64url').toString()) as object), zip: 'DEF' };
      return bearer([base64url(JSON.stringify(edited)), ...rest].join('.'));
    },
  },
  { name: 'enc A128GCM (not allowlisted)', authorization: async () => bearer(await sealed(await forged(), { enc: 'A128GCM' })) },
  { name: 'enc A256CBC-HS512 (not allowlisted)', authorization: async () => bearer(await sealed(await forged(), { enc: 'A256CBC-HS512' })) },
  { name: 'alg ECDH-ES+A128KW (not allowlisted)', authorization: async () => bearer(await sealed(await forged(), { alg: 'ECDH-ES+A128KW' })) },
  {
    name: 'alg dir with a key of the sender’s choosing',
    authorization: async () =>
      bearer(
        await new CompactEncrypt(new TextEncoder().encode(await forged()))
          .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'JWT', kid: keys().encryption.kid })
          .encrypt(randomBytes(32)),
      ),
  },
  {
    name: 'alg RSA1_5',
    authorization: async () => bearer(opaqueJwe({ alg: 'RSA1_5', enc: 'A256GCM', cty: 'JWT', kid: keys().encryption.kid }, 256)),
  },
  {
    name: 'an unknown encryption kid',
    authorization: async () => bearer(await sealed(await forged(), { kid: 'not-a-server-key' })),
  },
  {
    name: "a JWE sealed to another X25519 key under that key's kid",
    authorization: async () => bearer(await sealTo(await forged(), await attackerEncryptionKey())),
  },
  {
    name: "a JWE sealed to another X25519 key that claims the server's encryption kid",
    authorization: async () => bearer(await sealTo(await forged(), await attackerEncryptionKey(keys().encryption.kid))),
  },
  { name: 'the access token sealed to the client key, sent back as is', authorization: async () => bearer(alice.accessToken) },
];

const claimCases: RefusalCase[] = [
  { name: 'an expired token', authorization: async () => bearer(await sealed(await forged({ iat: now() - 1000, exp: now() - 100 }))) },
  { name: 'a token not valid before a future nbf', authorization: async () => bearer(await sealed(await forged({ nbf: now() + 300 }))) },
  { name: 'a token issued in the future', authorization: async () => bearer(await sealed(await forged({ iat: now() + 300, exp: now() + 1200 }))) },
  {
    name: 'a token older than the access token lifetime, whatever its exp says',
    authorization: async () => bearer(await sealed(await forged({ iat: now() - 3600, exp: now() + 3600 }))),
  },
  { name: 'a wrong aud', authorization: async () => bearer(await sealed(await forged({ aud: 'another-service' }))) },
  { name: 'a wrong iss', authorization: async () => bearer(await sealed(await forged({ iss: 'https://issuer.example' }))) },
  { name: 'typ JWT instead of at+jwt', authorization: async () => bearer(await sealed(await forged({}, { typ: 'JWT' }))) },
  { name: 'no typ', authorization: async () => bearer(await sealed(await forged({}, { typ: undefined }))) },
  ...(['jti', 'sid', 'sub', 'exp', 'iat'] as const).map((claim) => ({
    name: `a token without ${claim}`,
    authorization: async () => bearer(await sealed(await forged({ [claim]: undefined }))),
  })),
  { name: 'a sid that is not a string', authorization: async () => bearer(await sealed(await forged({ sid: 42 }))) },
  { name: 'a sid of no session', authorization: async () => bearer(await sealed(await forged({ sid: randomUUID() }))) },
  {
    name: "another user's sub over Alice's session",
    authorization: async () => bearer(await sealed(await forged({ sub: malloryId }))),
  },
];

const formatCases: RefusalCase[] = [
  {
    name: 'a validly signed and sealed token longer than 8 KiB',
    authorization: async () => {
      const token = await sealed(await forged({ padding: 'x'.repeat(6000) }));
      expect(token.length).toBeGreaterThan(8 * 1024);
      return bearer(token);
    },
  },
  { name: 'the garbage string "abc"', authorization: async () => bearer('abc') },
  { name: 'the garbage string "a.b.c.d.e"', authorization: async () => bearer('a.b.c.d.e') },
  { name: 'five segments of empty JSON objects', authorization: async () => bearer('e30.e30.e30.e30.e30') },
  { name: 'five empty segments', authorization: async () => bearer('....') },
  { name: 'Latin-1 characters', authorization: async () => bearer('tökén.ÿ.é.ü.ß') },
  { name: 'an empty Bearer', authorization: async () => 'Bearer ' },
  { name: 'two bearer tokens', authorization: async () => `Bearer ${alice.bearer} ${alice.bearer}` },
  { name: 'the Basic scheme', authorization: async () => `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}` },
  { name: 'a valid bearer under the Basic scheme', authorization: async () => `Basic ${alice.bearer}` },
];

describe('a bearer token is refused with one uniform 401 and no change when it is', () => {
  it.each(signatureCases)('$name', async ({ authorization }) => expectRefused(await authorization()));
  it.each(envelopeCases)('$name', async ({ authorization }) => expectRefused(await authorization()));
  it.each(claimCases)('$name', async ({ authorization }) => expectRefused(await authorization()));
  it.each(formatCases)('$name', async ({ authorization }) => expectRefused(await authorization()));

  it('a PBES2-HS512+A256KW JWE with p2c 10 000 000, answered before any key derivation', async () => {
    const salt = randomBytes(16);
    const token = opaqueJwe({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', cty: 'JWT', p2s: base64url(salt), p2c: 10_000_000 });
    // Every WebCrypto key derivation in this process (jose's included) is written down.
    const subtle = globalThis.crypto.subtle;
    const deriveBits = subtle.deriveBits;
    const derivations: string[] = [];
    subtle.deriveBits = function (this: SubtleCrypto, algorithm, ...rest) {
      derivations.push(typeof algorithm === 'string' ? algorithm : algorithm.name);
      return deriveBits.call(this, algorithm, ...rest);
    } as typeof deriveBits;
    try {
      // The record sees jose's PBKDF2: sealing a PBES2 JWE of 1000 rounds derives once.
      await new CompactEncrypt(new TextEncoder().encode('x')).setProtectedHeader({ alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 1000 }).encrypt(new TextEncoder().encode('a password'));
      expect(derivations).toEqual(['PBKDF2']);
      derivations.length = 0;
      // Three requests, each of which would cost a full 10M-round derivation if one ran.
      await expectRefused(bearer(token));
      expect(derivations).toEqual([]);
    } finally {
      subtle.deriveBits = deriveBits;
    }
  });

  it('UTF-8 multi-byte text sent as raw header bytes', async () => {
    const listener = server.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    try {
      const { port } = listener.address() as AddressInfo;
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.end(Buffer.from('GET /api/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer 🔑.токен.令牌.x.y\r\nConnection: close\r\n\r\n', 'utf8'));
        });
        let text = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        socket.on('end', () => resolve(text)).on('error', reject);
      });
      const [head, body] = raw.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 401 /);
      expect(head).toMatch(/^www-authenticate: .*error="invalid_token"/im);
      expect(JSON.parse(body as string)).toEqual(INVALID_TOKEN);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});

describe('a genuine token is refused with the same 401 when', () => {
  it('its session was revoked by logout', async () => {
    const second = await login(server.app, 'alice', PASSWORD);
    await request(server.app).get('/api/me').set('Authorization', bearer(second.bearer)).expect(200);
    await request(server.app).post('/auth/logout').set('Authorization', bearer(second.bearer)).expect(204);
    await expectRefused(bearer(second.bearer));
  });

  it('its user was disabled, and accepted again once the user is enabled', async () => {
    await server.addUser('bob', PASSWORD);
    const bob = await login(server.app, 'bob', PASSWORD);
    await server.runtime.users.setDisabled('bob', true);
    await expectRefused(bearer(bob.bearer));
    await server.runtime.users.setDisabled('bob', false);
    await request(server.app).get('/api/me').set('Authorization', bearer(bob.bearer)).expect(200);
  });

  it('its user was deleted', async () => {
    await server.addUser('carol', PASSWORD);
    const carol = await login(server.app, 'carol', PASSWORD);
    await server.runtime.users.remove('carol');
    await expectRefused(bearer(carol.bearer));
  });

  it('and after all of the above, the token Alice logged in with still works', async () => {
    const me = await request(server.app).get('/api/me').set('Authorization', bearer(alice.bearer)).expect(200);
    expect(me.body).toEqual({ sub: alicesSession.subject, username: 'alice', session_id: alicesSession.sessionId });
  });
});
