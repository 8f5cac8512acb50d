import { compactDecrypt, jwtVerify } from 'jose';
import { loadConfig } from '../../src/config/index.js';
import { SIGNING_SPECS } from '../../src/keys/algorithms.js';
import { KeyManager } from '../../src/keys/manager.js';
import { sealTo } from '../../src/tokens/issue.js';
import { issueWithJose } from '../helpers/issue-with-jose.js';
import { issueAccessToken, parseClientKey } from '../../src/tokens/index.js';
import { CLIENT_KEY_KINDS, makeClientKey, openAccessToken, verifyInner, type ClientKeyKind, type ClientKeyPair } from '../helpers/client.js';
import { serverKeyFor } from '../helpers/seal.js';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
let keys: KeyManager;
let client: ClientKeyPair;
beforeAll(async () => {
  keys = await KeyManager.create(loadConfig({}));
  client = await makeClientKey();
});

/** Issues a token at NOW and answers what the client reads from it. */
async function issued(ttlMs: number, dpopJkt?: string | null) {
  const result = await issueAccessToken({
    issuer: 'https://auth.example',
    audience: 'jwe-auth-server',
    subject: 'user-1',
    sessionId: 'session-1',
    ttlMs,
    signingKey: keys.signing,
    clientKey: await parseClientKey(client.publicJwk),
    dpopJkt,
    now: NOW,
  });
  const jws = await openAccessToken(result.token, client);
  const claims = JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
  return { result, claims, jws };
}

describe('issueAccessToken', () => {
  it('issues a token of the lifetime asked, in whole seconds, dated by the time given', async () => {
    const { result, claims, jws } = await issued(900_000);
    expect(result.expiresIn).toBe(900);
    expect(claims).toMatchObject({ iss: 'https://auth.example', aud: 'jwe-auth-server', sub: 'user-1', sid: 'session-1', jti: result.jti, iat: NOW / 1000, exp: NOW / 1000 + 900 });
    expect(claims).not.toHaveProperty('cnf');
    await expect(verifyInner(jws, keys.jwks())).resolves.toMatchObject({ sid: 'session-1' });
  });

  it('never issues a token of less than one second', async () => {
    const { result, claims } = await issued(400);
    expect({ expiresIn: result.expiresIn, lifetime: (claims.exp as number) - (claims.iat as number) }).toEqual({ expiresIn: 1, lifetime: 1 });
  });

  it('binds a token to a DPoP key with cnf.jkt, and not when there is none', async () => {
    expect((await issued(60_000, 'A'.repeat(43))).claims).toMatchObject({ sid: 'session-1', cnf: { jkt: 'A'.repeat(43) } });
    expect((await issued(60_000, null)).claims).not.toHaveProperty('cnf');
  });
});

/**
 * The node:crypto construction against jose's (`issueWithJose`, the one it replaced): for every server
 * signing key kind and every client key kind, with and without a DPoP binding, jose opens the native
 * token with the algorithm allowlists the client SDK uses, and both tokens carry the same headers and
 * claims, member for member and in the same order (but for the random parts: `jti`, `epk`, IV, keys).
 */
describe('issueAccessToken (node:crypto) against issueWithJose', () => {
    const clients = new Map<ClientKeyKind, Promise<ClientKeyPair>>();
  const clientOf = (kind: ClientKeyKind) => {
    if (!clients.has(kind)) clients.set(kind, makeClientKey(kind));
    return clients.get(kind) as Promise<ClientKeyPair>;
  };
  const segment = (token: string, index: number) => token.split('.')[index] as string;
  const decoded = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
  /** A JSON segment with the random members blanked, as text, so member order counts. */
  const shape = (text: string) => JSON.stringify(decoded(text), (name, value: unknown) => (['jti', 'x', 'y'].includes(name) ? '…' : value));

  const cases = Object.values(SIGNING_SPECS).flatMap((signing) =>
    (Object.keys(CLIENT_KEY_KINDS) as ClientKeyKind[]).flatMap((kind) => [null, 'B'.repeat(43)].map((jkt) => [signing.alg, kind, jkt ? 'bound' : 'unbound', signing, jkt] as const)),
  );

  it.each(cases)('%s, to a %s client key, %s: jose opens it, and it is shaped as jose builds it', async (alg, kind, _binding, signing, jkt) => {
    const client = await clientOf(kind);
    const input = {
      issuer: 'https://auth.example', audience: 'jwe-auth-server', subject: 'user-1', sessionId: 'session-1', ttlMs: 900_000,
      signingKey: await serverKeyFor(signing), clientKey: await parseClientKey(client.publicJwk), dpopJkt: jkt, now: NOW,
    };
    const [native, reference] = [await issueAccessToken(input), await issueWithJose(input)];

    const opened = await compactDecrypt(native.token, client.privateKey, {
      keyManagementAlgorithms: [CLIENT_KEY_KINDS[kind].alg],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    expect(opened.protectedHeader).toMatchObject({ alg: CLIENT_KEY_KINDS[kind].alg, enc: 'A256GCM', cty: 'JWT', kid: client.kid });
    const jws = new TextDecoder().decode(opened.plaintext);
    const { payload, protectedHeader } = await jwtVerify(jws, (await serverKeyFor(signing)).publicKey, { algorithms: [alg], typ: 'at+jwt', issuer: 'https://auth.example', audience: 'jwe-auth-server', currentDate: new Date(NOW) });
    expect(protectedHeader).toEqual({ alg, kid: (await serverKeyFor(signing)).kid, typ: 'at+jwt' });
    expect(payload).toEqual({ sid: 'session-1', ...(jkt && { cnf: { jkt } }), iss: 'https://auth.example', sub: 'user-1', aud: 'jwe-auth-server', iat: NOW / 1000, exp: NOW / 1000 + 900, jti: native.jti });

    const referenceJws = await openAccessToken(reference.token, client);
    expect(shape(segment(native.token, 0))).toBe(shape(segment(reference.token, 0)));
    expect(segment(jws, 0)).toBe(segment(referenceJws, 0));
    expect(shape(segment(jws, 1))).toBe(shape(segment(referenceJws, 1)));
    // The same lengths: no content key where ECDH-ES agrees on it, a 40-byte wrapped key, a 2048-bit RSA one; IV and tag.
    for (const index of [1, 2, 4]) expect(Buffer.from(segment(native.token, index), 'base64url').length).toBe(Buffer.from(segment(reference.token, index), 'base64url').length);
    expect(Buffer.from(segment(native.token, 2), 'base64url')).toHaveLength(12);
    expect(Buffer.from(segment(native.token, 4), 'base64url')).toHaveLength(16);
  });

  it.each(Object.keys(CLIENT_KEY_KINDS) as ClientKeyKind[])('seals afresh every time, and binds the protected header (a %s client key)', async (kind) => {
    const client = await clientOf(kind);
    const clientKey = await parseClientKey(client.publicJwk);
    const [first, second] = [sealTo(clientKey, 'a.b.c'), sealTo(clientKey, 'a.b.c')];
    for (const index of [2, 3, 4]) expect(segment(first, index)).not.toBe(segment(second, index));
    if (kind !== 'x25519') expect(segment(first, 1)).not.toBe(segment(second, 1));
    else expect(decoded(segment(first, 0)).epk).not.toEqual(decoded(segment(second, 0)).epk);
    expect(await openAccessToken(first, client)).toBe('a.b.c');
    // The header is the GCM additional data: a changed member (here kid) is not opened.
    const header = decoded(segment(first, 0));
    const changed = [Buffer.from(JSON.stringify({ ...header, kid: 'another' })).toString('base64url'), ...first.split('.').slice(1)].join('.');
    await expect(openAccessToken(changed, { ...client, kid: 'another' })).rejects.toThrow();
  });
});
